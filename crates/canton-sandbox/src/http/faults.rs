//! Applies the injected faults ([`crate::faults`]) to the Ledger API routes only: the control
//! API and the registries always answer, so a test can still set up and inspect the node.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use canton_ledger::ErrorCategory;

use crate::faults::InjectedError;
use crate::http::AppState;
use crate::http::error::ApiError;

pub async fn inject(State(s): State<AppState>, request: Request, next: Next) -> Response {
    let decision = s.decide_fault();
    if let Some(ms) = decision.delay_ms {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    }
    match decision.error {
        Some(e) => injected(e).into_response(),
        None => next.run(request).await,
    }
}

/// The errors as a real participant gives them: both retryable (they carry `retryInfo`).
pub(crate) fn injected(e: InjectedError) -> ApiError {
    match e {
        InjectedError::ServiceNotRunning => ApiError::node_restarted(),
        InjectedError::SequencerBackpressure => ApiError::canton(
            "SEQUENCER_BACKPRESSURE",
            ErrorCategory::ContentionOnSharedResources,
            "The sequencer is overloaded: try again later",
            vec![],
        ),
    }
}
