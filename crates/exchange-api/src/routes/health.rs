//! Liveness and readiness for the orchestrator, without authentication: `/healthz` answers
//! while the process serves, `/readyz` only while the Integration DB answers too.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::Problem;
use crate::state::AppState;

/// How long `/readyz` waits for the DB before calling it unavailable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

fn ok() -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
    })
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "Up", body = Health)))]
async fn healthz() -> Json<Health> {
    ok()
}

/// The process is up and its Integration DB answers.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "`database-unavailable`", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    match tokio::time::timeout(READY_TIMEOUT, state.store.checkpoint()).await {
        Ok(Ok(_)) => Ok(ok()),
        Ok(Err(e)) => Err(unready(&e)),
        Err(_) => Err(unready(&"no answer within 2 s")),
    }
}

fn unready(why: &dyn std::fmt::Display) -> Problem {
    tracing::warn!("api: not ready: {why}");
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database-unavailable",
        "the Integration DB does not answer",
    )
}
