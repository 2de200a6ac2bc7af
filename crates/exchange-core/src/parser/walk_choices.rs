//! What each recognised V1 exercise means: transfer-factory choices, transfer-instruction
//! choices and choices labelled with a `tx-kind`.

use std::collections::BTreeMap;

use canton_ledger::ExercisedEvent;

use super::walk::Walk;
use super::{Direction, NodeError, Standard, Transfer, TransferKind, TransferStatus};
use crate::token_standard::{self as ts, ChoiceOutput, ChoiceResult, META_SENDER, TransferSpec};
use crate::token_standard_v2 as ts2;
use crate::{Amount, ContractId, InstrumentId, PartyId};

impl Walk<'_, '_> {
    pub(super) fn factory_transfer(
        &mut self,
        index: usize,
        x: &ExercisedEvent,
        spec: TransferSpec,
        result: &ChoiceResult,
    ) -> Result<bool, NodeError> {
        let (status, instruction_cid) = match &result.output {
            Some(ChoiceOutput::Completed) => (TransferStatus::Completed, None),
            Some(ChoiceOutput::Pending { instruction_cid }) => {
                (TransferStatus::Pending, Some(instruction_cid.clone()))
            }
            Some(ChoiceOutput::Failed) => (TransferStatus::Failed, None),
            None => {
                return Err((
                    x.node_id,
                    format!("{} without a TransferInstructionResult output", x.choice),
                ));
            }
        };
        if &spec.sender == self.party {
            let inputs = spec.input_holding_cids.iter().cloned();
            self.party_inputs
                .extend(inputs.map(|c| (c, spec.instrument.clone())));
        }
        let to_party = &spec.receiver == self.party;
        let direction = match (&spec.sender == self.party, to_party) {
            (true, true) => Direction::SelfTransfer,
            (true, false) => Direction::Out,
            (false, true) => Direction::In,
            // The party only witnesses someone else's transfer: not explained by it.
            (false, false) => return Ok(false),
        };
        let base = Transfer {
            node_id: x.node_id,
            choice: x.choice.clone(),
            kind: if direction == Direction::SelfTransfer {
                TransferKind::MergeSplit
            } else {
                TransferKind::Transfer
            },
            direction,
            sender: Some(spec.sender.clone()),
            receiver: Some(spec.receiver.clone()),
            instrument: Some(spec.instrument.clone()),
            amount: Some(spec.amount),
            reason: self.reason(spec.reason.as_deref(), result),
            status,
            transfer_instruction_cid: instruction_cid,
            meta: spec.meta.clone(),
            read_from: Standard::V1,
            v2_leg: None,
        };
        if direction == Direction::In && status == TransferStatus::Completed {
            // Credit what actually arrived.
            self.push_received(index, base)?;
        } else {
            self.out.transfers.push(base);
        }
        Ok(true)
    }

    /// Pushes one incoming transfer per instrument the party's holdings gained in the subtree,
    /// or `base` as it is if they gained nothing visible.
    fn push_received(&mut self, index: usize, base: Transfer) -> Result<(), NodeError> {
        let gained: Vec<_> = self
            .subtree(index)?
            .party_net
            .into_iter()
            .filter(|(_, a)| a.is_positive())
            .collect();
        if gained.is_empty() {
            self.out.transfers.push(base);
            return Ok(());
        }
        for (instrument, amount) in gained {
            self.out.transfers.push(Transfer {
                instrument: Some(instrument),
                amount: Some(amount),
                ..base.clone()
            });
        }
        Ok(())
    }

    pub(super) fn instruction_choice(
        &mut self,
        index: usize,
        x: &ExercisedEvent,
        result: &ChoiceResult,
    ) -> Result<bool, NodeError> {
        let by_party = x.acting_parties.iter().any(|p| p == self.party.as_str());
        let status = match (x.choice.as_str(), &result.output) {
            ("TransferInstruction_Reject", _) => TransferStatus::Rejected,
            ("TransferInstruction_Withdraw", _) => TransferStatus::Withdrawn,
            (_, Some(ChoiceOutput::Completed)) => TransferStatus::Accepted,
            (_, Some(ChoiceOutput::Pending { .. })) => TransferStatus::Pending,
            (_, Some(ChoiceOutput::Failed)) => TransferStatus::Failed,
            (_, None) => {
                return Err((
                    x.node_id,
                    format!("{} without a TransferInstructionResult output", x.choice),
                ));
            }
        };
        let instruction = self.instruction(&x.contract_id);
        let direction = match &instruction {
            Some(i) if &i.transfer.sender == self.party && &i.transfer.receiver == self.party => {
                Direction::SelfTransfer
            }
            Some(i) if &i.transfer.sender == self.party => Direction::Out,
            Some(i) if &i.transfer.receiver == self.party => Direction::In,
            Some(_) => return Ok(false),
            // Unknown instruction: the receiver accepts and rejects, the sender withdraws.
            None => match (x.choice.as_str(), by_party) {
                ("TransferInstruction_Accept" | "TransferInstruction_Reject", true) => {
                    Direction::In
                }
                ("TransferInstruction_Withdraw", false) => Direction::In,
                ("TransferInstruction_Update", _) => return Ok(false),
                _ => Direction::Out,
            },
        };
        let spec = instruction.as_ref().map(|i| &i.transfer);
        let base = Transfer {
            node_id: x.node_id,
            choice: x.choice.clone(),
            kind: TransferKind::Transfer,
            direction,
            sender: spec
                .map(|s| s.sender.clone())
                .or_else(|| (direction != Direction::In).then(|| self.party.clone())),
            receiver: spec
                .map(|s| s.receiver.clone())
                .or_else(|| (direction == Direction::In).then(|| self.party.clone())),
            instrument: spec.map(|s| s.instrument.clone()),
            amount: spec.map(|s| s.amount),
            reason: self.reason(spec.and_then(|s| s.reason.as_deref()), result),
            status,
            transfer_instruction_cid: ContractId::new(&x.contract_id).ok(),
            meta: spec.map(|s| s.meta.clone()).unwrap_or_default(),
            // A V2 instruction's choice (see `Walk::v1_choice_below`) is read from V2.
            read_from: if x.interface_id.as_deref().is_some_and(ts2::is_v2_interface) {
                Standard::V2
            } else {
                Standard::V1
            },
            v2_leg: None,
        };
        if direction == Direction::In && status == TransferStatus::Accepted {
            self.push_received(index, base)?;
        } else {
            self.out.transfers.push(base);
        }
        Ok(true)
    }

