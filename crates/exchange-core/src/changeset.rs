//! What a batch of ingestion changes in the Canton Integration DB, as plain data.
//!
//! Ingestion folds ledger transactions into a [`ChangeSet`]; the store writes it together with
//! the new [`Checkpoint`] in one DB transaction (`store.commit(&changeset, &checkpoint)`).
//!
//! # Contract
//! - Effects apply in order. `a.merge(b)` means "`a`, then `b`": merging is associative and
//!   `ChangeSet::default()` is its identity, so a batch can be cut anywhere.
//! - Applying a transaction that is already reflected in the DB must give an empty change set
//!   (exactly-once). The store backs this up where it can: an update id is ingested at most
//!   once, a deposit is credited at most once, a journal cause is booked at most once; breaking
//!   any of these fails the whole commit.
//! - Record times per synchronizer only move forward (the maximum wins).
//! - A holding never changes after creation except for being archived once.
//! - **The store decides nothing about money.** Every journal entry (deposit credits, withdrawal
//!   debits and refunds, recovery bookings) is an [`Effect::Journal`] and every release of
//!   reserved holdings an [`Effect::HoldingsReleased`], decided by core (the fold,
//!   `ingest::expire_due`, `ingest::transition_effects`). The store applies exactly the listed
//!   effects and derives none: a `DepositRecorded` in state `Credited` without its journal
//!   entry records the deposit and books nothing; a withdrawal entering `failed` without its
//!   refund is not refunded. What the store keeps are constraints, refused as errors: a deposit
//!   recorded once, a journal cause booked once, an entry for an account that exists, a
//!   withdrawal or deposit moved only along its state machine.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::token_standard::Lock;
use crate::tokens::HeldBack;
use crate::withdrawal::{RecoveredWithdrawal, WithdrawalId, WithdrawalTransition};
use crate::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};

/// The ledger update that caused a change, and its record time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub update_id: UpdateId,
    pub record_time: Timestamp,
}

/// A transaction ingestion has processed: its identity on this node and on the synchronizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestedUpdate {
    pub update_id: UpdateId,
    /// Participant-local: changes when the node is restored from a backup.
    pub offset: Offset,
    pub record_time: Timestamp,
    pub synchronizer_id: SynchronizerId,
}

impl IngestedUpdate {
    pub fn origin(&self) -> Origin {
        Origin {
            update_id: self.update_id.clone(),
            record_time: self.record_time,
        }
    }
}

/// Where ingestion resumes, and the identity that ties it to one ledger history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Everything up to and including this offset is ingested. Moves forward with transactions
    /// and with offset checkpoints of the stream.
    pub offset: Offset,
    /// The last ingested transaction (at or before `offset`; `None` before the first one). At
    /// start, ingestion checks that the node still has it at its offset. Its record time and
    /// synchronizer are `tRecovery` and `synchronizerId` of the node-restore runbook.
    pub last_update: Option<IngestedUpdate>,
}

/// Non-empty string ids chosen by the exchange or by the sender of a transfer.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub struct $name(String);

        impl $name {
            /// `None` for the empty string.
            pub fn new(id: impl Into<String>) -> Option<$name> {
                let id = id.into();
                (!id.is_empty()).then_some($name(id))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::new(s).ok_or_else(|| format!("empty {}", stringify!($name)))
            }
        }
    };
}

text_id!(
    /// A deposit account: the `reason` memo customers put on deposits.
    AccountId
);
text_id!(
    /// Identifies one deposit, chosen by ingestion so that the same ledger transfer always gets
    /// the same id (e.g. the transfer instruction's contract id, or update id and node id).
    DepositId
);

