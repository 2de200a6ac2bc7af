//! A transfer to another party: the entry point that picks direct, offer or self transfer, and
//! the plan of what it spends and creates.

use std::collections::BTreeSet;

use exchange_core::{Amount, Timestamp};

use crate::model::tree::parties;
use crate::model::{Create, Ledger, Node, SubmissionMeta, TxContext};
use crate::token::packages;
use crate::token::self_transfer::insufficient;

use super::{
    AmuletToken, ExpiredLock, Holding, Spent, TokenError, TransferOutcome, TransferRequest,
};

impl AmuletToken {
    /// A 1-step transfer through the receiver's preapproval, exactly the real tree:
    /// `TransferFactory_Transfer` → `TransferPreapproval_Send` → `AmuletRules_Transfer` →
    /// `Archive` of each input → receiver's Amulet → sender's change (if any).
    pub fn transfer(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
    ) -> Result<TransferOutcome, TokenError> {
        self.transfer_at(ledger, request, None)
    }

    /// [`AmuletToken::transfer`] with the submitter's `(requestedAt, executeBefore)` (a submitted
    /// `TransferFactory_Transfer` carries them); `None` derives them from the ledger time.
    /// Refused (as the factory refuses it) once `executeBefore` has passed.
    pub fn transfer_at(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        times: Option<(Timestamp, Timestamp)>,
    ) -> Result<TransferOutcome, TokenError> {
        self.transfer_through(ledger, request, times, None)
    }

    /// [`AmuletToken::transfer_at`] through V2's `TransferFactory_Transfer` (CIP-0112) with
    /// `actors`: Splice 0.6.11+ runs V1's body under it (`transferFactoryV2_transferDefaultImplUsingV1`),
    /// so the nodes below the root are V1's (`token::amulet::v2_api`). The actors must be
    /// the sender, or the sender and the receiver (`checkActors`), who then gets the amount at
    /// once, preapproval or not (the factory's self-transfer branch). Refused before 0.6.11:
    /// the factory implements no V2 interface.
    pub fn transfer_v2_at(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        times: Option<(Timestamp, Timestamp)>,
        actors: &[String],
    ) -> Result<TransferOutcome, TokenError> {
        if !self.has_v2_events() {
            return Err(TokenError::Interpretation(format!(
                "Contract {} (template {}) does not implement interface {}",
                self.external_party_rules,
                packages::external_party_amulet_rules_template(),
                packages::transfer_factory_v2_interface()
            )));
        }
        let actor_set: BTreeSet<&str> = actors.iter().map(String::as_str).collect();
        let sender_only = BTreeSet::from([request.sender.as_str()]);
        let with_receiver = BTreeSet::from([request.sender.as_str(), request.receiver.as_str()]);
        if actor_set != sender_only && actor_set != with_receiver {
            return Err(TokenError::Interpretation(format!(
                "checkActors: actors {actors:?} are neither [sender] nor [sender, receiver]"
            )));
        }
        self.transfer_through(ledger, request, times, Some(actors))
    }

    /// The transfer, exercised through V1's factory interface or (with `v2_actors`) V2's.
    fn transfer_through(
        &self,
        ledger: &mut Ledger,
        request: &TransferRequest,
        times: Option<(Timestamp, Timestamp)>,
        v2_actors: Option<&[String]>,
    ) -> Result<TransferOutcome, TokenError> {
        let inputs = match &request.inputs {
            Some(given) => given.clone(),
            None => self.select_inputs(ledger, &request.sender, request.amount),
        };
        let receiver_acts = v2_actors.is_some_and(|a| a.contains(&request.receiver));
        if request.sender == request.receiver || receiver_acts {
            // Scan never puts a preapproval in a self transfer's context, so the factory takes
            // its self branch even when the sender has one (`transferKind: "self"`); V2 takes
            // it whenever the receiver is among the actors.
            return self.self_transfer_at(ledger, request, &inputs, times, v2_actors);
        }
        let Some(preapproval) = self.preapproval_of(ledger, &request.receiver) else {
            // No preapproval: the factory locks the amount and leaves an offer.
            return self.offer_at(ledger, request, &inputs, times, v2_actors);
        };
        let mut outcome = (Vec::new(), Vec::new());
        let tx = ledger.transact::<TokenError>(
            SubmissionMeta {
                command_id: request.command_id.clone(),
                act_as: parties([request.sender.as_str()]),
                record_time: None,
                synchronizer: self.config.synchronizer,
            },
            |ctx| {
                let expired = times.map(|(_, before)| before).filter(|b| *b <= ctx.let_time);
                if let Some(execute_before) = expired {
                    return Err(TokenError::Interpretation(format!(
                        "TransferFactory_Transfer: executeBefore {execute_before} is not after the ledger time {}",
                        ctx.let_time
                    )));
                }
                let plan = self.plan_transfer(ctx, request, &inputs)?;
                outcome = (
                    vec![plan.receiver_amulet.contract_id.clone()],
                    plan.change.iter().map(|c| c.contract_id.clone()).collect(),
                );
                let tree = if self.has_v2_events() {
                    self.transfer_tree_v2(ctx, request, &preapproval, plan, times)
                } else {
                    self.transfer_tree(ctx, request, &preapproval, plan, times)
                };
                Ok(vec![Node::Exercise(self.through_factory(tree, request, v2_actors))])
            },
        )?;
        Ok(TransferOutcome::completed(tx, outcome))
    }