    pub(super) fn tx_kind(
        &mut self,
        index: usize,
        x: &ExercisedEvent,
        kind: &str,
        result: &ChoiceResult,
    ) -> Result<bool, NodeError> {
        let kind = match kind {
            "transfer" => TransferKind::Transfer,
            "merge-split" => TransferKind::MergeSplit,
            "mint" => TransferKind::Mint,
            "burn" => TransferKind::Burn,
            "unlock" => TransferKind::Unlock,
            "expire-dust" => TransferKind::ExpireDust,
            // Not a kind we know: let the children explain themselves, or stay unexplained.
            _ => return Ok(false),
        };
        let sub = self.subtree(index)?;
        let sender = result
            .meta
            .get(META_SENDER)
            .map(str::to_owned)
            .or_else(|| {
                x.choice_argument
                    .as_deref()
                    .and_then(|a| ts::argument_sender(a.get()))
            })
            .and_then(|s| PartyId::new(&s).ok());
        let me = self.party;
        let gained = |net: Vec<(InstrumentId, Amount)>| -> Vec<(InstrumentId, Amount)> {
            net.into_iter().filter(|(_, a)| a.is_positive()).collect()
        };
        // (direction, sender, receiver, instrument, amount) of each movement.
        type Movement = (
            Direction,
            Option<PartyId>,
            Option<PartyId>,
            InstrumentId,
            Amount,
        );
        let movements: Vec<Movement> = match kind {
            // Our own transfer (e.g. through a wallet batch): one movement per receiver.
            TransferKind::Transfer if sender.as_ref() == Some(me) => sub
                .others_created
                .into_iter()
                .map(|((receiver, i), a)| (Direction::Out, Some(me.clone()), Some(receiver), i, a))
                .collect(),
            TransferKind::Transfer => gained(sub.party_net)
                .into_iter()
                .map(|(i, a)| (Direction::In, sender.clone(), Some(me.clone()), i, a))
                .collect(),
            TransferKind::MergeSplit | TransferKind::Unlock => sub
                .party_created
                .into_iter()
                .map(|(i, a)| {
                    (
                        Direction::SelfTransfer,
                        Some(me.clone()),
                        Some(me.clone()),
                        i,
                        a,
                    )
                })
                .collect(),
            TransferKind::Mint => gained(sub.party_net)
                .into_iter()
                .map(|(i, a)| (Direction::In, Some(i.admin.clone()), Some(me.clone()), i, a))
                .collect(),
            TransferKind::Burn | TransferKind::ExpireDust => sub
                .party_net
                .into_iter()
                .filter(|(_, a)| a.is_negative())
                .map(|(i, a)| {
                    (
                        Direction::Out,
                        Some(me.clone()),
                        Some(i.admin.clone()),
                        i,
                        -a,
                    )
                })
                .collect(),
        };
        let status = match kind {
            TransferKind::ExpireDust => TransferStatus::Expired,
            _ => TransferStatus::Completed,
        };
        let reason = self.reason(None, result);
        for (direction, sender, receiver, instrument, amount) in movements {
            self.out.transfers.push(Transfer {
                node_id: x.node_id,
                choice: x.choice.clone(),
                kind,
                direction,
                sender,
                receiver,
                instrument: Some(instrument),
                amount: Some(amount),
                reason: reason.clone(),
                status,
                transfer_instruction_cid: None,
                meta: BTreeMap::new(),
                read_from: Standard::V1,
                v2_leg: None,
            });
        }
        // Covered even when the party moved nothing here: nothing below needs explaining.
        Ok(true)
    }
}
