//! Withdrawals in the fold: what an outgoing transfer (or a self-transfer completing a pool
//! transfer) does to the withdrawal its memo names: moved along its state machine, recovered
//! from on-chain data when the DB does not know it, or booked as a second payment.

use super::fold::Fold;
use super::ids::{pool_transfer_id, withdrawal_id};
use super::known::KnownWithdrawal;
use super::transition::transition_effects;
use crate::changeset::{AccountId, Effect, JournalCause, JournalEntry};
use crate::parser::Transfer;
use crate::parser::TransferKind;
use crate::parser::TransferStatus as Status;
use crate::withdrawal::{
    RecoveredWithdrawal, WithdrawalId, WithdrawalPurpose, WithdrawalState, WithdrawalTransition,
};

impl Fold<'_> {
    /// The treasury moved its own holdings. If the memo names a known pool transfer of the
    /// instrument, this is its outcome: the same transitions as a withdrawal's, with no journal
    /// (there is no account). Any other self-transfer only changes holdings, mirrored already.
    pub(super) fn pool_transfer(&mut self, t: &Transfer) {
        // An unlock is the registry's, whatever its memo says.
        let Some(id) = pool_transfer_id(t).filter(|_| t.kind != TransferKind::Unlock) else {
            return;
        };
        let Some(known) = self.state.withdrawal(&id) else {
            return;
        };
        if known.purpose != WithdrawalPurpose::Pool
            || t.instrument.as_ref() != Some(&known.instrument)
            || known.last_update.as_ref() == Some(&self.tx.update_id)
        {
            return;
        }
        let (to, why) = outcome(t.status);
        // A second self-transfer with the memo moves nothing out of the treasury: no booking.
        if known.state == to || !is_own_transfer(known, t) {
            return;
        }
        self.settle(t, "pool transfer", id, known, (to, why));
    }

    /// Outgoing: moves the withdrawal named by the memo; re-creates it if the DB lost it.
    pub(super) fn withdrawal(&mut self, t: &Transfer) {
        let id = withdrawal_id(self.tx, t);
        let (to, why) = outcome(t.status);
        let Some(known) = self.state.withdrawal(&id) else {
            if to != WithdrawalState::Failed {
                self.recover(t, id, None);
            }
            return;
        };
        let from = known.state;
        if known.last_update.as_ref() == Some(&self.tx.update_id) {
            return;
        }
        // A pool transfer pays the treasury: funds leaving it under its memo are not its own.
        if known.purpose == WithdrawalPurpose::Pool || !is_own_transfer(known, t) {
            self.second_transfer(t, id, known);
            return;
        }
        if from == to
            || (from == WithdrawalState::Recovered && to == WithdrawalState::PendingAcceptance)
        {
            return;
        }
        self.settle(t, "withdrawal", id, known, (to, why));
    }

    /// Moves `known` (a `what`, named `id`) to the state the ledger shows, with the effects core
    /// decides for it; a step its state machine does not allow is an anomaly, not a change.
    fn settle(
        &mut self,
        t: &Transfer,
        what: &str,
        id: WithdrawalId,
        known: &KnownWithdrawal,
        (to, why): (WithdrawalState, Option<&str>),
    ) {
        let from = known.state;
        if !from.can_transition(to) {
            self.anomaly(
                Some(t.node_id),
                format!("{what} {id} is {from}, but the ledger shows it {to}"),
            );
            return;
        }
        let transition = WithdrawalTransition {
            id,
            to,
            reason: why.map(str::to_owned),
            origin: Some(self.origin.clone()),
            transfer_instruction: t.transfer_instruction_cid.clone(),
        };
        // Checked above: the transition is valid, so this always has its effects.
        if let Ok(effects) = transition_effects(known, transition) {
            self.push_all(effects);
        }
    }

    /// Another transfer with the memo of a withdrawal that already has its own (a replayed
    /// command, a bug, a compromised automation). Paid out, it is booked as what it is: an
    /// outflow of its own, a recovered withdrawal naming the one it repeats, debited to the
    /// suspense account (never the customer, who was debited once), so the books still show
    /// everything that left. A second offer only locks funds: reported, booked when accepted.
    fn second_transfer(&mut self, t: &Transfer, id: WithdrawalId, known: &KnownWithdrawal) {
        let what = match (&t.transfer_instruction_cid, t.status) {
            (Some(cid), Status::Pending) => format!("a second offer {cid}"),
            (_, Status::Completed | Status::Accepted) => "a second payment".to_owned(),
            // A second offer's end without funds moving: nothing left the treasury.
            _ => return,
        };
        let paid = matches!(t.status, Status::Completed | Status::Accepted);
        let dup = WithdrawalId::new(format!("{id}#repeat:{}:{}", self.tx.update_id, t.node_id))
            .expect("non-empty");
        let booked = if paid {
            format!(
                "; booked as overpayment {dup} against {}",
                self.config.suspense_account
            )
        } else {
            String::new()
        };
        self.anomaly(
            Some(t.node_id),
            format!(
                "withdrawal {id} ({}) has {what}: {} {} to {}{booked}",
                known.state,
                t.amount.map_or("?".to_owned(), |a| a.to_string()),
                t.instrument
                    .as_ref()
                    .map_or("?".to_owned(), |i| i.to_string()),
                t.receiver.as_ref().map_or("?", |r| r.as_str()),
            ),
        );
        if paid && self.state.withdrawal(&dup).is_none() {
            self.recover(t, dup, Some(id));
        }
    }

    /// A withdrawal transfer the DB does not know: recorded from on-chain data and debited
    /// (the customer's account if the transfer names it, else the suspense account), so the
    /// funds cannot be withdrawn a second time unnoticed. `duplicate_of`: a second payment of
    /// that withdrawal, always debited to suspense.
    fn recover(&mut self, t: &Transfer, id: WithdrawalId, duplicate_of: Option<WithdrawalId>) {
        let (Some(receiver), Some(instrument), Some(amount)) =
            (&t.receiver, &t.instrument, t.amount)
        else {
            self.anomaly(
                Some(t.node_id),
                format!("unknown withdrawal {id} without receiver, instrument or amount"),
            );
            return;
        };
        // A second payment is never the customer's to bear, whatever its memo says.
        let named = duplicate_of
            .is_none()
            .then(|| self.named_account(t, &id))
            .flatten();
        let account = named
            .clone()
            .unwrap_or_else(|| self.config.suspense_account.clone());
        self.push(Effect::WithdrawalRecovered(RecoveredWithdrawal {
            id: id.clone(),
            account: named,
            instrument: instrument.clone(),
            amount,
            receiver: receiver.clone(),
            origin: self.origin.clone(),
            transfer_instruction: t.transfer_instruction_cid.clone(),
            duplicate_of,
            // Only a pending offer can still expire; a completed transfer has no deadline left.
            offer_expiry: t
                .transfer_instruction_cid
                .as_ref()
                .filter(|_| t.status == Status::Pending)
                .and_then(|cid| self.offer_expiry(cid)),
        }));
        self.push(Effect::Journal(JournalEntry {
            account,
            instrument: instrument.clone(),
            amount: -amount,
            cause: JournalCause::WithdrawalReserve(id),
            origin: Some(self.origin.clone()),
        }));
    }

    /// The existing customer account a recovered withdrawal names: in its sealed memo (opened
    /// with the exchange's key), or in the plain metadata entry when that option is on.
    fn named_account(&self, t: &Transfer, id: &WithdrawalId) -> Option<AccountId> {
        let sealed = self
            .config
            .memo_key
            .as_ref()
            .and_then(|key| crate::memo::unseal(key, &self.config.treasury, id))
            .map(|sealed| sealed.account);
        let in_meta = || {
            self.config
                .account_meta_key
                .as_ref()
                .and_then(|key| t.meta.get(key))
                .and_then(|a| AccountId::new(a.as_str()))
        };
        let usable =
            |a: &AccountId| self.state.account_exists(a) && *a != self.config.suspense_account;
        sealed.filter(usable).or_else(|| in_meta().filter(usable))
    }
}