    /// Checks the transfer as `amulet_transferFactory_transferImpl` and `AmuletRules_Transfer`
    /// would, and creates the outputs.
    fn plan_transfer(
        &self,
        ctx: &mut TxContext<'_>,
        request: &TransferRequest,
        inputs: &[String],
    ) -> Result<TransferPlan, TokenError> {
        if !request.amount.is_positive() {
            return Err(TokenError::Interpretation(format!(
                "Amount must be positive: {}",
                request.amount
            )));
        }
        // Self transfers never get here: `transfer_at` takes the self branch first.
        debug_assert_ne!(request.sender, request.receiver);
        let Spent {
            holdings,
            total,
            expired_locks,
        } = self.spend(ctx, &request.sender, inputs)?;
        let change = total
            .checked_sub(request.amount)
            .map_err(|e| TokenError::InvalidArgument(e.to_string()))?;
        if change.is_negative() {
            return Err(TokenError::Interpretation(format!(
                "InvalidTransfer: ITR_InsufficientFunds: missingAmount = {}",
                -change
            )));
        }
        let receiver_amulet = self.new_amulet(ctx, &request.receiver, request.amount);
        let change = change
            .is_positive()
            .then(|| self.new_amulet(ctx, &request.sender, change));
        Ok(TransferPlan {
            inputs: holdings,
            total,
            receiver_amulet,
            change,
            expired_locks,
        })
    }

    /// The plan of a transfer that the factory keeps on the sender's side (a self transfer, or
    /// the lock of an offer): `inputs` of `sender` spent, `output` created for `amount`, the
    /// rest back to the sender as change; refused if the inputs fall short.
    pub(in crate::token) fn plan_sender_side(
        &self,
        ctx: &mut TxContext<'_>,
        sender: &str,
        inputs: &[String],
        amount: Amount,
        output: impl FnOnce(&mut TxContext<'_>) -> Create,
    ) -> Result<TransferPlan, TokenError> {
        let Spent {
            holdings,
            total,
            expired_locks,
        } = self.spend(ctx, sender, inputs)?;
        let change = total.checked_sub(amount).unwrap_or(Amount::MIN);
        if change.is_negative() {
            return Err(insufficient(-change));
        }
        let receiver_amulet = output(ctx);
        let change = change
            .is_positive()
            .then(|| self.new_amulet(ctx, sender, change));
        Ok(TransferPlan {
            inputs: holdings,
            total,
            receiver_amulet,
            change,
            expired_locks,
        })
    }
}

/// What `AmuletRules_Transfer` spends and creates; `receiver_amulet` is the one output (an
/// `Amulet`, or the `LockedAmulet` of an offer).
pub(in crate::token) struct TransferPlan {
    pub(in crate::token) inputs: Vec<Holding>,
    pub(in crate::token) total: Amount,
    pub(in crate::token) receiver_amulet: Create,
    pub(in crate::token) change: Option<Create>,
    /// Inputs that were expired LockedAmulets, unlocked on the fly (their Amulets are in
    /// `inputs`).
    pub(in crate::token) expired_locks: Vec<ExpiredLock>,
}

impl TransferPlan {
    /// The inputs as the submitter named them (an expired LockedAmulet, not the Amulet it
    /// became).
    pub(in crate::token) fn submitted_inputs(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|h| {
                self.expired_locks
                    .iter()
                    .find(|e| e.unlocked.contract_id == h.contract_id)
                    .map_or_else(|| h.contract_id.clone(), |e| e.locked_cid.clone())
            })
            .collect()
    }

    pub(in crate::token) fn total_minus(&self, amount: Amount) -> Amount {
        self.total.checked_sub(amount).unwrap_or(Amount::ZERO)
    }
}
