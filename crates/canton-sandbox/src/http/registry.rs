//! The Registry API of each token admin (`token-standard.md` §5), at the `registryUrl`s the
//! info file advertises (`/registry/amulet`, `/registry/token`, each followed by the standard
//! `/registry/...` paths). Not a Canton server: errors are `{"error": "…"}` with 400/404, and
//! bodies that do not decode are 400 too.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, body::Bytes};
use canton_ledger::registry::{
    ChoiceContext, ErrorResponse, GetChoiceContextRequest, GetFactoryRequest,
    GetRegistryInfoResponse, Instrument, ListInstrumentsResponse, TransferFactoryWithChoiceContext,
    TransferInstructionChoice,
};

use crate::http::AppState;
use crate::registry::{Registry, RegistryError};
use crate::world::World;

pub fn router(registry: Registry) -> Router<AppState> {
    let at = move |s: AppState| (s, registry);
    Router::new()
        .route(
            "/registry/transfer-instruction/v1/transfer-factory",
            post(move |State(s): State<AppState>, body: Bytes| {
                transfer_factory(at(s), body, Registry::transfer_factory)
            }),
        )
        .route(
            "/registry/transfer-instruction/v2/transfer-factory",
            post(move |State(s): State<AppState>, body: Bytes| {
                transfer_factory(at(s), body, Registry::transfer_factory_v2)
            }),
        )
        .route(
            "/registry/transfer-instruction/v1/{id}/choice-contexts/{choice}",
            post(
                move |State(s): State<AppState>,
                      Path((id, choice)): Path<(String, String)>,
                      body: Bytes| { choice_context(at(s), id, choice, body) },
            ),
        )
        .route(
            "/registry/transfer-instruction/v2/{id}/choice-contexts/{choice}",
            post(
                move |State(s): State<AppState>,
                      Path((id, choice)): Path<(String, String)>,
                      body: Bytes| { choice_context_v2(at(s), id, choice, body) },
            ),
        )
        .route(
            "/registry/metadata/v1/info",
            get(move |State(s): State<AppState>| info(at(s))),
        )
        .route(
            "/registry/metadata/v1/instruments",
            get(move |State(s): State<AppState>| instruments(at(s))),
        )
        .route(
            "/registry/metadata/v1/instruments/{id}",
            get(move |State(s): State<AppState>, Path(id): Path<String>| instrument(at(s), id)),
        )
}

/// `{"error": …}` with the registry's status.
pub struct RegistryAnswer(RegistryError);

impl From<RegistryError> for RegistryAnswer {
    fn from(e: RegistryError) -> Self {
        RegistryAnswer(e)
    }
}

impl IntoResponse for RegistryAnswer {
    fn into_response(self) -> Response {
        let status = match self.0 {
            RegistryError::BadRequest(_) => StatusCode::BAD_REQUEST,
            RegistryError::NotFound(_) => StatusCode::NOT_FOUND,
        };
        (
            status,
            Json(ErrorResponse {
                error: self.0.to_string(),
            }),
        )
            .into_response()
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, RegistryAnswer> {
    serde_json::from_slice(body)
        .map_err(|e| RegistryError::BadRequest(format!("Invalid request body: {e}")).into())
}

/// A registry's factory lookup for a transfer: V1's or V2's.
type FactoryLookup = fn(
    Registry,
    &World,
    &serde_json::Value,
    bool,
) -> Result<TransferFactoryWithChoiceContext, RegistryError>;

async fn transfer_factory(
    (s, registry): (AppState, Registry),
    body: Bytes,
    lookup: FactoryLookup,
) -> Result<Json<TransferFactoryWithChoiceContext>, RegistryAnswer> {
    let request: GetFactoryRequest = decode(&body)?;
    let arguments: serde_json::Value = serde_json::from_str(request.choice_arguments.get())
        .map_err(|e| RegistryError::BadRequest(e.to_string()))?;
    Ok(Json(lookup(
        registry,
        &s.read(),
        &arguments,
        request.exclude_debug_fields,
    )?))
}

fn choice_of(choice: &str) -> Result<TransferInstructionChoice, RegistryAnswer> {
    match choice {
        "accept" => Ok(TransferInstructionChoice::Accept),
        "reject" => Ok(TransferInstructionChoice::Reject),
        "withdraw" => Ok(TransferInstructionChoice::Withdraw),
        other => Err(RegistryError::NotFound(format!("no choice context for '{other}'")).into()),
    }
}

fn context_request(body: &[u8]) -> Result<GetChoiceContextRequest, RegistryAnswer> {
    if body.is_empty() {
        Ok(GetChoiceContextRequest::default())
    } else {
        decode(body)
    }
}

async fn choice_context(
    (s, registry): (AppState, Registry),
    id: String,
    choice: String,
    body: Bytes,
) -> Result<Json<ChoiceContext>, RegistryAnswer> {
    let choice = choice_of(&choice)?;
    let request = context_request(&body)?;
    Ok(Json(registry.instruction_choice_context(
        &s.read(),
        &id,
        choice,
        request.exclude_debug_fields.unwrap_or(false),
    )?))
}

async fn choice_context_v2(
    (s, registry): (AppState, Registry),
    id: String,
    choice: String,
    body: Bytes,
) -> Result<Json<ChoiceContext>, RegistryAnswer> {
    let choice = choice_of(&choice)?;
    let request = context_request(&body)?;
    Ok(Json(registry.instruction_choice_context_v2(
        &s.read(),
        &id,
        choice,
        request.exclude_debug_fields.unwrap_or(false),
    )?))
}

async fn info((s, registry): (AppState, Registry)) -> Json<GetRegistryInfoResponse> {
    Json(registry.info(&s.read()))
}

async fn instruments((s, registry): (AppState, Registry)) -> Json<ListInstrumentsResponse> {
    Json(ListInstrumentsResponse {
        instruments: registry.instruments(&s.read()),
        next_page_token: None,
    })
}

async fn instrument(
    (s, registry): (AppState, Registry),
    id: String,
) -> Result<Json<Instrument>, RegistryAnswer> {
    Ok(Json(registry.instrument(&s.read(), &id)?))
}
