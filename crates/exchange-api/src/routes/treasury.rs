//! The treasury: its holdings on the ledger, and reconciliation per instrument in one call.

use axum::Json;
use axum::extract::State;
use exchange_core::reconcile::{self, WithdrawalLine};
use exchange_core::withdrawal::WithdrawalState;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Reader;
use crate::problem::{self, Problem};
use crate::state::AppState;
use crate::views::{HoldingView, TotalsView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(holdings))
        .routes(routes!(totals))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Holdings {
    /// Active holdings by instrument, oldest first.
    pub holdings: Vec<HoldingView>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// One row per instrument held or owed.
    pub totals: Vec<TotalsView>,
}

/// The treasury's active holdings (UTXOs), held-back ones included and marked.
#[utoipa::path(get, path = "/v1/treasury/holdings", tag = "treasury",
    responses((status = 200, description = "Active holdings", body = Holdings)),
    security(("internal" = []), ("operator" = [])))]
async fn holdings(_: Reader, State(state): State<AppState>) -> Result<Json<Holdings>, Problem> {
    let holdings = state.store.all_active_holdings().await?;
    Ok(Json(Holdings {
        holdings: holdings.into_iter().map(HoldingView::from).collect(),
    }))
}

/// Reconciliation per instrument: holdings on the ledger against customer liabilities,
/// suspense and withdrawals in flight; the rest is own funds (negative: a shortfall).
///
/// Read from separate snapshots: a batch ingested between them can show a momentary
/// difference, which the next call no longer shows.
#[utoipa::path(get, path = "/v1/treasury/totals", tag = "treasury",
    responses((status = 200, description = "Totals per instrument", body = Totals)),
    security(("internal" = []), ("operator" = [])))]
async fn totals(_: Reader, State(state): State<AppState>) -> Result<Json<Totals>, Problem> {
    let store = &state.store;
    let mut in_flight = Vec::new();
    for s in [
        WithdrawalState::Requested,
        WithdrawalState::Submitted,
        WithdrawalState::PendingAcceptance,
        WithdrawalState::Recovered,
    ] {
        in_flight.extend(store.withdrawals_in_state(s).await?.into_iter().map(|w| {
            WithdrawalLine {
                instrument: w.instrument,
                amount: w.amount,
                state: w.state,
                purpose: w.purpose,
                recovered_offer: w.execute_before.is_some(),
            }
        }));
    }
    let balances = store.all_balances().await?;
    let holdings = store.all_active_holdings().await?;
    let totals = reconcile::totals(
        holdings.iter().map(|h| &h.holding),
        &balances,
        &state.config.suspense_account,
        &in_flight,
    )
    .map_err(|e| problem::internal(&format!("totals beyond Numeric 10: {e}")))?;
    Ok(Json(Totals {
        totals: totals.iter().map(|(i, t)| TotalsView::new(i, t)).collect(),
    }))
}
