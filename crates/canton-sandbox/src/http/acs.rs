//! `POST /v2/state/active-contracts?limit=` (`ledger-api.md` §3): the contracts active at
//! `activeAtOffset` (0 → none; after the ledger end → `OFFSET_AFTER_LEDGER_END`; below the
//! pruning offset → `PARTICIPANT_PRUNED_DATA_ACCESSED`) that the requesting parties are
//! stakeholders of and whose filter matches, as `JsActiveContract` entries. Bounded, so it
//! never waits; more than 200 entries → 413 (page with `limit`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use canton_ledger::state::{GetActiveContractsRequest, JsGetActiveContractsResponse};

use crate::http::error::{ApiError, decode};
use crate::http::updates::ListParams;
use crate::http::{AppState, MAX_LIST_ELEMENTS};
use crate::model::filter::ResolvedFilter;
use crate::model::projection::active_contract;

pub async fn active_contracts(
    State(s): State<AppState>,
    Query(params): Query<ListParams>,
    body: Bytes,
) -> Result<Json<Vec<JsGetActiveContractsResponse>>, ApiError> {
    let request: GetActiveContractsRequest = decode(&body)?;
    let Some(format) = request.event_format else {
        return Err(ApiError::invalid_argument(
            "The submitted command is missing a mandatory field: event_format",
        ));
    };
    let cap = params
        .limit
        .unwrap_or(MAX_LIST_ELEMENTS + 1)
        .min(MAX_LIST_ELEMENTS + 1);
    let world = s.read();
    let ledger = &world.ledger;
    let at = request.active_at_offset;
    if at < 0 {
        return Err(ApiError::invalid_argument(format!(
            "Offset {at} in active_at_offset is a negative integer"
        )));
    }
    if at > ledger.ledger_end() {
        return Err(ApiError::offset_after_ledger_end(
            "ACS",
            at,
            ledger.ledger_end(),
        ));
    }
    if at > 0 && at < ledger.pruned_up_to() {
        return Err(ApiError::pruned_data_accessed(at, ledger.pruned_up_to()));
    }
    let hosted = world.hosted_parties();
    let filter = ResolvedFilter::new(&format, hosted.iter().map(String::as_str));
    let table = ledger.symbols();
    let out: Vec<_> = ledger
        .contracts_active_at(at)
        .into_iter()
        .filter_map(|c| {
            let sync = &ledger.synchronizer(c.synchronizer).id;
            active_contract(c, &filter, sync, &table)
        })
        .take(cap)
        .collect();
    if out.len() > MAX_LIST_ELEMENTS {
        return Err(ApiError::too_many_elements(MAX_LIST_ELEMENTS));
    }
    Ok(Json(out))
}