/// Where a transfer with this status leaves its withdrawal, and why, for people.
fn outcome(status: Status) -> (WithdrawalState, Option<&'static str>) {
    match status {
        Status::Completed | Status::Accepted => (WithdrawalState::Completed, None),
        Status::Pending => (WithdrawalState::PendingAcceptance, None),
        Status::Rejected => (WithdrawalState::Failed, Some("rejected by the receiver")),
        Status::Withdrawn => (WithdrawalState::Failed, Some("offer withdrawn")),
        Status::Failed => (WithdrawalState::Failed, Some("transfer failed")),
        Status::Expired => (WithdrawalState::Failed, Some("offer expired")),
    }
}

/// Whether an outgoing transfer with a known withdrawal's memo is that withdrawal's own: the
/// offer it is known by (or its fate), or, while no transfer of it has been seen, the first.
fn is_own_transfer(known: &KnownWithdrawal, t: &Transfer) -> bool {
    match (&t.transfer_instruction_cid, &known.transfer_instruction) {
        (Some(seen), Some(own)) => seen == own,
        // Pending acceptance without a stored offer: a row written before offers were kept.
        (_, None) => matches!(
            known.state,
            WithdrawalState::Requested
                | WithdrawalState::Submitted
                | WithdrawalState::PendingAcceptance
        ),
        (None, Some(_)) => false,
    }
}
