//! Deposits, for the exchange's UI and its support team: credited ones, offers still pending,
//! and those never credited (unknown account, unrecognized token).

use axum::Json;
use axum::extract::State;
use exchange_core::Timestamp;
use exchange_core::changeset::{AccountId, DepositId, DepositState};
use exchange_store::DepositFilter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Reader;
use crate::extract::{ApiPath, ApiQuery};
use crate::paging::{self, List};
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{DepositPage, DepositView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deposits))
        .routes(routes!(get_deposit))
}

/// Filters and pagination of the deposit list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DepositQuery {
    /// Only the deposits to this account.
    account: Option<String>,
    /// Only those in this state: `offered` (an offer pending our acceptance), `credited`,
    /// `unknown_account`, `cancelled`, `unrecognized`.
    state: Option<String>,
    /// Recorded at or after this record time (RFC 3339).
    from: Option<String>,
    /// Recorded before this record time (RFC 3339).
    until: Option<String>,
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
}

fn time(field: &str, text: Option<&str>) -> Result<Option<Timestamp>, Problem> {
    text.map(|t| {
        t.parse::<Timestamp>()
            .map_err(|e| Problem::invalid(field, format!("{field} {t:?}: {e}")))
    })
    .transpose()
}

fn filter(query: &DepositQuery) -> Result<DepositFilter, Problem> {
    let state = query
        .state
        .as_deref()
        .map(|s| {
            DepositState::ALL
                .into_iter()
                .find(|d| d.as_str() == s)
                .ok_or_else(|| Problem::invalid("state", format!("unknown deposit state {s:?}")))
        })
        .transpose()?;
    let account = query
        .account
        .as_deref()
        .map(|a| AccountId::new(a).ok_or_else(|| Problem::invalid("account", "empty account")))
        .transpose()?;
    let from = time("from", query.from.as_deref())?;
    let until = time("until", query.until.as_deref())?;
    if let (Some(f), Some(u)) = (from, until)
        && f > u
    {
        return Err(Problem::invalid("until", "until is before from"));
    }
    Ok(DepositFilter {
        state,
        account,
        from,
        until,
    })
}

/// List deposits by the record time that recorded them, filtered by account, state and time.
#[utoipa::path(get, path = "/v1/deposits", tag = "deposits",
    params(DepositQuery),
    responses(
        (status = 200, description = "A page of deposits", body = DepositPage),
        (status = 400, description = "`invalid-query`, `invalid-cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (state, times, limit)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn list_deposits(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DepositQuery>,
) -> Result<Json<DepositPage>, Problem> {
    let filter = filter(&query)?;
    let limit = paging::limit(query.limit)?;
    let after = paging::after_after(List::Deposits, query.cursor.as_deref())?;
    let page = state
        .store
        .deposits_page(&filter, after.as_ref(), limit)
        .await?;
    let next_cursor = page
        .more
        .then(|| {
            page.items.last().map(|d| {
                let after = exchange_store::After {
                    micros: d.deposit.origin.record_time.micros(),
                    id: d.deposit.id.to_string(),
                };
                paging::after_cursor(List::Deposits, &after)
            })
        })
        .flatten();
    Ok(Json(DepositPage {
        items: page.items.into_iter().map(DepositView::from).collect(),
        next_cursor,
    }))
}

/// One deposit.
#[utoipa::path(get, path = "/v1/deposits/{depositId}", tag = "deposits",
    params(("depositId" = String, Path, description = "The deposit id (`updateId#node`, URL-encoded)")),
    responses(
        (status = 200, description = "The deposit", body = DepositView),
        (status = 404, description = "`deposit-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn get_deposit(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DepositView>, Problem> {
    let unknown = || Problem::not_found("deposit-not-found", format!("unknown deposit {id:?}"));
    let deposit_id = DepositId::new(id.as_str()).ok_or_else(unknown)?;
    match state.store.deposit(&deposit_id).await? {
        Some(record) => Ok(Json(record.into())),
        None => Err(unknown()),
    }
}
