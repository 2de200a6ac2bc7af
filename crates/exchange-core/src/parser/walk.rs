//! The V1 reading: the walk over the nodes that lets the first recognised exercise explain its
//! subtree.

use canton_ledger::{Event, ExercisedEvent};

use super::nodes::Node;
use super::{
    ContractLookup, Direction, HoldingChangeKind, NodeError, ParsedTransaction, Standard, Transfer,
    TransferKind, TransferStatus, Unexplained,
};
use crate::interfaces::{TRANSFER_INSTRUCTION_V1, qualified_name};
use crate::token_standard::{
    self as ts, ChoiceResult, META_REASON, META_TX_KIND, TransferInstruction,
};
use crate::token_standard_v2 as ts2;
use crate::{Amount, ContractId, InstrumentId, PartyId};

pub(super) struct Walk<'w, 'a> {
    pub(super) party: &'w PartyId,
    pub(super) lookup: &'w dyn ContractLookup,
    pub(super) nodes: &'w [Node<'a>],
    pub(super) out: &'w mut ParsedTransaction,
    /// The input holdings of the transfers the party sends, with their instrument.
    pub(super) party_inputs: Vec<(ContractId, InstrumentId)>,
}

/// The party's holding changes within a subtree, and the others' creates (for receivers).
#[derive(Default)]
pub(super) struct Subtree {
    /// Net change of the party per instrument, in first-seen order.
    pub(super) party_net: Vec<(InstrumentId, Amount)>,
    pub(super) party_created: Vec<(InstrumentId, Amount)>,
    /// Creates for other owners per (owner, instrument), in first-seen order.
    pub(super) others_created: Vec<((PartyId, InstrumentId), Amount)>,
    pub(super) party_touched: bool,
}

fn add_to<K: PartialEq + Clone>(
    list: &mut Vec<(K, Amount)>,
    key: &K,
    amount: Amount,
) -> Result<(), String> {
    match list.iter_mut().find(|(k, _)| k == key) {
        Some((_, a)) => *a = a.checked_add(amount).map_err(|e| e.to_string())?,
        None => list.push((key.clone(), amount)),
    }
    Ok(())
}

impl Walk<'_, '_> {
    pub(super) fn run(&mut self) -> Result<(), NodeError> {
        let nodes = self.nodes;
        // Record every holding and instruction change of the party, explained or not.
        for node in nodes {
            if let Some(h) = node
                .created_holding
                .as_ref()
                .filter(|h| &h.owner == self.party)
            {
                self.out.holdings_created.push(h.clone());
            }
            if let Some(h) = node
                .archived_holding
                .as_ref()
                .filter(|h| &h.owner == self.party)
            {
                self.out.holdings_archived.push(h.clone());
            }
            if let Some(i) = node
                .created_instruction
                .as_ref()
                .filter(|i| self.involves(i))
            {
                self.out.instructions_created.push(i.clone());
            }
            if let Event::ExercisedEvent(x) = node.event
                && x.consuming
                && self
                    .instruction(&x.contract_id)
                    .is_some_and(|i| self.involves(&i))
            {
                let cid = ContractId::new(&x.contract_id).map_err(|e| (node.id, e.to_string()))?;
                self.out.instructions_consumed.push(cid);
            }
        }

        // Explain them: the first recognised exercise covers its subtree.
        let mut covered_until = i32::MIN;
        let mut open: Vec<(i32, &str)> = Vec::new(); // enclosing unrecognised exercises
        for (index, node) in nodes.iter().enumerate() {
            if node.id <= covered_until {
                continue;
            }
            open.retain(|&(last, _)| node.id <= last);
            if let Event::ExercisedEvent(x) = node.event {
                if self.explain_exercise(index, x)? {
                    covered_until = node.last;
                    continue;
                }
                open.push((node.last, &x.choice));
            }
            let context = open.last().map(|&(_, c)| c.to_owned());
            self.explain_bare(node, context)?;
        }
        Ok(())
    }

    /// Whether a V2 instruction choice calls its V1 counterpart on the same contract (what
    /// V1+V2 implementations such as Amulet's do): then the V1 choice below explains it, once.
    fn v1_choice_below(&self, index: usize, x: &ExercisedEvent) -> bool {
        let last = self.nodes[index].last;
        self.nodes[index + 1..]
            .iter()
            .take_while(|n| n.id <= last)
            .any(|n| match n.event {
                Event::ExercisedEvent(c) => {
                    c.contract_id == x.contract_id
                        && c.choice.starts_with("TransferInstruction_")
                        && c.interface_id
                            .as_deref()
                            .is_some_and(|i| TRANSFER_INSTRUCTION_V1.matches(i))
                }
                _ => false,
            })
    }

    pub(super) fn involves(&self, i: &TransferInstruction) -> bool {
        &i.transfer.sender == self.party || &i.transfer.receiver == self.party
    }

    pub(super) fn instruction(&self, cid: &str) -> Option<TransferInstruction> {
        self.nodes
            .iter()
            .find_map(|n| {
                n.created_instruction
                    .as_ref()
                    .filter(|i| i.contract_id.as_str() == cid)
            })
            .cloned()
            .or_else(|| self.lookup.instruction(cid))
    }