/// A treasury `Holding` (UTXO), as created on the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    pub contract_id: ContractId,
    pub instrument: InstrumentId,
    pub amount: Amount,
    /// The holding view's lock, if any: locked holdings (e.g. backing our own transfer offers)
    /// cannot fund withdrawals.
    pub lock: Option<Lock>,
    pub created: Origin,
    /// Set when the holding is not its instrument issuer's (a counterfeit, or a token not
    /// onboarded yet): mirrored so its archive is matched, never counted or spent.
    pub held_back: Option<HeldBack>,
}

impl Holding {
    pub fn locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Counted as treasury funds and spendable (subject to locks and reservations).
    pub fn recognized(&self) -> bool {
        self.held_back.is_none()
    }
}

/// Where a deposit stands.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum DepositState {
    /// A transfer offer (multi-step) to a known account, waiting for our acceptance.
    Offered,
    /// Received and credited to the account in the journal.
    Credited,
    /// For an account we do not know (or no memo at all): recorded for support, never credited
    /// automatically, offers never accepted.
    UnknownAccount,
    /// An offer that ended without funds: rejected, withdrawn by the sender, or expired.
    Cancelled,
    /// Of a token not onboarded, or not its issuer's (a counterfeit): recorded for support,
    /// never credited, its offer never accepted; judged again when tokens are onboarded.
    Unrecognized,
}

impl DepositState {
    pub const ALL: [DepositState; 5] = [
        DepositState::Offered,
        DepositState::Credited,
        DepositState::UnknownAccount,
        DepositState::Cancelled,
        DepositState::Unrecognized,
    ];

    /// `offered → credited | cancelled | unrecognized` (its accept brought holdings that are
    /// not the issuer's), `unknown_account → cancelled` (an offer withdrawn), `unrecognized →`
    /// anything but itself (judged again once its token is onboarded, or its offer ended).
    pub fn can_transition(self, to: DepositState) -> bool {
        use DepositState::*;
        matches!(
            (self, to),
            (Offered, Credited | Cancelled | Unrecognized)
                | (UnknownAccount, Cancelled)
                | (
                    Unrecognized,
                    Offered | Credited | UnknownAccount | Cancelled
                )
        )
    }

    /// Where a deposit its issuer stands behind stands: an unknown account is never credited
    /// or accepted; a known one is credited once the funds `arrived`, else offered.
    pub fn recognized(account_known: bool, arrived: bool) -> DepositState {
        match (account_known, arrived) {
            (false, _) => DepositState::UnknownAccount,
            (true, true) => DepositState::Credited,
            (true, false) => DepositState::Offered,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DepositState::Offered => "offered",
            DepositState::Credited => "credited",
            DepositState::UnknownAccount => "unknown_account",
            DepositState::Cancelled => "cancelled",
            DepositState::Unrecognized => "unrecognized",
        }
    }
}

impl FromStr for DepositState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DepositState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown deposit state {s:?}"))
    }
}

/// A deposit seen on the ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub id: DepositId,
    /// The memo; `None` when the transfer had none.
    pub account: Option<AccountId>,
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub sender: PartyId,
    pub state: DepositState,
    /// The offer, for multi-step deposits.
    pub transfer_instruction: Option<ContractId>,
    pub origin: Origin,
    /// Why it is [`DepositState::Unrecognized`], and what to judge it by again.
    pub held_back: Option<HeldBack>,
}

impl Deposit {
    /// The journal entry that credits this deposit to its account, booked by `origin`; `None`
    /// when it has no account (such deposits are never credited).
    pub fn credit(&self, origin: &Origin) -> Option<JournalEntry> {
        Some(JournalEntry {
            account: self.account.clone()?,
            instrument: self.instrument.clone(),
            amount: self.amount,
            cause: JournalCause::Deposit(self.id.clone()),
            origin: Some(origin.clone()),
        })
    }
}

/// Why a customer balance changed. Each cause is booked at most once.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JournalCause {
    Deposit(DepositId),
    WithdrawalReserve(WithdrawalId),
    WithdrawalRefund(WithdrawalId),
    WithdrawalFee(WithdrawalId),
    /// A manual or recovery correction; the string must be unique per correction.
    Adjustment(String),
}

