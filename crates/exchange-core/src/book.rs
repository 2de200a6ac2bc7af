//! The party's active contracts as a replay of parsed transactions: the holdings (UTXOs) and
//! transfer instructions it has, which is also the lookup that resolves later archives.
//!
//! The Integration DB keeps the same book durably; this in-memory one serves replays of recorded
//! files (`explain`) and tests.

use std::collections::{BTreeMap, HashMap};

use canton_ledger::CreatedEvent;

use crate::ContractId;
use crate::parser::{ContractLookup, ParsedTransaction};
use crate::token_standard::{DecodeError, Holding, TransferInstruction, decode_views};
use crate::tokens::Onboarded;

/// Active holdings and instructions of one party, updated transaction by transaction.
#[derive(Debug, Default, Clone)]
pub struct HoldingBook {
    pub holdings: BTreeMap<ContractId, Holding>,
    pub instructions: BTreeMap<ContractId, TransferInstruction>,
}

impl HoldingBook {
    /// Applies a parsed transaction: creates become active, archives and consumed instructions
    /// leave. Creates are applied first, in node order, so transient contracts end up absent.
    pub fn apply(&mut self, tx: &ParsedTransaction) {
        for h in &tx.holdings_created {
            self.holdings.insert(h.contract_id.clone(), h.clone());
        }
        for h in &tx.holdings_archived {
            self.holdings.remove(&h.contract_id);
        }
        for i in &tx.instructions_created {
            self.instructions.insert(i.contract_id.clone(), i.clone());
        }
        for cid in &tx.instructions_consumed {
            self.instructions.remove(cid);
        }
    }
}

impl ContractLookup for HoldingBook {
    fn holding(&self, contract_id: &str) -> Option<Holding> {
        self.holdings.get(contract_id).cloned()
    }
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction> {
        self.instructions.get(contract_id).cloned()
    }
}

/// Contracts known from recorded `/v2/events/events-by-contract-id` answers (their created
/// events), for resolving archives of contracts created before a recording starts.
#[derive(Debug, Default, Clone)]
pub struct KnownContracts {
    holdings: HashMap<String, Holding>,
    instructions: HashMap<String, TransferInstruction>,
}

impl KnownContracts {
    /// Adds the token-standard views of a created event.
    pub fn add(&mut self, event: &CreatedEvent) -> Result<(), DecodeError> {
        let views = decode_views(event)?;
        if let Some(h) = views.holding {
            self.holdings.insert(event.contract_id.clone(), h);
        }
        if let Some(i) = views.instruction {
            self.instructions.insert(event.contract_id.clone(), i);
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.holdings.len() + self.instructions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ContractLookup for KnownContracts {
    fn holding(&self, contract_id: &str) -> Option<Holding> {
        self.holdings.get(contract_id).cloned()
    }
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction> {
        self.instructions.get(contract_id).cloned()
    }
}

/// A lookup that asks its first lookup and falls back on the second for what the first does
/// not know.
pub struct Fallback<'a>(pub &'a dyn ContractLookup, pub &'a dyn ContractLookup);

impl ContractLookup for Fallback<'_> {
    fn holding(&self, contract_id: &str) -> Option<Holding> {
        self.0
            .holding(contract_id)
            .or_else(|| self.1.holding(contract_id))
    }
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction> {
        self.0
            .instruction(contract_id)
            .or_else(|| self.1.instruction(contract_id))
    }
    fn onboarded(&self) -> Option<&Onboarded> {
        self.0.onboarded().or_else(|| self.1.onboarded())
    }
}

/// A lookup that also knows the onboarded instruments, so that the parser reads the V2 events
/// of their admins (ingestion, quarantine re-processing and `explain` wrap theirs in it).
pub struct WithOnboarded<'a>(pub &'a dyn ContractLookup, pub &'a Onboarded);

impl ContractLookup for WithOnboarded<'_> {
    fn holding(&self, contract_id: &str) -> Option<Holding> {
        self.0.holding(contract_id)
    }
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction> {
        self.0.instruction(contract_id)
    }
    fn onboarded(&self) -> Option<&Onboarded> {
        Some(self.1)
    }
}
