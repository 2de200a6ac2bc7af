//! `POST /v2/commands/completions?limit=&stream_idle_timeout_ms=` (`ledger-api.md` §4.2): the
//! completions of the given parties' submissions after `beginExclusive`, waiting for more
//! until idle, capped at 200 elements like every list endpoint.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use canton_ledger::commands::DeduplicationPeriod;
use canton_ledger::completions::{
    Completion, CompletionResponse, CompletionStreamRequest, CompletionStreamResponse, JsStatus,
};
use canton_ledger::serde_util::Wrapped;
use canton_ledger::updates::{SynchronizerTime, TraceContext};

use crate::completions::CompletionRecord;
use crate::http::error::{ApiError, decode};
use crate::http::updates::ListParams;
use crate::http::{AppState, DEFAULT_IDLE_MS, MAX_LIST_ELEMENTS};

pub async fn completions(
    State(s): State<AppState>,
    Query(params): Query<ListParams>,
    body: Bytes,
) -> Result<Json<Vec<CompletionStreamResponse>>, ApiError> {
    let request: CompletionStreamRequest = decode(&body)?;
    if request.parties.is_empty() {
        return Err(ApiError::invalid_argument(
            "The submitted command is missing a mandatory field: parties",
        ));
    }
    {
        let world = s.read();
        let end = world.ledger.ledger_end();
        if request.begin_exclusive > end {
            return Err(ApiError::offset_after_ledger_end(
                "Begin",
                request.begin_exclusive,
                end,
            ));
        }
    }
    let cap = params
        .limit
        .unwrap_or(MAX_LIST_ELEMENTS + 1)
        .min(MAX_LIST_ELEMENTS + 1);
    let idle = Duration::from_millis(params.stream_idle_timeout_ms.unwrap_or(DEFAULT_IDLE_MS));
    let incarnation = s.read().ledger.incarnation();
    let mut position = request.begin_exclusive;
    let mut out = Vec::new();
    loop {
        // Subscribe before reading so a change between the read and the wait is not missed.
        let mut changes = s.subscribe();
        {
            let world = s.read();
            if world.ledger.incarnation() != incarnation {
                return Err(ApiError::node_restarted());
            }
            for c in world
                .completions
                .after(position, &request.user_id, &request.parties)
                .take(cap - out.len())
            {
                position = c.offset;
                out.push(render(c));
            }
        }
        if out.len() >= cap || tokio::time::timeout(idle, changes.changed()).await.is_err() {
            break;
        }
    }
    if out.len() > MAX_LIST_ELEMENTS {
        return Err(ApiError::too_many_elements(MAX_LIST_ELEMENTS));
    }
    Ok(Json(out))
}

fn render(c: &CompletionRecord) -> CompletionStreamResponse {
    let status = match &c.rejection {
        None => JsStatus::default(),
        Some((code, message)) => JsStatus {
            code: *code,
            message: message.clone(),
            details: vec![],
        },
    };
    CompletionStreamResponse {
        completion_response: CompletionResponse::Completion(Wrapped {
            value: Completion {
                command_id: c.command_id.clone(),
                status: Some(status),
                update_id: c.update_id.clone(),
                user_id: c.user_id.clone(),
                act_as: c.act_as.clone(),
                submission_id: c.submission_id.clone(),
                deduplication_period: DeduplicationPeriod::default(),
                trace_context: Some(TraceContext {
                    traceparent: c.traceparent.clone(),
                    tracestate: None,
                }),
                offset: c.offset,
                synchronizer_time: Some(SynchronizerTime {
                    synchronizer_id: c.synchronizer_id.clone(),
                    record_time: c.record_time.to_string(),
                }),
                paid_traffic_cost: None,
            },
        }),
    }
}
