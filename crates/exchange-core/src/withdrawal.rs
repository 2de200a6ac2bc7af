//! Withdrawals as a state machine, pure.
//!
//! ```text
//!  requested ──▶ submitted ──▶ pending_acceptance ──▶ completed
//!      │  ╲          │  ╲               ╲
//!      │   ╲─────────┼───╲───────────────╲──────────▶ failed  (refund)
//!      │             │    ╲
//!      └─────────────┴─────╲────────────────────────▶ expired (refund)
//!  recovered ──▶ completed | failed        (re-created by ingestion after a DB restore; a
//!                                            recovered offer's fate is decided like any offer's)
//! ```
//!
//! The outcome is learned from ingestion, which may see the transfer before the automation has
//! recorded `submitted`, so `requested` may move straight to `pending_acceptance` or `completed`.
//! `expired` means the ingested record time passed `trecTgt` without the transfer: the funds
//! never left. Once an offer exists on the ledger, `trecTgt` no longer matters; a rejected or
//! withdrawn offer ends as `failed`. Entering `failed` or `expired` refunds the customer through
//! the journal, and entering any terminal state releases the reserved holdings: both are
//! effects decided in one place, `ingest::transition_effects`, which the store only applies.

use std::fmt;
use std::str::FromStr;

use crate::changeset::{AccountId, Origin};
use crate::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp};

/// The exchange's id of a withdrawal, sent on the ledger as the transfer's `reason` memo.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct WithdrawalId(String);

impl WithdrawalId {
    /// Any non-empty string; it is the exchange's choice.
    pub fn new(id: impl Into<String>) -> Option<WithdrawalId> {
        let id = id.into();
        (!id.is_empty()).then_some(WithdrawalId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WithdrawalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for WithdrawalId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for WithdrawalId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WithdrawalId::new(s).ok_or_else(|| "empty withdrawal id".to_owned())
    }
}

/// Where a withdrawal is in its life.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum WithdrawalState {
    /// Funds debited and holdings reserved until `trecTgt`; waiting for the automation.
    Requested,
    /// The transfer command was executed; the outcome is not yet ingested.
    Submitted,
    /// A transfer offer (multi-step) is on the ledger, waiting for the receiver.
    PendingAcceptance,
    /// The funds reached the receiver.
    Completed,
    /// Definitely not executed, or the offer was rejected or withdrawn; refunded.
    Failed,
    /// The ingested record time passed `trecTgt` without the transfer; refunded.
    Expired,
    /// Re-created from on-chain data because the request was lost in a DB restore.
    Recovered,
}

impl WithdrawalState {
    pub const ALL: [WithdrawalState; 7] = [
        WithdrawalState::Requested,
        WithdrawalState::Submitted,
        WithdrawalState::PendingAcceptance,
        WithdrawalState::Completed,
        WithdrawalState::Failed,
        WithdrawalState::Expired,
        WithdrawalState::Recovered,
    ];

    /// Whether `self → to` is a step of the state machine (staying put is not a step).
    pub fn can_transition(self, to: WithdrawalState) -> bool {
        can_transition(self, to)
    }

    /// No transition leaves a terminal state.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            WithdrawalState::Completed | WithdrawalState::Failed | WithdrawalState::Expired
        )
    }

    /// Entering this state gives the reserved funds back to the customer.
    pub fn refunds(self) -> bool {
        matches!(self, WithdrawalState::Failed | WithdrawalState::Expired)
    }

    /// The stable name used in the DB and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalState::Requested => "requested",
            WithdrawalState::Submitted => "submitted",
            WithdrawalState::PendingAcceptance => "pending_acceptance",
            WithdrawalState::Completed => "completed",
            WithdrawalState::Failed => "failed",
            WithdrawalState::Expired => "expired",
            WithdrawalState::Recovered => "recovered",
        }
    }
}

impl fmt::Display for WithdrawalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WithdrawalState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        WithdrawalState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown withdrawal state {s:?}"))
    }
}

/// Whom a withdrawal pays: a customer, or the treasury itself (a pool self-transfer, see
/// [`crate::pool`]), which has no account to debit or refund and completes when ingestion sees
/// the treasury's self-transfer with its memo.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub enum WithdrawalPurpose {
    /// A customer's withdrawal, or one ingestion recovered from the ledger.
    #[default]
    Customer,
    Pool,
}

