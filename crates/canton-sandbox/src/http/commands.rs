//! Command submission by local parties: `POST /v2/commands/submit-and-wait` (`ledger-api.md`
//! §4.2). The command is interpreted by [`crate::submit`]; failures are the node's errors
//! (`CONTRACT_NOT_FOUND` for a consumed input, `DAML_INTERPRETATION_ERROR` for an expired
//! `executeBefore`, `PARTY_NOT_KNOWN_ON_LEDGER` for an unknown `actAs` party,
//! `NO_SYNCHRONIZER_ON_WHICH_ALL_SUBMITTERS_CAN_SUBMIT` for an external one).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use canton_ledger::commands::{JsCommands, SubmitAndWaitResponse};

use crate::completions::dedup_window;
use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::http::interactive::{CompletionMeta, record_completion};

pub async fn submit_and_wait(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<SubmitAndWaitResponse>, ApiError> {
    let commands: JsCommands = decode(&body)?;
    // Interpretation errors are answered before anything is sequenced: no completion.
    let done = s.change(|w| {
        // External parties are hosted with confirmation rights only: they prepare, sign and
        // execute every submission.
        if let Some(party) = commands
            .act_as
            .iter()
            .find(|p| w.external.key_of(p).is_some())
        {
            return Err(ApiError::cannot_submit_as(party));
        }
        let now = w
            .ledger
            .record_time_of(crate::submit::routed_synchronizer(w, &commands));
        let window = dedup_window(commands.deduplication_period.as_ref(), now)?;
        if let Some(done) = w.completions.duplicate_of(
            &commands.user_id,
            &commands.act_as,
            &commands.command_id,
            window,
        ) {
            return Err(ApiError::duplicate_command(done.offset));
        }
        let done = crate::submit::submit(w, &commands)?;
        let meta = CompletionMeta {
            command_id: commands.command_id.clone(),
            user_id: commands.user_id.clone(),
            act_as: commands.act_as.clone(),
            submission_id: commands.submission_id.clone(),
            synchronizer_id: commands.synchronizer_id.clone(),
        };
        record_completion(w, &meta, &Ok(done.clone()));
        Ok::<_, ApiError>(done)
    })?;
    Ok(Json(SubmitAndWaitResponse {
        update_id: done.update_id,
        completion_offset: done.offset,
    }))
}