    /// Holding changes in `[index, last]` (the node itself included: a consuming choice on a
    /// holding archives it).
    pub(super) fn subtree(&self, index: usize) -> Result<Subtree, NodeError> {
        let last = self.nodes[index].last;
        let mut s = Subtree::default();
        for node in self.nodes[index..].iter().take_while(|n| n.id <= last) {
            let err = |e| (node.id, e);
            if let Some(h) = &node.created_holding {
                if &h.owner == self.party {
                    s.party_touched = true;
                    add_to(&mut s.party_net, &h.instrument, h.amount).map_err(err)?;
                    add_to(&mut s.party_created, &h.instrument, h.amount).map_err(err)?;
                } else {
                    let key = (h.owner.clone(), h.instrument.clone());
                    add_to(&mut s.others_created, &key, h.amount).map_err(err)?;
                }
            }
            if let Some(h) = node
                .archived_holding
                .as_ref()
                .filter(|h| &h.owner == self.party)
            {
                s.party_touched = true;
                add_to(&mut s.party_net, &h.instrument, -h.amount).map_err(err)?;
            }
        }
        Ok(s)
    }

    /// Recognises a token-standard exercise and records what it means; `false` if it is not one.
    fn explain_exercise(&mut self, index: usize, x: &ExercisedEvent) -> Result<bool, NodeError> {
        let id = x.node_id;
        let err = |e: ts::DecodeError| {
            (
                id,
                format!("{} {}: {e}", x.choice, qualified_name(&x.template_id)),
            )
        };
        let result = match x.exercise_result.as_deref() {
            Some(r) => ts::decode_result(r.get()).map_err(err)?,
            None => ChoiceResult::default(),
        };
        // A V2 interface's choice of the same name takes V2 arguments: its V2 events explain it,
        // except a V2 instruction's fate, which holdings do not tell (see `v2_instruction`).
        if x.interface_id.as_deref().is_some_and(ts2::is_v2_interface) {
            if ts2::is_v2_instruction_choice(x.interface_id.as_deref(), &x.choice)
                && !self.v1_choice_below(index, x)
            {
                return self.instruction_choice(index, x, &result);
            }
            return Ok(false);
        }
        match x.choice.as_str() {
            "TransferFactory_Transfer" | "TransferRule_Transfer" => {
                let argument = x.choice_argument.as_deref().map_or("null", |a| a.get());
                let spec = ts::decode_transfer_choice(argument).map_err(err)?;
                self.factory_transfer(index, x, spec, &result)
            }
            "TransferInstruction_Accept"
            | "TransferInstruction_Reject"
            | "TransferInstruction_Withdraw"
            | "TransferInstruction_Update" => self.instruction_choice(index, x, &result),
            _ => match result.meta.get(META_TX_KIND) {
                Some(kind) => self.tx_kind(index, x, kind, &result),
                None => Ok(false),
            },
        }
    }

    pub(super) fn reason(
        &self,
        spec_reason: Option<&str>,
        result: &ChoiceResult,
    ) -> Option<String> {
        spec_reason
            .or(result.meta.get(META_REASON))
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
    }

    /// A create or archive outside any recognised exercise.
    fn explain_bare(&mut self, node: &Node<'_>, context: Option<String>) -> Result<(), NodeError> {
        let template = || qualified_name(node.event.template_id()).to_owned();
        if let Some(h) = node
            .created_holding
            .as_ref()
            .filter(|h| &h.owner == self.party)
        {
            self.out.unexplained.push(Unexplained {
                node_id: node.id,
                change: HoldingChangeKind::Created,
                holding: h.clone(),
                context: context
                    .clone()
                    .unwrap_or_else(|| format!("bare create of {}", template())),
            });
        }
        if let Some(h) = node
            .archived_holding
            .as_ref()
            .filter(|h| &h.owner == self.party)
        {
            let choice = match node.event {
                Event::ExercisedEvent(x) => x.choice.clone(),
                _ => "archive".to_owned(),
            };
            self.out.unexplained.push(Unexplained {
                node_id: node.id,
                change: HoldingChangeKind::Archived,
                holding: h.clone(),
                context: context.unwrap_or_else(|| format!("{choice} of {}", template())),
            });
        }
        if let Some(i) = node
            .created_instruction
            .as_ref()
            .filter(|i| self.involves(i))
        {
            // An offer made outside a transfer-factory choice we saw: typically an incoming
            // multi-step deposit, of which the receiver sees only this create.
            let spec = &i.transfer;
            let direction = match (&spec.sender == self.party, &spec.receiver == self.party) {
                (true, true) => Direction::SelfTransfer,
                (true, false) => Direction::Out,
                _ => Direction::In,
            };
            self.out.transfers.push(Transfer {
                node_id: node.id,
                choice: format!("create {}", template()),
                kind: TransferKind::Transfer,
                direction,
                sender: Some(spec.sender.clone()),
                receiver: Some(spec.receiver.clone()),
                instrument: Some(spec.instrument.clone()),
                amount: Some(spec.amount),
                reason: spec.reason.clone().filter(|r| !r.is_empty()),
                status: TransferStatus::Pending,
                transfer_instruction_cid: Some(i.contract_id.clone()),
                meta: spec.meta.clone(),
                read_from: if node.instruction_from_v2 {
                    Standard::V2
                } else {
                    Standard::V1
                },
                v2_leg: None,
            });
        }
        Ok(())
    }
}