impl WithdrawalPurpose {
    /// The stable name used in the DB and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalPurpose::Customer => "customer",
            WithdrawalPurpose::Pool => "pool",
        }
    }
}

impl fmt::Display for WithdrawalPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for WithdrawalPurpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [WithdrawalPurpose::Customer, WithdrawalPurpose::Pool]
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown withdrawal purpose {s:?}"))
    }
}

/// The transition table of the module docs.
pub fn can_transition(from: WithdrawalState, to: WithdrawalState) -> bool {
    use WithdrawalState::*;
    matches!(
        (from, to),
        (
            Requested,
            Submitted | PendingAcceptance | Completed | Failed | Expired
        ) | (Submitted, PendingAcceptance | Completed | Failed | Expired)
            | (PendingAcceptance, Completed | Failed)
            | (Recovered, Completed | Failed)
    )
}

/// A customer's request, written with its journal debit and holding reservations in one DB
/// transaction (Step 2 of the withdrawal workflows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalRequest {
    pub id: WithdrawalId,
    pub account: crate::changeset::AccountId,
    pub instrument: InstrumentId,
    /// Positive.
    pub amount: Amount,
    pub receiver: PartyId,
    /// The transfer must commit before this record time (`maxRecordTime = trecTgt − 1µs`).
    pub trec_tgt: Timestamp,
    /// The synchronizer the transfer is submitted to (where its inputs are), whose record time
    /// `trec_tgt` bounds. `None` if not known: the withdrawal then counts as expired only once
    /// every synchronizer's record time has passed `trec_tgt`.
    pub synchronizer: Option<SynchronizerId>,
    /// Holdings reserved to fund the transfer until `trec_tgt` has passed.
    pub holdings: Vec<ContractId>,
}

/// A customer's withdrawal as the exchange asks for it: the store selects and reserves the
/// holdings that fund it (see [`crate::selection`]) and fixes `trecTgt = now + ttl`, all in the
/// transaction that debits the account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalOrder {
    pub id: WithdrawalId,
    pub account: crate::changeset::AccountId,
    pub instrument: InstrumentId,
    /// Positive.
    pub amount: Amount,
    pub receiver: PartyId,
    /// How long the automation has to commit the transfer, in microseconds (positive).
    pub ttl_micros: i64,
    pub synchronizer: Option<SynchronizerId>,
    /// A retried order with the same key gets the first withdrawal back instead of a second.
    pub idempotency_key: Option<String>,
    pub policy: crate::selection::SelectionPolicy,
}

/// A withdrawal moved on. From ingestion (`origin` set) or from the automation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalTransition {
    pub id: WithdrawalId,
    pub to: WithdrawalState,
    /// Why, for people (e.g. "no transfer preapproval for the receiver").
    pub reason: Option<String>,
    /// The ledger update that showed the outcome.
    pub origin: Option<Origin>,
    /// The transfer offer, for multi-step withdrawals.
    pub transfer_instruction: Option<ContractId>,
}

/// A withdrawal transfer whose id is unknown to the DB (lost in a restore), as seen on-chain.
/// The account is unknown, so no journal entry is made; operators reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredWithdrawal {
    pub id: WithdrawalId,
    /// The customer account it was attributed to (through its sealed memo or the account
    /// metadata) and debited; `None`: debited to suspense until an operator attributes it.
    pub account: Option<AccountId>,
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub receiver: PartyId,
    pub origin: Origin,
    pub transfer_instruction: Option<ContractId>,
    /// Set when this is a second payment of a known withdrawal (the same memo on another
    /// transfer): the withdrawal it repeats. Booked against suspense, never the customer.
    pub duplicate_of: Option<WithdrawalId>,
    /// When it was recovered from a pending offer: the offer's `executeBefore` and
    /// synchronizer, so that it fails (and is refunded) once the offer has certainly expired,
    /// exactly like an offer the automation made.
    pub offer_expiry: Option<crate::changeset::OfferExpiry>,
}

