//! What operators do and watch: switch withdrawals off and on, the status (what
//! `canton-exchange status` prints), the onboarded tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use exchange_services::status::{self, StatusReport};
use exchange_store::{StoreError, Switch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Operator;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{SwitchView, TokenView};

const MAX_REASON_LEN: usize = 500;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(withdrawal_switch))
        .routes(routes!(enable_withdrawals))
        .routes(routes!(disable_withdrawals))
        .routes(routes!(operator_status))
        .routes(routes!(tokens))
}

/// Why the operator flips the switch (logged, and shown in refusals while off).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SwitchChange {
    /// 1 to 500 characters.
    reason: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tokens {
    pub tokens: Vec<TokenView>,
}

fn check_reason(reason: &str) -> Result<(), Problem> {
    if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_LEN {
        return Err(Problem::invalid(
            "reason",
            format!("reason must have 1 to {MAX_REASON_LEN} characters"),
        ));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Problem::invalid(
            "reason",
            "reason must not contain control characters",
        ));
    }
    Ok(())
}

async fn current(state: &AppState) -> Result<SwitchView, Problem> {
    let switch = state.store.switch(Switch::Withdrawals).await?;
    Ok(SwitchView {
        enabled: switch.enabled,
        reason: switch.reason,
    })
}

/// Whether withdrawals are on, and why.
#[utoipa::path(get, path = "/v1/operator/withdrawals", tag = "operator",
    responses((status = 200, description = "The switch", body = SwitchView)),
    security(("operator" = [])))]
async fn withdrawal_switch(
    _: Operator,
    State(state): State<AppState>,
) -> Result<Json<SwitchView>, Problem> {
    Ok(Json(current(&state).await?))
}

/// Switch withdrawals on.
///
/// Refused while a `recover db` run is unfinished: finishing it switches them back on.
#[utoipa::path(post, path = "/v1/operator/withdrawals/enable", tag = "operator",
    request_body = SwitchChange,
    responses(
        (status = 200, description = "Switched on", body = SwitchView),
        (status = 409, description = "`db-recovery-unfinished`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`, `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])))]
async fn enable_withdrawals(
    _: Operator,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SwitchChange>,
) -> Result<Json<SwitchView>, Problem> {
    switch(&state, true, &body.reason).await
}

/// Switch withdrawals off: requests are refused with 503 and the reason until switched on.
#[utoipa::path(post, path = "/v1/operator/withdrawals/disable", tag = "operator",
    request_body = SwitchChange,
    responses(
        (status = 200, description = "Switched off", body = SwitchView),
        (status = 422, description = "`invalid-field`, `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("operator" = [])))]
async fn disable_withdrawals(
    _: Operator,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SwitchChange>,
) -> Result<Json<SwitchView>, Problem> {
    switch(&state, false, &body.reason).await
}

async fn switch(
    state: &AppState,
    enabled: bool,
    reason: &str,
) -> Result<Json<SwitchView>, Problem> {
    check_reason(reason)?;
    match state.store.switch_withdrawals(enabled, reason).await {
        Ok(()) => {
            tracing::info!(enabled, reason, "api: withdrawals switched by an operator");
            Ok(Json(current(state).await?))
        }
        Err(StoreError::RecoveryUnfinished(why)) => Err(Problem::new(
            StatusCode::CONFLICT,
            "db-recovery-unfinished",
            why,
        )),
        Err(other) => Err(other.into()),
    }
}

/// The exchange's status: checkpoint and record times, the lag behind the ledger end (when
/// this process follows the node) and behind the wall clock, withdrawals and deposits per state,
/// suspense, quarantine, failed deposit accepts, recovered and unattributed withdrawals, the
/// last recovery and whether withdrawals are off.
#[utoipa::path(get, path = "/v1/operator/status", tag = "operator",
    responses((status = 200, description = "The status", body = StatusReport)),
    security(("operator" = [])))]
async fn operator_status(
    _: Operator,
    State(state): State<AppState>,
) -> Result<Json<StatusReport>, Problem> {
    let report = status::gather(&state.store, state.config.suspense_account.as_str()).await?;
    Ok(Json(match state.config.metrics.ledger_end() {
        Some(end) => report.with_ledger_end(end),
        None => report,
    }))
}

/// The onboarded tokens.
#[utoipa::path(get, path = "/v1/operator/tokens", tag = "operator",
    responses((status = 200, description = "Onboarded tokens", body = Tokens)),
    security(("operator" = [])))]
async fn tokens(_: Operator, State(state): State<AppState>) -> Result<Json<Tokens>, Problem> {
    let tokens = state.store.onboarded_tokens().await?;
    Ok(Json(Tokens {
        tokens: tokens.into_iter().map(TokenView::from).collect(),
    }))
}
