//! What every handler shares: the store, the tokens and the API's settings.

use std::sync::Arc;

use exchange_core::PartyId;
use exchange_core::changeset::AccountId;
use exchange_core::ingest::SUSPENSE_ACCOUNT;
use exchange_core::memo::MemoKey;
use exchange_services::Metrics;
use exchange_store::Store;

use crate::auth::ApiAuth;

/// How long the automation has to commit a withdrawal's transfer when the request does not
/// say (the `withdraw` command's default too).
pub const DEFAULT_TTL_SECS: u64 = 600;

/// The API's settings.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// The party customers deposit to; when `None`, the one the Integration DB records.
    pub treasury_party: Option<PartyId>,
    /// Seals withdrawal ids (see `exchange_core::memo`), as the `withdraw` command does.
    pub memo_key: Option<MemoKey>,
    /// Where recovered withdrawals are debited until attributed: no customer account may
    /// take its name.
    pub suspense_account: AccountId,
    pub default_ttl_secs: u64,
    /// What `/metrics` serves, shared with the services of the process; its cached ledger end
    /// fills the operator status's lag.
    pub metrics: Metrics,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            treasury_party: None,
            memo_key: None,
            suspense_account: AccountId::new(SUSPENSE_ACCOUNT).expect("non-empty"),
            default_ttl_secs: DEFAULT_TTL_SECS,
            metrics: Metrics::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<ApiAuth>,
    pub config: Arc<ApiConfig>,
}
