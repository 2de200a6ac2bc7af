//! What the fold reads: [`IngestState`], the narrow view of the Integration DB, and [`Known`],
//! the part of it a batch touches, loaded up front.
//!
//! # Invariants
//! - [`Known::absorb`] leaves `Known` as the store leaves the DB after writing the same change
//!   set, so later transactions of a batch (and a batch prepared while the one before it is
//!   still being committed) see what earlier ones did, whether or not it is written yet.

use std::collections::{HashMap, HashSet};

use crate::changeset::{
    AccountId, ChangeSet, Deposit, DepositId, Effect, Holding, JournalCause, TransferInstruction,
};
use crate::withdrawal::{WithdrawalId, WithdrawalPurpose, WithdrawalState};
use crate::{Amount, ContractId, InstrumentId, SynchronizerId, Timestamp, UpdateId};

/// A treasury holding as the DB has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownHolding {
    pub holding: Holding,
    pub archived: bool,
}

/// What the fold needs to know about a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownWithdrawal {
    pub state: WithdrawalState,
    /// What it pays out, and so what a refund gives back.
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub trec_tgt: Option<Timestamp>,
    /// The synchronizer whose record time `trec_tgt` bounds, if known.
    pub synchronizer: Option<SynchronizerId>,
    /// The account whose journal was debited for it (the customer's, or for a recovered
    /// withdrawal the one ingestion debited), so a refund goes back there.
    pub debited: Option<AccountId>,
    /// The ledger update behind its latest transition: a transfer seen again changes nothing.
    pub last_update: Option<UpdateId>,
    /// The transfer offer that carries it (multi-step), once one was seen: an offer with the
    /// same memo but another contract id is a second transfer.
    pub transfer_instruction: Option<ContractId>,
    /// A pool transfer is completed by the treasury's self-transfer with its memo; a transfer
    /// with its memo that leaves the treasury is not its own.
    pub purpose: WithdrawalPurpose,
    /// The latest `executeBefore` its transfer was signed with. An offer still pending once the
    /// ingested record time has passed it can no longer be accepted (the instrument refuses
    /// from `executeBefore` on, and the lock on the treasury's funds lapses then): it failed.
    pub offer_expires: Option<Timestamp>,
}

/// Read access to the Integration DB, as narrow as the fold needs.
pub trait IngestState {
    fn holding(&self, contract_id: &str) -> Option<&KnownHolding>;
    fn instruction(&self, contract_id: &str) -> Option<&TransferInstruction>;
    fn account_exists(&self, account: &AccountId) -> bool;
    fn deposit(&self, id: &DepositId) -> Option<&Deposit>;
    fn withdrawal(&self, id: &WithdrawalId) -> Option<&KnownWithdrawal>;
    fn record_time(&self, synchronizer: &SynchronizerId) -> Option<Timestamp>;
    fn is_ingested(&self, update_id: &str) -> bool;
    /// Whether a transaction is held in quarantine (see [`Effect::UnmatchedArchive`]).
    fn quarantine_held(&self) -> bool;
}

/// The part of the DB a batch touches, loaded up front, plus what the batch changed so far.
#[derive(Clone, Debug, Default)]
pub struct Known {
    pub holdings: HashMap<ContractId, KnownHolding>,
    pub instructions: HashMap<ContractId, TransferInstruction>,
    pub accounts: HashSet<AccountId>,
    pub deposits: HashMap<DepositId, Deposit>,
    pub withdrawals: HashMap<WithdrawalId, KnownWithdrawal>,
    pub record_times: HashMap<SynchronizerId, Timestamp>,
    pub ingested: HashSet<UpdateId>,
    /// A transaction is held in quarantine.
    pub quarantine_held: bool,
}

