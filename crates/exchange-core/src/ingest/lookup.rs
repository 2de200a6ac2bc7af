//! The parser's view of [`IngestState`]: what it needs to resolve the contracts a transaction
//! consumes.

use super::known::IngestState;
use crate::PartyId;
use crate::parser::ContractLookup;
use crate::token_standard::{self as ts, TransferSpec};

/// The parser's view of the DB: treasury holdings (owned by the treasury by construction) and
/// the stored terms of transfer instructions.
pub struct StateLookup<'a> {
    pub state: &'a dyn IngestState,
    pub treasury: &'a PartyId,
}

impl ContractLookup for StateLookup<'_> {
    fn holding(&self, contract_id: &str) -> Option<ts::Holding> {
        let k = self.state.holding(contract_id)?;
        Some(ts::Holding {
            contract_id: k.holding.contract_id.clone(),
            owner: self.treasury.clone(),
            instrument: k.holding.instrument.clone(),
            amount: k.holding.amount,
            lock: k.holding.lock.clone(),
            meta: Default::default(),
            provenance: None,
        })
    }

    fn instruction(&self, contract_id: &str) -> Option<ts::TransferInstruction> {
        let i = self.state.instruction(contract_id)?;
        // The DB keeps the terms the parser reads (parties, instrument, amount, memo); the
        // times are not stored and are given as the offer's record time.
        Some(ts::TransferInstruction {
            contract_id: i.contract_id.clone(),
            original_instruction_cid: None,
            transfer: TransferSpec {
                sender: i.sender.clone(),
                receiver: i.receiver.clone(),
                amount: i.amount,
                instrument: i.instrument.clone(),
                requested_at: i.origin.record_time,
                execute_before: i.origin.record_time,
                input_holding_cids: Vec::new(),
                reason: i.reason.clone(),
                meta: Default::default(),
            },
            status: "TransferPendingReceiverAcceptance".to_owned(),
            provenance: None,
        })
    }
}