/// How a transfer may run for an instrument, as onboarded: the registry says how it *will*
/// run (`transferKind`), and the automation goes on only if that is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KindRule {
    /// 1-step tokens (Canton Coin): only `direct`; an offer would leave the customer's funds
    /// locked waiting for a receiver who never asked for one.
    Direct,
    /// Tokens that may also make offers (multi-step): `direct` or `offer`.
    DirectOrOffer,
    /// A pool self-transfer: only `self`.
    SelfTransfer,
}

/// What to do about the registry's `transferKind` for a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KindVerdict {
    Proceed,
    /// Fail the withdrawal (refunded once, by `transition_effects`): no attempt ever reached
    /// the ledger, so none can commit.
    Fail(String),
    /// Not now: an earlier execution may still commit, so the withdrawal cannot be failed;
    /// try again later, until ingestion settles it or its `trecTgt` passes (then it expires).
    Wait(String),
}

/// Judges the registry's `kind` (`direct`, `offer`, `self`, or something newer) against the
/// instrument's rule, given how many executions reached the node already.
pub fn judge_transfer_kind(kind: &str, rule: KindRule, executions: u32) -> KindVerdict {
    let allowed: &[&str] = match rule {
        KindRule::Direct => &["direct"],
        KindRule::DirectOrOffer => &["direct", "offer"],
        KindRule::SelfTransfer => &["self"],
    };
    if allowed.contains(&kind) {
        return KindVerdict::Proceed;
    }
    let why = format!(
        "the registry would run this transfer as {kind:?}, and only {} is allowed for it{}",
        allowed.join(" or "),
        if rule == KindRule::Direct {
            " (a 1-step token: does the receiver have a transfer preapproval?)"
        } else {
            ""
        }
    );
    if executions == 0 {
        KindVerdict::Fail(why)
    } else {
        KindVerdict::Wait(why)
    }
}

#[cfg(test)]
mod tests {
    use super::WithdrawalState::*;
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in WithdrawalState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in WithdrawalState::ALL {
                assert!(!can_transition(from, to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn nothing_leads_back_to_the_start() {
        for from in WithdrawalState::ALL {
            assert!(!can_transition(from, Requested));
            assert!(!can_transition(from, Recovered));
            assert!(!can_transition(from, from));
        }
    }

    #[test]
    fn ingestion_may_overtake_the_automation() {
        assert!(can_transition(Requested, Completed));
        assert!(can_transition(Requested, PendingAcceptance));
        assert!(!can_transition(PendingAcceptance, Expired));
        assert!(can_transition(Recovered, Completed));
    }

    #[test]
    fn a_wrong_transfer_kind_fails_only_before_any_execution() {
        assert_eq!(
            judge_transfer_kind("direct", KindRule::Direct, 0),
            KindVerdict::Proceed
        );
        assert_eq!(
            judge_transfer_kind("offer", KindRule::DirectOrOffer, 3),
            KindVerdict::Proceed
        );
        assert_eq!(
            judge_transfer_kind("self", KindRule::SelfTransfer, 0),
            KindVerdict::Proceed
        );
        match judge_transfer_kind("offer", KindRule::Direct, 0) {
            KindVerdict::Fail(why) => assert!(why.contains("preapproval"), "{why}"),
            other => panic!("{other:?}"),
        }
        // Once an execution reached the node it may still commit: never fail (and refund) it.
        assert!(matches!(
            judge_transfer_kind("offer", KindRule::Direct, 1),
            KindVerdict::Wait(_)
        ));
        assert!(matches!(
            judge_transfer_kind("direct", KindRule::SelfTransfer, 0),
            KindVerdict::Fail(_)
        ));
        assert!(matches!(
            judge_transfer_kind("future-kind", KindRule::DirectOrOffer, 0),
            KindVerdict::Fail(_)
        ));
    }

    #[test]
    fn names_round_trip() {
        for s in WithdrawalState::ALL {
            assert_eq!(s.as_str().parse::<WithdrawalState>(), Ok(s));
        }
        for p in [WithdrawalPurpose::Customer, WithdrawalPurpose::Pool] {
            assert_eq!(p.as_str().parse::<WithdrawalPurpose>(), Ok(p));
        }
        assert!("refund".parse::<WithdrawalPurpose>().is_err());
    }
}
