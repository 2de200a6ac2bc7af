//! Deposit accounts (arrow 1.c): open one for a customer and tell them where to deposit,
//! list them, their balances and their journal.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use exchange_core::PartyId;
use exchange_core::changeset::AccountId;
use exchange_store::StoreError;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Internal, Reader};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::paging::{self, List};
use crate::problem::Problem;
use crate::state::AppState;
use crate::views::{AccountPage, AccountView, BalanceView, Balances, JournalPage, OpenedAccount};

/// The transfer metadata key whose value names the deposit account.
pub const MEMO_KEY: &str = "splice.lfdecentralizedtrust.org/reason";
const MAX_ACCOUNT_ID_LEN: usize = 64;
const MAX_CUSTOMER_REF_LEN: usize = 128;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open_account, list_accounts))
        .routes(routes!(balances))
        .routes(routes!(journal))
}

/// A deposit account to open.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenAccount {
    /// The exchange's reference of the customer (1 to 128 characters, no control characters).
    customer_ref: String,
    /// The account id, which is also the deposit memo: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
    /// Chosen by the API when absent (then a retry opens a second account; give one to make
    /// retries safe).
    #[serde(default)]
    account_id: Option<String>,
}

/// Cursor pagination.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The previous page's `nextCursor`.
    cursor: Option<String>,
    /// 1 to 500, default 50.
    limit: Option<u32>,
}

fn check_customer_ref(text: &str) -> Result<(), Problem> {
    if text.is_empty() || text.chars().count() > MAX_CUSTOMER_REF_LEN {
        return Err(Problem::invalid(
            "customerRef",
            format!("customerRef must have 1 to {MAX_CUSTOMER_REF_LEN} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(Problem::invalid(
            "customerRef",
            "customerRef must not contain control characters",
        ));
    }
    Ok(())
}

/// An account id customers can type into a wallet's memo field.
fn check_account_id(text: &str, state: &AppState) -> Result<AccountId, Problem> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    if text.is_empty() || text.len() > MAX_ACCOUNT_ID_LEN || !text.chars().all(allowed) {
        return Err(Problem::invalid(
            "accountId",
            format!(
                "accountId must be 1 to {MAX_ACCOUNT_ID_LEN} of A-Z a-z 0-9 . _ : -, not {text:?}"
            ),
        ));
    }
    let id = AccountId::new(text).ok_or_else(|| Problem::invalid("accountId", "empty"))?;
    if id == state.config.suspense_account {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "reserved-account",
            format!("{id} is the suspense account"),
        )
        .at("accountId"));
    }
    Ok(id)
}

fn new_account_id() -> Result<AccountId, Problem> {
    let mut random = [0u8; 10];
    getrandom::fill(&mut random).map_err(|e| crate::problem::internal(&e))?;
    AccountId::new(format!("acct-{}", hex::encode(random)))
        .ok_or_else(|| crate::problem::internal(&"empty account id"))
}

async fn treasury_party(state: &AppState) -> Result<PartyId, Problem> {
    if let Some(party) = &state.config.treasury_party {
        return Ok(party.clone());
    }
    state.store.treasury_party().await?.ok_or_else(|| {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "treasury-party-unknown",
            "no treasury party is configured or recorded yet: deposits have nowhere to go",
        )
    })
}

