//! The REST API of the exchange's internal systems (arrows 1.c and 2.a of the integration
//! guide's information flow) and its operators, over the Integration DB.
//!
//! - Routes under `/v1`: accounts, deposits, withdrawals, treasury, operator; `/healthz`,
//!   `/readyz`, `/metrics` (Prometheus, see [`routes::metrics`]) and `/openapi.json`
//!   (OpenAPI 3.1, generated from the handlers, see [`openapi`]) without authentication.
//! - Bearer tokens with two roles ([`auth`]); the caller hands over their hashes
//!   ([`ApiAuth`]), loaded from a file or the environment, never from argv.
//! - Amounts are decimal strings, lists are cursor-paginated ([`paging`]), errors are
//!   `application/problem+json` with stable codes ([`problem`]). Bodies, queries and paths are
//!   checked before anything reaches the DB ([`extract`]).
//! - `/`: the operators' status page ([`routes::status_page`]), public but holding no data:
//!   it reads the API with a token given in the browser.
//!
//! The API decides nothing itself: a withdrawal request goes through the same checks as the
//! `withdraw` command (`exchange_services::withdrawal_request`), reconciliation is
//! `exchange_core::reconcile`, and the store applies.

// Handlers return `Result<_, Problem>`; a problem (a few strings) is built at most once per
// request and answered at once, so boxing it to shrink the `Err` variant would buy nothing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod extract;
pub mod openapi;
pub mod paging;
pub mod problem;
pub mod routes;
pub mod state;
pub mod views;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use exchange_store::Store;
use tokio::net::TcpListener;

pub use auth::{ApiAuth, AuthError, Role, TokenHash};
/// What [`router`] and [`metrics_router`] return, for callers that serve them with [`serve`].
pub use axum::Router;
pub use state::ApiConfig;

/// Request bodies are small JSON objects; anything larger is refused before it is read.
const BODY_LIMIT: usize = 16 * 1024;

/// The API over `store`.
pub fn router(store: Store, auth: ApiAuth, config: ApiConfig) -> Router {
    let state = state::AppState {
        store,
        auth: Arc::new(auth),
        config: Arc::new(config),
    };
    let (router, _) = openapi::api_router().split_for_parts();
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            routes::metrics::count_requests,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// `/metrics` alone (`run --metrics-listen`): for a process that serves no API, or to keep
/// scrapes off the API's listener. No route needs a token.
pub fn metrics_router(store: Store, metrics: exchange_services::Metrics) -> Router {
    let state = state::AppState {
        store,
        auth: Arc::new(ApiAuth::new()),
        config: Arc::new(ApiConfig {
            metrics,
            ..ApiConfig::default()
        }),
    };
    let (router, _) = routes::metrics::router().split_for_parts();
    router.fallback(not_found).with_state(state)
}

async fn not_found() -> problem::Problem {
    problem::Problem::not_found("no-such-route", "no such route")
}

/// Serves the API on `listener` until `shutdown` completes, then finishes the requests in
/// progress.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
