//! The events of a transaction decoded as far as the parser needs, and the archives it could
//! not resolve.

use std::collections::HashMap;

use canton_ledger::{Event, JsTransaction};

use super::{ContractLookup, NodeError, ParsedTransaction, PossiblyOwnArchive, PossiblyOwnBecause};
use crate::interfaces::HOLDING_V1;
use crate::token_standard::{self as ts, Holding, TransferInstruction};
use crate::token_standard_v2 as ts2;
use crate::{ContractId, InstrumentId, PartyId};

/// One event, decoded as far as the parser needs.
pub(super) struct Node<'a> {
    pub(super) id: i32,
    /// `lastDescendantNodeId` of an exercise; the node itself otherwise.
    pub(super) last: i32,
    pub(super) event: &'a Event,
    /// A holding created here (any owner).
    pub(super) created_holding: Option<Holding>,
    pub(super) created_instruction: Option<TransferInstruction>,
    /// Whether `created_instruction` comes from a `TransferInstructionV2` view (V2-only).
    pub(super) instruction_from_v2: bool,
    /// A holding consumed here (any owner), when resolved.
    pub(super) archived_holding: Option<Holding>,
}

/// The decoded nodes, and whether any is a V2 `EventLog_HoldingsChange` exercise.
pub(super) fn decode_nodes<'a>(
    tx: &'a JsTransaction,
    lookup: &dyn ContractLookup,
    out: &mut ParsedTransaction,
) -> Result<(Vec<Node<'a>>, bool), NodeError> {
    let mut has_v2 = false;
    let mut nodes: Vec<Node<'a>> = Vec::with_capacity(tx.events.len());
    // Holdings created in this transaction, for archives later in it (transient holdings).
    let mut created_here: HashMap<&str, usize> = HashMap::new();
    let mut previous = i32::MIN;
    for event in &tx.events {
        let id = event.node_id();
        if id <= previous || id < 0 {
            return Err((id, format!("node ids must ascend; {id} follows {previous}")));
        }
        previous = id;
        let mut node = Node {
            id,
            last: id,
            event,
            created_holding: None,
            created_instruction: None,
            instruction_from_v2: false,
            archived_holding: None,
        };
        match event {
            Event::CreatedEvent(c) => {
                let views = ts::decode_views(c).map_err(|e| (id, e.to_string()))?;
                node.created_holding = views.holding;
                node.created_instruction = views.instruction;
                node.instruction_from_v2 = views.instruction_from_v2;
                if node.created_holding.is_some() {
                    created_here.insert(&c.contract_id, nodes.len());
                }
            }
            Event::ExercisedEvent(x) => {
                if x.last_descendant_node_id < id {
                    return Err((
                        id,
                        format!(
                            "lastDescendantNodeId {} < nodeId",
                            x.last_descendant_node_id
                        ),
                    ));
                }
                node.last = x.last_descendant_node_id;
                has_v2 |= x.choice == ts2::HOLDINGS_CHANGE;
                if x.consuming {
                    resolve_archive(
                        &mut node,
                        &x.contract_id,
                        &x.implemented_interfaces,
                        &created_here,
                        &nodes,
                        lookup,
                        out,
                    );
                }
            }
            Event::ArchivedEvent(a) => {
                resolve_archive(
                    &mut node,
                    &a.contract_id,
                    &a.implemented_interfaces,
                    &created_here,
                    &nodes,
                    lookup,
                    out,
                );
            }
        }
        nodes.push(node);
    }
    Ok((nodes, has_v2))
}

fn resolve_archive(
    node: &mut Node<'_>,
    contract_id: &str,
    implemented: &[String],
    created_here: &HashMap<&str, usize>,
    nodes: &[Node<'_>],
    lookup: &dyn ContractLookup,
    out: &mut ParsedTransaction,
) {
    node.archived_holding = match created_here.get(contract_id) {
        Some(&i) => nodes[i].created_holding.clone(),
        None => lookup.holding(contract_id),
    };
    if node.archived_holding.is_none()
        && implemented.iter().any(|i| HOLDING_V1.matches(i))
        && let Ok(cid) = ContractId::new(contract_id)
    {
        out.unresolved_archives.push(cid);
    }
}

/// The unresolved archives that may be `party`'s holdings (see [`PossiblyOwnBecause`]); the
/// others (a sender's inputs in a deposit, archives the party only witnesses) are left out, so
/// they do not drown the ones that matter. `inputs` are the input holdings of the party's own
/// transfers: consumed there, they are its holdings even when the event does not say the
/// contract implements `Holding`.
pub(super) fn possibly_own_archives(
    nodes: &[Node<'_>],
    party: &PartyId,
    unresolved: &[ContractId],
    inputs: &[(ContractId, InstrumentId)],
) -> Vec<PossiblyOwnArchive> {
    let mut out = Vec::new();
    for node in nodes {
        let consumed = match node.event {
            Event::ExercisedEvent(x) => x.consuming,
            Event::ArchivedEvent(_) => true,
            Event::CreatedEvent(_) => false,
        };
        if !consumed || node.archived_holding.is_some() {
            continue;
        }
        let contract_id = node.event.contract_id();
        let input = inputs.iter().find(|(c, _)| c.as_str() == contract_id);
        let marked = unresolved.iter().find(|c| c.as_str() == contract_id);
        let Some(cid) = input.map(|(c, _)| c).or(marked) else {
            continue;
        };
        let why = match node.event {
            _ if input.is_some() => PossiblyOwnBecause::InputOfPartysTransfer,
            Event::ExercisedEvent(x) if x.acting_parties.iter().any(|p| p == party.as_str()) => {
                PossiblyOwnBecause::PartyActed
            }
            Event::ArchivedEvent(a) if a.witness_parties.iter().any(|p| p == party.as_str()) => {
                PossiblyOwnBecause::PartyIsStakeholder
            }
            _ => continue,
        };
        out.push(PossiblyOwnArchive {
            node_id: node.id,
            contract_id: cid.clone(),
            template_id: node.event.template_id().to_owned(),
            instrument: input.map(|(_, i)| i.clone()),
            why,
        });
    }
    out
}