impl IngestState for Known {
    fn holding(&self, contract_id: &str) -> Option<&KnownHolding> {
        self.holdings.get(contract_id)
    }
    fn instruction(&self, contract_id: &str) -> Option<&TransferInstruction> {
        self.instructions.get(contract_id)
    }
    fn account_exists(&self, account: &AccountId) -> bool {
        self.accounts.contains(account)
    }
    fn deposit(&self, id: &DepositId) -> Option<&Deposit> {
        self.deposits.get(id)
    }
    fn withdrawal(&self, id: &WithdrawalId) -> Option<&KnownWithdrawal> {
        self.withdrawals.get(id)
    }
    fn record_time(&self, synchronizer: &SynchronizerId) -> Option<Timestamp> {
        self.record_times.get(synchronizer).copied()
    }
    fn is_ingested(&self, update_id: &str) -> bool {
        self.ingested.contains(update_id)
    }
    fn quarantine_held(&self) -> bool {
        self.quarantine_held
    }
}

impl Known {
    /// Takes in a change set as the store will write it, so that the rest of a batch sees it.
    pub fn absorb(&mut self, changes: &ChangeSet) {
        for update in &changes.ingested {
            self.ingested.insert(update.update_id.clone());
        }
        for (synchronizer, time) in &changes.record_times {
            let entry = self
                .record_times
                .entry(synchronizer.clone())
                .or_insert(*time);
            *entry = (*entry).max(*time);
        }
        for effect in &changes.effects {
            self.absorb_effect(effect);
        }
    }

    /// One effect, as the store writes it.
    fn absorb_effect(&mut self, effect: &Effect) {
        match effect {
            Effect::HoldingCreated(h) => {
                self.holdings.insert(
                    h.contract_id.clone(),
                    KnownHolding {
                        holding: h.clone(),
                        archived: false,
                    },
                );
            }
            Effect::HoldingArchived { contract_id, .. } => {
                if let Some(h) = self.holdings.get_mut(contract_id) {
                    h.archived = true;
                }
            }
            Effect::DepositRecorded(d) => {
                self.deposits.insert(d.id.clone(), d.clone());
            }
            Effect::DepositUpdated {
                id,
                state,
                held_back,
                ..
            } => {
                if let Some(d) = self.deposits.get_mut(id) {
                    d.state = *state;
                    d.held_back = held_back.clone();
                }
            }
            Effect::HoldingRecognized { contract_id } => {
                if let Some(h) = self.holdings.get_mut(contract_id) {
                    h.holding.held_back = None;
                }
            }
            Effect::Journal(entry) => {
                if let JournalCause::WithdrawalReserve(id) = &entry.cause
                    && let Some(w) = self.withdrawals.get_mut(id)
                {
                    w.debited = Some(entry.account.clone());
                }
            }
            Effect::Withdrawal(t) => {
                if let Some(w) = self.withdrawals.get_mut(&t.id) {
                    w.state = t.to;
                    if let Some(origin) = &t.origin {
                        w.last_update = Some(origin.update_id.clone());
                    }
                    if t.transfer_instruction.is_some() {
                        w.transfer_instruction = t.transfer_instruction.clone();
                    }
                }
            }
            Effect::WithdrawalRecovered(r) => {
                self.withdrawals
                    .entry(r.id.clone())
                    .or_insert(KnownWithdrawal {
                        state: WithdrawalState::Recovered,
                        instrument: r.instrument.clone(),
                        amount: r.amount,
                        trec_tgt: None,
                        synchronizer: r.offer_expiry.as_ref().map(|e| e.synchronizer.clone()),
                        debited: None,
                        last_update: Some(r.origin.update_id.clone()),
                        transfer_instruction: r.transfer_instruction.clone(),
                        purpose: WithdrawalPurpose::Customer,
                        offer_expires: r.offer_expiry.as_ref().map(|e| e.execute_before),
                    });
            }
            Effect::TransferInstruction(i) => {
                self.instructions.insert(i.contract_id.clone(), i.clone());
            }
            Effect::Quarantined(_) => self.quarantine_held = true,
            // Whether others are still held is the DB's to say at the next load; holding
            // reservations are not part of what the fold reads.
            Effect::QuarantineReleased { .. }
            | Effect::UnmatchedArchive { .. }
            | Effect::UntrustedEvent(_)
            | Effect::HoldingsReleased { .. } => {}
        }
    }
}
