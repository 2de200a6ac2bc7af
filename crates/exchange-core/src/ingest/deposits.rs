//! Deposits in the fold: what an incoming transfer does to the deposit it carries (credited,
//! offered, held back when its issuer does not stand behind it, cancelled). The expiry of
//! incoming offers that lapse without the ledger saying so is in [`super::expiry`].

use super::fold::Fold;
use crate::InstrumentId;
use crate::changeset::{AccountId, Deposit, DepositId, DepositState, Effect};
use crate::parser::Transfer;
use crate::parser::TransferStatus as Status;
use crate::tokens::HeldBack;

impl Fold<'_> {
    /// Whether the issuer stands behind an incoming transfer: judged by the treasury holdings
    /// of its instrument this transaction created (it arrived), or by its offer (pending).
    fn judge_deposit(
        &self,
        t: &Transfer,
        instrument: &InstrumentId,
        arrived: bool,
    ) -> Option<HeldBack> {
        let provenance = if arrived {
            self.tx
                .holdings_created
                .iter()
                .filter(|h| &h.instrument == instrument)
                .filter_map(|h| h.provenance.clone())
                .collect()
        } else {
            self.tx
                .instructions_created
                .iter()
                .filter(|i| Some(&i.contract_id) == t.transfer_instruction_cid.as_ref())
                .filter_map(|i| i.provenance.clone())
                .collect()
        };
        self.config.onboarded.judge_all(instrument, provenance)
    }

    /// Incoming: 1-step and accepted multi-step transfers of their issuer's holdings are
    /// credited to known accounts; offers are recorded; offers that end without funds are
    /// cancelled; what the issuer does not stand behind is recorded as unrecognized.
    pub(super) fn deposit(&mut self, t: &Transfer, id: DepositId) {
        let known = self.state.deposit(&id).map(|d| d.state);
        let account = t.reason.as_deref().and_then(AccountId::new);
        let account_known = account
            .as_ref()
            .is_some_and(|a| self.state.account_exists(a));
        let arrived = match t.status {
            Status::Completed | Status::Accepted => true,
            Status::Pending => false,
            Status::Rejected | Status::Withdrawn | Status::Failed | Status::Expired => {
                if let Some(
                    DepositState::Offered
                    | DepositState::UnknownAccount
                    | DepositState::Unrecognized,
                ) = known
                {
                    self.update_deposit(id, DepositState::Cancelled, None);
                }
                return;
            }
        };
        match known {
            Some(DepositState::Offered | DepositState::Unrecognized) if arrived => {
                self.arrived(t, id);
            }
            Some(DepositState::UnknownAccount) if arrived && t.status == Status::Accepted => {
                // We never accept offers to unknown accounts; someone did by hand. The funds are
                // in the treasury, the deposit stays for support to assign.
                self.anomaly(
                    Some(t.node_id),
                    format!("offer {id} to an unknown account was accepted; not credited"),
                );
            }
            Some(_) => {}
            None => {
                let (Some(sender), Some(instrument), Some(amount)) =
                    (&t.sender, &t.instrument, t.amount)
                else {
                    self.anomaly(
                        Some(t.node_id),
                        format!("incoming transfer {id} without sender, instrument or amount"),
                    );
                    return;
                };
                let held_back = self.judge_deposit(t, instrument, arrived);
                let state = match &held_back {
                    Some(why) => {
                        self.held_back(
                            Some(t.node_id),
                            format!("deposit {id} not credited: {}", why.reason),
                        );
                        DepositState::Unrecognized
                    }
                    None => DepositState::recognized(account_known, arrived),
                };
                let deposit = Deposit {
                    id,
                    account,
                    instrument: instrument.clone(),
                    amount,
                    sender: sender.clone(),
                    state,
                    transfer_instruction: t.transfer_instruction_cid.clone(),
                    origin: self.origin.clone(),
                    held_back,
                };
                let credit = (state == DepositState::Credited)
                    .then(|| deposit.credit(&self.origin))
                    .flatten();
                self.push(Effect::DepositRecorded(deposit));
                self.push_all(credit.map(Effect::Journal));
            }
        }
    }

    /// A recorded offer (or an unrecognized deposit's offer) was accepted: the holdings it
    /// brought decide whether it is credited.
    fn arrived(&mut self, t: &Transfer, id: DepositId) {
        let Some(deposit) = self.state.deposit(&id).cloned() else {
            return;
        };
        let held_back = self.judge_deposit(t, &deposit.instrument, true);
        let account_known = deposit
            .account
            .as_ref()
            .is_some_and(|a| self.state.account_exists(a));
        match (held_back, account_known) {
            (Some(why), _) => {
                self.held_back(
                    Some(t.node_id),
                    format!("deposit {id} not credited: {}", why.reason),
                );
                if deposit.state != DepositState::Unrecognized {
                    self.update_deposit(id, DepositState::Unrecognized, Some(why));
                }
            }
            (None, true) => {
                let credit = deposit.credit(&self.origin);
                self.update_deposit(id, DepositState::Credited, None);
                self.push_all(credit.map(Effect::Journal));
            }
            (None, false) => self.update_deposit(id, DepositState::UnknownAccount, None),
        }
    }

    fn update_deposit(&mut self, id: DepositId, state: DepositState, held_back: Option<HeldBack>) {
        self.push(Effect::DepositUpdated {
            id,
            state,
            origin: self.origin.clone(),
            held_back,
        });
    }
}
