//! Command submission by local parties: `POST /v2/commands/submit-and-wait` (`ledger-api.md`
//! §4.2). The command is interpreted by [`crate::submit`]; failures are the node's errors
//! (`CONTRACT_NOT_FOUND` for a consumed input, `DAML_INTERPRETATION_ERROR` for an expired
//! `executeBefore`, `PARTY_NOT_KNOWN_ON_LEDGER` for an unknown `actAs` party).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use canton_ledger::commands::{JsCommands, SubmitAndWaitResponse};

use crate::http::AppState;
use crate::http::error::{ApiError, decode};

pub async fn submit_and_wait(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<SubmitAndWaitResponse>, ApiError> {
    let commands: JsCommands = decode(&body)?;
    let done = s.change(|w| crate::submit::submit(w, &commands))?;
    Ok(Json(SubmitAndWaitResponse {
        update_id: done.update_id,
        completion_offset: done.offset,
    }))
}