impl JournalCause {
    /// The stable name of the kind of cause, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            JournalCause::Deposit(_) => "deposit",
            JournalCause::WithdrawalReserve(_) => "withdrawal_reserve",
            JournalCause::WithdrawalRefund(_) => "withdrawal_refund",
            JournalCause::WithdrawalFee(_) => "withdrawal_fee",
            JournalCause::Adjustment(_) => "adjustment",
        }
    }

    /// The id of what caused it.
    pub fn reference(&self) -> &str {
        match self {
            JournalCause::Deposit(id) => id.as_str(),
            JournalCause::WithdrawalReserve(id)
            | JournalCause::WithdrawalRefund(id)
            | JournalCause::WithdrawalFee(id) => id.as_str(),
            JournalCause::Adjustment(note) => note,
        }
    }

    /// The inverse of [`kind`](Self::kind) and [`reference`](Self::reference).
    pub fn from_parts(kind: &str, reference: &str) -> Option<JournalCause> {
        let withdrawal = || WithdrawalId::new(reference);
        Some(match kind {
            "deposit" => JournalCause::Deposit(DepositId::new(reference)?),
            "withdrawal_reserve" => JournalCause::WithdrawalReserve(withdrawal()?),
            "withdrawal_refund" => JournalCause::WithdrawalRefund(withdrawal()?),
            "withdrawal_fee" => JournalCause::WithdrawalFee(withdrawal()?),
            "adjustment" => JournalCause::Adjustment(reference.to_owned()),
            _ => return None,
        })
    }
}

/// One credit (positive amount) or debit (negative) of a customer account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    pub account: AccountId,
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub cause: JournalCause,
    /// The ledger update behind it, if any.
    pub origin: Option<Origin>,
}

/// Whether the treasury receives or sends.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Incoming,
    Outgoing,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Incoming => "incoming",
            Direction::Outgoing => "outgoing",
        }
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "incoming" => Ok(Direction::Incoming),
            "outgoing" => Ok(Direction::Outgoing),
            _ => Err(format!("unknown direction {s:?}")),
        }
    }
}

/// The state of a token-standard `TransferInstruction` (a transfer offer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum InstructionState {
    Pending,
    Accepted,
    Rejected,
    Withdrawn,
    /// The registry failed it (e.g. a check of the token admin).
    Failed,
    /// It passed its `executeBefore` unanswered.
    Expired,
}

impl InstructionState {
    pub const ALL: [InstructionState; 6] = [
        InstructionState::Pending,
        InstructionState::Accepted,
        InstructionState::Rejected,
        InstructionState::Withdrawn,
        InstructionState::Failed,
        InstructionState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InstructionState::Pending => "pending",
            InstructionState::Accepted => "accepted",
            InstructionState::Rejected => "rejected",
            InstructionState::Withdrawn => "withdrawn",
            InstructionState::Failed => "failed",
            InstructionState::Expired => "expired",
        }
    }
}

impl FromStr for InstructionState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        InstructionState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown transfer instruction state {s:?}"))
    }
}

/// A transfer offer to or from the treasury, in the state `origin` left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferInstruction {
    pub contract_id: ContractId,
    pub direction: Direction,
    pub sender: PartyId,
    pub receiver: PartyId,
    pub instrument: InstrumentId,
    pub amount: Amount,
    /// The `reason` memo: a deposit account or a withdrawal id.
    pub reason: Option<String>,
    pub state: InstructionState,
    pub origin: Origin,
    /// When it can no longer be accepted, on its synchronizer's record time (`None` when
    /// recorded before this was kept).
    pub expiry: Option<OfferExpiry>,
    /// The standard the offer was read from: V2 for a V2-only token's instruction (a
    /// `TransferInstructionV2` view and no V1 one), which must be accepted through V2's
    /// interface; V1 otherwise.
    pub read_from: crate::parser::Standard,
}

