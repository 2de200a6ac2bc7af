//! `POST /v2/events/events-by-contract-id`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use canton_ledger::contract_events::{
    GetEventsByContractIdRequest, JsGetEventsByContractIdResponse,
};

use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::model::projection;

pub async fn events_by_contract_id(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<JsGetEventsByContractIdResponse>, ApiError> {
    let request: GetEventsByContractIdRequest = decode(&body)?;
    if request.contract_id.is_empty() {
        return Err(ApiError::invalid_argument("contract_id is required"));
    }
    let format = request
        .event_format
        .ok_or_else(|| ApiError::invalid_argument("event_format is required"))?;
    let world = s.read();
    let hosted = world.hosted_parties();
    world
        .ledger
        .stored_contract(&request.contract_id)
        .and_then(|c| {
            projection::events_by_contract_id(
                &c,
                &format,
                &world.ledger.synchronizer(c.synchronizer).id,
                &hosted,
                &world.ledger.symbols(),
            )
        })
        .map(Json)
        .ok_or_else(|| ApiError::contract_events_not_found(&request.contract_id))
}
