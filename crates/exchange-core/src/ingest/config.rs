//! What the fold is told: whose ingestion it is, when a transaction counts as already
//! ingested, and where withdrawals nobody can be named for are debited.

use crate::PartyId;
use crate::changeset::AccountId;
use crate::tokens::Onboarded;

/// When a transaction counts as already ingested.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SkipRule {
    /// The guide's rule: record time at or before the last ingested record time of its
    /// synchronizer (record times are unique), or an update id already ingested.
    #[default]
    RecordTime,
    /// For participants whose history was edited locally (ACS imports, party replication,
    /// repairs), where record times repeat: only a known update id is skipped.
    KnownUpdateId,
}

/// What the fold needs to be told.
#[derive(Clone, Debug)]
pub struct FoldConfig {
    pub treasury: PartyId,
    pub skip_rule: SkipRule,
    /// Where the amount of a recovered withdrawal is debited when no customer account is known:
    /// an operator account that must exist (the service creates it).
    pub suspense_account: AccountId,
    /// An exchange-specific metadata key on withdrawal transfers naming the customer account, so
    /// a recovered withdrawal can debit it. Off (`None`) by default: it costs traffic and shows
    /// the account to the receiver and the registry.
    pub account_meta_key: Option<String>,
    /// The key that sealed the exchange's withdrawal memos (see [`crate::memo`]): a recovered
    /// withdrawal whose memo it opens is debited to the account sealed in it. `None`: such
    /// withdrawals go to suspense.
    pub memo_key: Option<crate::memo::MemoKey>,
    /// The tokens the operator onboarded: only their issuers' holdings are credited and
    /// counted (see [`crate::tokens`]); everything else is held back.
    pub onboarded: Onboarded,
}

impl FoldConfig {
    pub fn new(treasury: PartyId) -> FoldConfig {
        FoldConfig {
            treasury,
            skip_rule: SkipRule::RecordTime,
            suspense_account: AccountId::new(SUSPENSE_ACCOUNT).expect("non-empty"),
            account_meta_key: None,
            memo_key: None,
            onboarded: Onboarded::default(),
        }
    }
}

/// The default suspense account.
pub const SUSPENSE_ACCOUNT: &str = "suspense";