/// An offer's `executeBefore` and the synchronizer whose record time judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferExpiry {
    pub execute_before: Timestamp,
    pub synchronizer: SynchronizerId,
}

/// One change to the DB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A treasury holding appeared.
    HoldingCreated(Holding),
    /// A treasury holding was consumed.
    HoldingArchived {
        contract_id: ContractId,
        archived: Origin,
    },
    /// A deposit seen on the ledger. Recording it books nothing: a `Credited` one comes with
    /// its credit as an [`Effect::Journal`] (see [`Deposit::credit`]).
    DepositRecorded(Deposit),
    /// A recorded deposit moved on (see [`DepositState::can_transition`]). Entering `Credited`
    /// comes with the credit as an [`Effect::Journal`].
    DepositUpdated {
        id: DepositId,
        state: DepositState,
        origin: Origin,
        /// Entering [`DepositState::Unrecognized`]: why. Leaving it: `None`.
        held_back: Option<HeldBack>,
    },
    /// A held-back treasury holding turned out to be its issuer's (its token was onboarded):
    /// from now on counted and spendable.
    HoldingRecognized { contract_id: ContractId },
    /// A journal entry: deposit credits, withdrawal refunds and debits, fees, adjustments. The
    /// only way a balance changes in a change set.
    Journal(JournalEntry),
    /// A withdrawal moved on, as learned from the ledger (or decided by the automation). Moving
    /// it changes no balance and no holding: its refund and release are effects of their own.
    Withdrawal(WithdrawalTransition),
    /// The withdrawal reached a terminal state: the treasury holdings reserved for it are free
    /// again (the archived ones stay archived).
    HoldingsReleased { withdrawal: WithdrawalId },
    /// A withdrawal transfer whose id is unknown, re-created from on-chain data.
    WithdrawalRecovered(RecoveredWithdrawal),
    /// A transfer instruction was created or changed state (upsert by contract id).
    TransferInstruction(TransferInstruction),
    /// A transaction that could not be parsed, set aside whole (the operator chose quarantine
    /// over stopping). It is ingested (the skip rule passes over it), but nothing of it is
    /// applied until it is released.
    Quarantined(QuarantinedUpdate),
    /// A quarantined transaction was parsed and folded after all; its effects come with this.
    QuarantineReleased { update_id: UpdateId },
    /// A possibly-own holding the DB does not know was archived, while a transaction is held in
    /// quarantine (it may have created it): kept so that its release mirrors it as spent.
    UnmatchedArchive {
        contract_id: ContractId,
        archived: Origin,
    },
    /// A token standard V2 event about the treasury's account that failed the trust checks:
    /// not credited and, since anyone can log one naming any admin, never a reason to stop;
    /// kept so that operators see it (`status`).
    UntrustedEvent(UntrustedEvent),
}

/// See [`Effect::UntrustedEvent`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UntrustedEvent {
    pub origin: Origin,
    pub node_id: i32,
    /// Why it is not trusted (the admin it names included).
    pub reason: String,
}

/// A transaction ingestion could not parse, kept whole for a later attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedUpdate {
    pub update: IngestedUpdate,
    /// Why it could not be parsed.
    pub error: String,
    /// The transaction as the node sent it (JSON), to parse again once the cause is fixed.
    pub raw_json: String,
}

/// A batch of effects, plus the transactions they came from and the record times seen.
#[must_use = "a change set does nothing until it is committed"]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Transactions this batch ingested; each update id may be ingested only once.
    pub ingested: Vec<IngestedUpdate>,
    /// The latest record time seen per synchronizer (from transactions or offset checkpoints).
    pub record_times: BTreeMap<SynchronizerId, Timestamp>,
    /// In application order.
    pub effects: Vec<Effect>,
}