/// Open a deposit account.
///
/// Answers with the treasury party customers transfer to and the memo they put in the
/// transfer's reason. Opening an existing account again for the same customer answers with it
/// (200); for another customer it is a conflict.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts",
    request_body = OpenAccount,
    responses(
        (status = 201, description = "Opened", body = OpenedAccount),
        (status = 200, description = "Already open for this customer", body = OpenedAccount),
        (status = 409, description = "`account-exists` (another customer's), `reserved-account`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field`, `invalid-body`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = [])))]
async fn open_account(
    _: Internal,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OpenAccount>,
) -> Result<(StatusCode, Json<OpenedAccount>), Problem> {
    check_customer_ref(&body.customer_ref)?;
    let id = match &body.account_id {
        Some(text) => check_account_id(text, &state)?,
        None => new_account_id()?,
    };
    let party = treasury_party(&state).await?;
    let status = match state.store.create_account(&id, &body.customer_ref).await {
        Ok(()) => StatusCode::CREATED,
        Err(StoreError::Conflict(_)) => {
            let existing = state.store.account(&id).await?;
            match existing {
                Some(a) if a.customer_id == body.customer_ref => StatusCode::OK,
                _ => {
                    return Err(Problem::new(
                        StatusCode::CONFLICT,
                        "account-exists",
                        format!("account {id} belongs to another customer"),
                    )
                    .at("accountId"));
                }
            }
        }
        Err(other) => return Err(other.into()),
    };
    let account = state
        .store
        .account(&id)
        .await?
        .ok_or_else(|| crate::problem::internal(&format!("account {id} vanished")))?;
    Ok((
        status,
        Json(OpenedAccount {
            memo: id.to_string(),
            account: account.into(),
            treasury_party: party.to_string(),
            memo_key: MEMO_KEY.to_owned(),
        }),
    ))
}

/// List deposit accounts, by id.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of accounts", body = AccountPage),
        (status = 400, description = "`invalid-query`, `invalid-cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (limit)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn list_accounts(
    _: Reader,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<AccountPage>, Problem> {
    let limit = paging::limit(query.limit)?;
    let after = paging::text_after(List::Accounts, query.cursor.as_deref())?;
    let page = state.store.accounts_page(after.as_deref(), limit).await?;
    let next_cursor = page
        .more
        .then(|| {
            page.items
                .last()
                .map(|a| paging::text_cursor(List::Accounts, a.id.as_str()))
        })
        .flatten();
    Ok(Json(AccountPage {
        items: page.items.into_iter().map(AccountView::from).collect(),
        next_cursor,
    }))
}

/// The account, if it exists.
async fn known_account(state: &AppState, id: &str) -> Result<AccountId, Problem> {
    let unknown = || Problem::not_found("account-not-found", format!("unknown account {id:?}"));
    let account = AccountId::new(id).ok_or_else(unknown)?;
    match state.store.account(&account).await? {
        Some(_) => Ok(account),
        None => Err(unknown()),
    }
}

/// An account's balance of every instrument it has a journal entry of.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/balances", tag = "accounts",
    params(("accountId" = String, Path, description = "The account id")),
    responses(
        (status = 200, description = "Balances", body = Balances),
        (status = 404, description = "`account-not-found`", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn balances(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Balances>, Problem> {
    let account = known_account(&state, &id).await?;
    let balances = state.store.balances(&account).await?;
    Ok(Json(Balances {
        account_id: account.to_string(),
        balances: balances
            .iter()
            .map(|(i, a)| BalanceView::new(i, *a))
            .collect(),
    }))
}

/// An account's journal, in booking order: every credit and debit with its cause.
#[utoipa::path(get, path = "/v1/accounts/{accountId}/journal", tag = "accounts",
    params(("accountId" = String, Path, description = "The account id"), PageQuery),
    responses(
        (status = 200, description = "A page of journal entries", body = JournalPage),
        (status = 400, description = "`invalid-query`, `invalid-cursor`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`account-not-found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid-field` (limit)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("internal" = []), ("operator" = [])))]
async fn journal(
    _: Reader,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<JournalPage>, Problem> {
    let limit = paging::limit(query.limit)?;
    let after = paging::number_after(List::Journal, query.cursor.as_deref())?;
    let account = known_account(&state, &id).await?;
    let page = state.store.journal_page(&account, after, limit).await?;
    let next_cursor = page
        .more
        .then(|| {
            page.items
                .last()
                .map(|e| paging::number_cursor(List::Journal, e.entry_id))
        })
        .flatten();
    Ok(Json(JournalPage {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}
