//! `GET /metrics`: the process's Prometheus metrics (exchange_services::metrics), without
//! authentication, as scrapers have no bearer token: the series carry no customer data (states,
//! outcomes, operation names and route templates only). And the middleware that counts every
//! request by route template and status.

use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use exchange_services::metrics::CONTENT_TYPE;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::state::AppState;

/// How long a scrape waits for the DB's gauges.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metrics))
}

/// Prometheus metrics (text exposition format 0.0.4), without authentication.
///
/// The DB's gauges (checkpoint, record time, lags, withdrawals per state) are read at each
/// scrape; counters and histograms are this process's since it started. See
/// docs/operations.md for every series.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain"),
        (status = 503, description = "`database-unavailable`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn metrics(State(state): State<AppState>) -> Result<Response, Problem> {
    let metrics = &state.config.metrics;
    match tokio::time::timeout(REFRESH_TIMEOUT, metrics.refresh(&state.store)).await {
        Ok(Ok(())) => {
            Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.encode()).into_response())
        }
        Ok(Err(e)) => Err(unavailable(&e)),
        Err(_) => Err(unavailable(&"no answer within 2 s")),
    }
}

fn unavailable(why: &dyn std::fmt::Display) -> Problem {
    tracing::warn!("api: /metrics: the Integration DB: {why}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        "the Integration DB does not answer",
    )
}

/// Counts each request under its route's template (`/v1/withdrawals/{withdrawalId}`), never the
/// path asked for, which may hold ids; requests no route matched count as `unmatched`.
pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state
        .config
        .metrics
        .api_request(&route, response.status().as_u16());
    response
}