impl ChangeSet {
    /// Nothing to write (the checkpoint may still move).
    pub fn is_empty(&self) -> bool {
        self.ingested.is_empty() && self.record_times.is_empty() && self.effects.is_empty()
    }

    /// Appends `later`: the result applies `self`, then `later`.
    pub fn merge(&mut self, later: ChangeSet) {
        for update in later.ingested {
            self.ingest(update);
        }
        for (synchronizer, time) in later.record_times {
            self.observe_record_time(synchronizer, time);
        }
        self.effects.extend(later.effects);
    }

    pub fn push(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// Marks a transaction as ingested and advances its synchronizer's record time.
    pub fn ingest(&mut self, update: IngestedUpdate) {
        self.observe_record_time(update.synchronizer_id.clone(), update.record_time);
        self.ingested.push(update);
    }

    /// Keeps the later of the known and the given record time of `synchronizer`.
    pub fn observe_record_time(&mut self, synchronizer: SynchronizerId, time: Timestamp) {
        let entry = self.record_times.entry(synchronizer).or_insert(time);
        *entry = (*entry).max(time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(id: &str, offset: i64, micros: i64, sync: &str) -> IngestedUpdate {
        IngestedUpdate {
            update_id: UpdateId::new(id).unwrap(),
            offset: Offset::new(offset).unwrap(),
            record_time: Timestamp::from_micros(micros).unwrap(),
            synchronizer_id: SynchronizerId::new(sync).unwrap(),
        }
    }

    fn archived(cid: &str, u: &IngestedUpdate) -> Effect {
        Effect::HoldingArchived {
            contract_id: ContractId::new(cid).unwrap(),
            archived: u.origin(),
        }
    }

    fn batch(u: IngestedUpdate, cid: &str) -> ChangeSet {
        let mut c = ChangeSet::default();
        c.push(archived(cid, &u));
        c.ingest(u);
        c
    }

    #[test]
    fn default_is_empty_and_the_identity_of_merge() {
        let a = batch(update("u1", 1, 10, "s"), "c1");
        assert!(ChangeSet::default().is_empty());
        assert!(!a.is_empty());
        let mut left = ChangeSet::default();
        left.merge(a.clone());
        assert_eq!(left, a);
        let mut right = a.clone();
        right.merge(ChangeSet::default());
        assert_eq!(right, a);
    }

    #[test]
    fn merge_keeps_order_and_is_associative() {
        let a = batch(update("u1", 1, 30, "s"), "c1");
        let b = batch(update("u2", 2, 20, "s"), "c2");
        let c = batch(update("u3", 3, 40, "t"), "c3");

        let mut ab_c = a.clone();
        ab_c.merge(b.clone());
        ab_c.merge(c.clone());
        let mut bc = b.clone();
        bc.merge(c.clone());
        let mut a_bc = a.clone();
        a_bc.merge(bc);
        assert_eq!(ab_c, a_bc);

        let ids: Vec<_> = ab_c.ingested.iter().map(|u| u.update_id.as_str()).collect();
        assert_eq!(ids, ["u1", "u2", "u3"]);
        assert_eq!(ab_c.effects.len(), 3);
        // Record times only move forward: u2's earlier time does not win.
        let s = SynchronizerId::new("s").unwrap();
        assert_eq!(ab_c.record_times[&s].micros(), 30);
    }

    #[test]
    fn journal_causes_round_trip() {
        let w = WithdrawalId::new("w1").unwrap();
        for cause in [
            JournalCause::Deposit(DepositId::new("d1").unwrap()),
            JournalCause::WithdrawalReserve(w.clone()),
            JournalCause::WithdrawalRefund(w.clone()),
            JournalCause::WithdrawalFee(w),
            JournalCause::Adjustment("fix-1".into()),
        ] {
            assert_eq!(
                JournalCause::from_parts(cause.kind(), cause.reference()),
                Some(cause)
            );
        }
    }
}
