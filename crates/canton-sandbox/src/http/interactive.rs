//! Interactive submission for external parties (`ledger-api.md` §4.3): `prepare`, then
//! `execute` (asynchronous: `{}`, the outcome arrives on the completion stream) or
//! `executeAndWait` (`{updateId, completionOffset}`, or the rejection as an error). The pure
//! part is [`crate::interactive`]; this module adds base64 and completions.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use canton_ledger::commands::SubmitAndWaitResponse;
use canton_ledger::interactive::{
    HashingSchemeVersion, JsExecuteSubmissionRequest, JsPrepareSubmissionRequest,
    JsPrepareSubmissionResponse,
};
use canton_ledger::serde_util::Empty;
use exchange_core::Timestamp;

use crate::completions::{CompletionRecord, dedup_window};
use crate::http::AppState;
use crate::http::error::{ApiError, decode};
use crate::interactive::{Authorized, authorize, commit, prepare};
use crate::pending::{Accepted, ReleaseReport};
use crate::submit::Submitted;
use crate::world::World;

pub async fn prepare_submission(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<JsPrepareSubmissionResponse>, ApiError> {
    let request: JsPrepareSubmissionRequest = decode(&body)?;
    let tamper = s.decide_tamper();
    // Preparing commits nothing, so no stream needs waking.
    let prepared = prepare(&mut s.read(), &request, tamper)?;
    Ok(Json(JsPrepareSubmissionResponse {
        prepared_transaction: BASE64.encode(&prepared.prepared_transaction),
        prepared_transaction_hash: BASE64.encode(prepared.hash),
        hashing_scheme_version: HashingSchemeVersion::V2,
        hashing_details: prepared.hashing_details,
        cost_estimation: None,
    }))
}

/// `execute`: signature problems are answered at once; anything after sequencing (timeout,
/// contention) only shows on the completion stream. With the `holdExecutions` fault on, an
/// accepted execution waits, unsequenced, until [`release_pending`].
pub async fn execute(State(s): State<AppState>, body: Bytes) -> Result<Json<Empty>, ApiError> {
    let request: JsExecuteSubmissionRequest = decode(&body)?;
    let hold = s.holds_executions();
    s.change(|w| {
        let accepted = accept(w, &request)?;
        if hold {
            not_in_flight(w, &accepted)?;
            not_duplicate(w, &accepted).map_err(|r| r.error)?;
            w.pending.hold(accepted);
            return Ok(());
        }
        sequence(w, &accepted).map(|_| ()).or_else(after_sequencing)
    })?;
    lost_answer(&s)?;
    Ok(Json(Empty {}))
}

/// Never held: its caller waits for the outcome, which a held execution would not have.
pub async fn execute_and_wait(
    State(s): State<AppState>,
    body: Bytes,
) -> Result<Json<SubmitAndWaitResponse>, ApiError> {
    let request: JsExecuteSubmissionRequest = decode(&body)?;
    let done = s
        .change(|w| {
            let accepted = accept(w, &request).map_err(|error| Refused {
                error,
                sequenced: false,
            })?;
            sequence(w, &accepted)
        })
        .map_err(|e| e.error)?;
    lost_answer(&s)?;
    Ok(Json(SubmitAndWaitResponse {
        update_id: done.update_id,
        completion_offset: done.offset,
    }))
}

/// Sequences every held execution, oldest first, as `execute` would have at once: each is
/// checked again now (deduplication, max sequencing time, its inputs), and whatever the outcome
/// it gets a completion, since nobody waits for an answer any more.
pub fn release_pending(w: &mut World) -> ReleaseReport {
    let mut report = ReleaseReport::default();
    for accepted in w.pending.take_all() {
        report.released += 1;
        match sequence(w, &accepted) {
            Ok(_) => report.committed += 1,
            Err(Refused {
                sequenced: true, ..
            }) => {}
            // Refused before it reached the synchronizer (a duplicate by now): the node still
            // owes its submitter a completion.
            Err(Refused { error, .. }) => record_completion(w, &meta_of(&accepted), &Err(error)),
        }
    }
    report
}

/// The injected fault of an answer lost after the execution was accepted.
fn lost_answer(s: &AppState) -> Result<(), ApiError> {
    if s.lose_execute_answer() {
        return Err(crate::http::faults::injected(
            crate::faults::InjectedError::ServiceNotRunning,
        ));
    }
    Ok(())
}

/// A refused execution, and whether it got as far as the synchronizer (then it has a
/// completion).
struct Refused {
    error: ApiError,
    sequenced: bool,
}

fn after_sequencing(refused: Refused) -> Result<(), ApiError> {
    if refused.sequenced {
        Ok(())
    } else {
        Err(refused.error)
    }
}

/// The synchronous checks of an execution (decoding, hash, signatures, a valid deduplication
/// period): a failure here is answered at once and never has a completion.
fn accept(w: &World, request: &JsExecuteSubmissionRequest) -> Result<Accepted, ApiError> {
    let authorized = authorize(w, request)?;
    dedup_window(Some(&request.deduplication_period), now_of(w, &authorized))?;
    Ok(Accepted {
        authorized,
        user_id: request.user_id.clone(),
        submission_id: request.submission_id.clone(),
        deduplication_period: request.deduplication_period,
    })
}

/// The clock of the synchronizer prepare chose: the one the acceptance is timed by.
fn now_of(w: &World, authorized: &Authorized) -> Timestamp {
    let synchronizer = w
        .ledger
        .synchronizer_index(authorized.synchronizer_id())
        .unwrap_or(0);
    w.ledger.record_time_of(synchronizer)
}

/// Refuses a change that is already held (Canton's in-flight tracking).
fn not_in_flight(w: &World, accepted: &Accepted) -> Result<(), ApiError> {
    let a = &accepted.authorized;
    match w
        .pending
        .in_flight(&accepted.user_id, &a.act_as, &a.command_id)
    {
        Some(held) => Err(ApiError::submission_already_in_flight(&held.submission_id)),
        None => Ok(()),
    }
}

/// Deduplication against committed changes, at the clock of now.
fn not_duplicate(w: &World, accepted: &Accepted) -> Result<(), Refused> {
    let refused = |error| Refused {
        error,
        sequenced: false,
    };
    let now = now_of(w, &accepted.authorized);
    let window =
        dedup_window(Some(&accepted.deduplication_period), now).map_err(|e| refused(e.into()))?;
    let a = &accepted.authorized;
    match w
        .completions
        .duplicate_of(&accepted.user_id, &a.act_as, &a.command_id, window)
    {
        // Deduplication: a second execution of a committed change is refused before
        // sequencing (a prepared transaction that auto-selected its inputs could otherwise
        // commit twice here, which a real prepared transaction never can).
        Some(done) => Err(refused(ApiError::duplicate_command(done.offset))),
        None => Ok(()),
    }
}

/// Sequences an accepted execution: deduplication, then the commit, whose outcome (a
/// rejection too) goes to the completion stream.
fn sequence(w: &mut World, accepted: &Accepted) -> Result<Submitted, Refused> {
    not_duplicate(w, accepted)?;
    let outcome = commit(w, &accepted.authorized).map_err(ApiError::from);
    record_completion(w, &meta_of(accepted), &outcome);
    outcome.map_err(|error| Refused {
        error,
        sequenced: true,
    })
}

/// Who submitted what, as a completion reports it.
pub struct CompletionMeta {
    pub command_id: String,
    pub user_id: String,
    pub act_as: Vec<String>,
    pub submission_id: String,
    /// Where the submission was routed (empty: the global synchronizer), which a rejection's
    /// completion reports.
    pub synchronizer_id: String,
}

fn meta_of(accepted: &Accepted) -> CompletionMeta {
    let a = &accepted.authorized;
    CompletionMeta {
        command_id: a.command_id.clone(),
        user_id: accepted.user_id.clone(),
        act_as: a.act_as.clone(),
        submission_id: accepted.submission_id.clone(),
        synchronizer_id: a.synchronizer_id().to_owned(),
    }
}

/// Writes the completion of a sequenced submission. A rejection takes an offset of its own.
pub fn record_completion(
    w: &mut World,
    meta: &CompletionMeta,
    outcome: &Result<Submitted, ApiError>,
) {
    let (rejection, update_id, traceparent, offset, synchronizer, record_time) = match outcome {
        Ok(done) => {
            let tx = w.ledger.update_at(done.offset);
            (
                None,
                done.update_id.clone(),
                tx.map(|tx| tx.traceparent.clone()),
                done.offset,
                tx.map_or(0, |tx| tx.synchronizer),
                done.record_time,
            )
        }
        // A rejection is reported at the time of the synchronizer it was routed to.
        Err(e) => {
            let synchronizer = w
                .ledger
                .synchronizer_index(&meta.synchronizer_id)
                .unwrap_or(0);
            (
                Some(e.completion_status()),
                String::new(),
                None,
                w.ledger.reserve_offset(),
                synchronizer,
                w.ledger.record_time_of(synchronizer),
            )
        }
    };
    w.completions.record(CompletionRecord {
        command_id: meta.command_id.clone(),
        user_id: meta.user_id.clone(),
        act_as: meta.act_as.clone(),
        submission_id: meta.submission_id.clone(),
        rejection,
        update_id,
        traceparent,
        offset,
        synchronizer_id: w.ledger.synchronizer(synchronizer).id.clone(),
        record_time,
    });
}
