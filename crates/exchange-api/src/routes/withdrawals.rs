//! Withdrawals (arrow 2.a): a customer's request, placed under an idempotency key with the
//! checks of the `withdraw` command (`exchange_services::withdrawal_request`), and its
//! progress.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use exchange_core::changeset::AccountId;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState};
use exchange_core::{ContractId, InstrumentId};
use exchange_services::withdrawal_request::{self, RequestText};
use exchange_store::{Store, Withdrawal, WithdrawalFilter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Internal, Reader};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{self, List};
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{WithdrawalPage, WithdrawalView};

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_withdrawal, list_withdrawals))
        .routes(routes!(get_withdrawal))
}

/// A customer's withdrawal.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWithdrawal {
    /// The customer's deposit account to debit.
    account: String,
    /// The receiving party (`hint::namespace`).
    receiver: String,
    /// A positive decimal string with at most 10 decimal places (never a JSON number).
    amount: String,
    /// The instrument id (e.g. `Amulet`).
    instrument_id: String,
    /// The instrument's admin; needed only when two known instruments share the id.
    #[serde(default)]
    instrument_admin: Option<String>,
    /// Seconds the transfer has to commit before it expires and is refunded (default 600).
    #[serde(default)]
    ttl_secs: Option<u64>,
}

/// Place a withdrawal.
///
/// Debits the account and reserves the treasury holdings that fund it, in one transaction;
/// the withdrawal automation then submits the transfer. The `Idempotency-Key` header is
/// required: the same key with the same request answers with the first withdrawal (200), with
/// a different request it is refused (409).
#[utoipa::path(post, path = "/v1/withdrawals", tag = "withdrawals",
    request_body = CreateWithdrawal,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended withdrawal (1 to 255 bytes)")),
    responses(
        (status = 201, description = "Placed", body = WithdrawalView),
        (status = 200, description = "Placed before under this key", body = WithdrawalView),
        (status = 400, description = "`idempotency-key-missing`, `invalid-idempotency-key`, `malformed-json`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`idempotency-key-reused`, `no-spendable-holdings`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`, `invalid-body`, `insufficient-funds`, `unknown-instrument`, `ambiguous-instrument`, `account-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`withdrawals-disabled` (the detail says why), `treasury-party-unknown`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = [])))]
async fn create_withdrawal(
    _: Internal,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateWithdrawal>,
) -> Result<(StatusCode, Json<WithdrawalView>), Problem> {
    let key = idempotency_key(&headers)?;
    let text = RequestText {
        account: &body.account,
        receiver: &body.receiver,
        amount: &body.amount,
        instrument: &body.instrument_id,
        admin: body.instrument_admin.as_deref(),
        idempotency_key: Some(key),
        ttl_secs: body.ttl_secs.unwrap_or(state.config.default_ttl_secs),
    };
    let request = withdrawal_request::check(&text)?;
    let placed =
        withdrawal_request::place(&state.store, &request, state.config.memo_key.as_ref()).await?;
    let holdings = withdrawal_request::funding(&state.store, &placed.withdrawal).await?;
    let status = if placed.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(WithdrawalView::new(placed.withdrawal, holdings)),
    ))
}

fn idempotency_key(headers: &HeaderMap) -> Result<&str, Problem> {
    let value = headers.get(IDEMPOTENCY_KEY).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "idempotency-key-missing",
            "the Idempotency-Key header is required: a retry must not withdraw twice",
        )
        .at(IDEMPOTENCY_KEY)
    })?;
    value.to_str().map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-idempotency-key",
            "the Idempotency-Key header must be visible ASCII",
        )
        .at(IDEMPOTENCY_KEY)
    })
}

/// Filters and pagination of the withdrawal list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WithdrawalQuery {
    /// Only the withdrawals of this account.
    account: Option<String>,
    /// Only those in this state (`requested`, `submitted`, `pending_acceptance`, `completed`,
    /// `failed`, `expired`, `recovered`).
    state: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
}

/// List withdrawals, oldest first.
#[utoipa::path(get, path = "/v1/withdrawals", tag = "withdrawals",
    params(WithdrawalQuery),
    responses(
        (status = 200, description = "A page of withdrawals", body = WithdrawalPage),
        (status = 400, description = "`invalid-query`, `invalid-cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (state, limit)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn list_withdrawals(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WithdrawalQuery>,
) -> Result<Json<WithdrawalPage>, Problem> {
    let filter = WithdrawalFilter {
        state: query
            .state
            .as_deref()
            .map(|s| {
                s.parse::<WithdrawalState>()
                    .map_err(|e| Problem::invalid("state", e))
            })
            .transpose()?,
        account: query
            .account
            .as_deref()
            .map(|a| AccountId::new(a).ok_or_else(|| Problem::invalid("account", "empty account")))
            .transpose()?,
    };
    let limit = paging::limit(query.limit)?;
    let after = paging::after_after(List::Withdrawals, query.cursor.as_deref())?;
    let page = state
        .store
        .withdrawals_page(&filter, after.as_ref(), limit)
        .await?;
    let next_cursor = page
        .more
        .then(|| {
            page.items.last().map(|w| {
                let after = exchange_store::After {
                    micros: w.created_at.micros(),
                    id: w.id.to_string(),
                };
                paging::after_cursor(List::Withdrawals, &after)
            })
        })
        .flatten();
    let mut funding = funding_of(&state.store, &page.items).await?;
    let items = page
        .items
        .into_iter()
        .map(|w| {
            let holdings = funding.remove(&w.id).unwrap_or_default();
            WithdrawalView::new(w, holdings)
        })
        .collect();
    Ok(Json(WithdrawalPage { items, next_cursor }))
}

/// The reserved holdings of a page's withdrawals: one read per instrument, not per row.
async fn funding_of(
    store: &Store,
    withdrawals: &[Withdrawal],
) -> Result<BTreeMap<WithdrawalId, Vec<ContractId>>, Problem> {
    let instruments: BTreeSet<&InstrumentId> = withdrawals.iter().map(|w| &w.instrument).collect();
    let wanted: BTreeSet<&WithdrawalId> = withdrawals.iter().map(|w| &w.id).collect();
    let mut out: BTreeMap<WithdrawalId, Vec<ContractId>> = BTreeMap::new();
    for instrument in instruments {
        for h in store.active_holdings(instrument).await? {
            if let Some(id) = h.reserved_by.filter(|id| wanted.contains(id)) {
                out.entry(id).or_default().push(h.holding.contract_id);
            }
        }
    }
    Ok(out)
}

/// One withdrawal.
#[utoipa::path(get, path = "/v1/withdrawals/{withdrawalId}", tag = "withdrawals",
    params(("withdrawalId" = String, Path, description = "The withdrawal id")),
    responses(
        (status = 200, description = "The withdrawal", body = WithdrawalView),
        (status = 404, description = "`withdrawal-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn get_withdrawal(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WithdrawalView>, Problem> {
    let unknown =
        || Problem::not_found("withdrawal-not-found", format!("unknown withdrawal {id:?}"));
    let withdrawal_id = WithdrawalId::new(id.as_str()).ok_or_else(unknown)?;
    let withdrawal = state
        .store
        .withdrawal(&withdrawal_id)
        .await?
        .ok_or_else(unknown)?;
    let holdings = withdrawal_request::funding(&state.store, &withdrawal).await?;
    Ok(Json(WithdrawalView::new(withdrawal, holdings)))
}
