//! The token-standard transaction parser: one `JsTransaction` (`LEDGER_EFFECTS`), read as one
//! party (the treasury), becomes what it means for that party.
//!
//! The walk follows the integration guide (`txingestion.rst`): events are visited in node order;
//! the first exercise that the token standard explains (a transfer-factory choice, a transfer
//! instruction choice, or any choice whose result metadata carries a `tx-kind`) accounts for its
//! whole subtree, and the walk resumes after `lastDescendantNodeId`. Exercises nothing explains
//! are descended into. Amounts come from the party's own holding creates and archives, never
//! from labels alone, and anything that changes the party's holdings without an explanation is
//! reported as [`Unexplained`] instead of being dropped.
//!
//! Archived holdings are resolved through a [`ContractLookup`] the caller provides (its own
//! UTXO store), plus the creates of the same transaction. An archive nobody can resolve is not
//! the party's as long as the lookup knows every holding the party ever had; such archives are
//! listed in [`ParsedTransaction::unresolved_archives`] for diagnosis.
//!
//! Works for any token-standard registry: templates and interfaces are matched by
//! `Module:Entity`, Canton Coin choice names are never relied upon.

use std::collections::{BTreeMap, HashMap};

use canton_ledger::{Event, ExercisedEvent, JsTransaction};

use crate::token_standard::{
    self as ts, ChoiceOutput, ChoiceResult, Holding, META_REASON, META_SENDER, META_TX_KIND,
    TransferInstruction, TransferSpec,
};
use crate::{
    Amount, ContractId, InstrumentId, Offset, PartyId, SynchronizerId, Timestamp, UpdateId,
};

/// Resolves contracts that a transaction consumes but does not create.
pub trait ContractLookup {
    /// A holding by contract id, whoever owns it; `None` if unknown.
    fn holding(&self, contract_id: &str) -> Option<Holding>;
    /// A transfer instruction by contract id; `None` if unknown.
    fn instruction(&self, contract_id: &str) -> Option<TransferInstruction>;
}

/// A lookup that knows nothing: every archive stays unresolved.
pub struct NoLookup;

impl ContractLookup for NoLookup {
    fn holding(&self, _: &str) -> Option<Holding> {
        None
    }
    fn instruction(&self, _: &str) -> Option<TransferInstruction> {
        None
    }
}

/// What one transaction means for the party.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParsedTransaction {
    pub update_id: UpdateId,
    pub offset: Offset,
    pub record_time: Timestamp,
    pub synchronizer_id: SynchronizerId,
    /// Holdings of the party created here (locked ones included), in node order.
    pub holdings_created: Vec<Holding>,
    /// Holdings of the party archived here, in node order.
    pub holdings_archived: Vec<Holding>,
    /// The party's holding changes summed per instrument.
    pub holding_changes: Vec<HoldingChange>,
    /// Transfer instructions with the party as sender or receiver created here.
    pub instructions_created: Vec<TransferInstruction>,
    /// Transfer instructions of the party consumed here (accepted, rejected, withdrawn, …).
    pub instructions_consumed: Vec<ContractId>,
    pub transfers: Vec<Transfer>,
    pub unexplained: Vec<Unexplained>,
    /// Consumed holdings the lookup could not resolve (normally other parties' holdings).
    pub unresolved_archives: Vec<ContractId>,
    /// Those of [`Self::unresolved_archives`] that may be the party's own: until they are
    /// resolved, the party's archived amounts are lower bounds and its net changes upper
    /// bounds (see [`Self::net_is_upper_bound`]). Empty whenever the lookup knows every
    /// holding the party ever had (ingestion); a replay of a partial recording fills it.
    pub possibly_own_archives: Vec<PossiblyOwnArchive>,
}

/// An unresolved archive of a holding that may be the party's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PossiblyOwnArchive {
    pub node_id: i32,
    pub contract_id: ContractId,
    pub template_id: String,
    /// Known when the holding is an input of the party's transfer (its instrument).
    pub instrument: Option<InstrumentId>,
    pub why: PossiblyOwnBecause,
}

/// Why an unresolved archive may be the party's: the signs that a holding is its own, since
/// the owner cannot be read off an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PossiblyOwnBecause {
    /// An input holding of a transfer the party sends.
    InputOfPartysTransfer,
    /// Consumed by a choice the party exercised (an owner archives its holdings).
    PartyActed,
    /// The party is a stakeholder of the archived contract (a flat `ArchivedEvent`).
    PartyIsStakeholder,
}

impl ParsedTransaction {
    /// Whether the net change of `instrument` may be lower than reported, because an archive
    /// of a possibly own holding of that instrument (or of an unknown one) is unresolved.
    pub fn net_is_upper_bound(&self, instrument: &InstrumentId) -> bool {
        self.possibly_own_archives
            .iter()
            .any(|a| a.instrument.as_ref().is_none_or(|i| i == instrument))
    }
}

/// Per instrument: sum of created, sum of archived, and the net change of the party.
fn holding_changes(
    created: &[Holding],
    archived: &[Holding],
) -> Result<Vec<HoldingChange>, String> {
    let mut by: BTreeMap<&InstrumentId, (Amount, Amount)> = BTreeMap::new();
    for h in created {
        let e = by.entry(&h.instrument).or_default();
        e.0 = e.0.checked_add(h.amount).map_err(|e| e.to_string())?;
    }
    for h in archived {
        let e = by.entry(&h.instrument).or_default();
        e.1 = e.1.checked_add(h.amount).map_err(|e| e.to_string())?;
    }
    by.into_iter()
        .map(|(instrument, (created, archived))| {
            Ok(HoldingChange {
                instrument: instrument.clone(),
                created,
                archived,
                net: created.checked_sub(archived).map_err(|e| e.to_string())?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HoldingChange {
    pub instrument: InstrumentId,
    pub created: Amount,
    pub archived: Amount,
    pub net: Amount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
    #[serde(rename = "self")]
    SelfTransfer,
}

/// What kind of movement a [`Transfer`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TransferKind {
    /// A transfer between parties (1-step, or a multi-step instruction and its fate).
    Transfer,
    /// The party moved its own holdings (self transfer, merge, split).
    MergeSplit,
    Mint,
    Burn,
    Unlock,
    /// The registry expired holdings whose fees exceeded their value.
    ExpireDust,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TransferStatus {
    /// Done in this transaction (1-step, or a direct transfer-factory transfer).
    Completed,
    /// An instruction now awaits the receiver (or the registry).
    Pending,
    /// A pending instruction was accepted: the transfer happened here.
    Accepted,
    Rejected,
    Withdrawn,
    Failed,
    Expired,
}

/// A movement of value involving the party, one per instrument.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    /// The node that explains it.
    pub node_id: i32,
    pub choice: String,
    pub kind: TransferKind,
    pub direction: Direction,
    pub sender: Option<PartyId>,
    pub receiver: Option<PartyId>,
    /// `None` only for an instruction's fate when the instruction is unknown to the lookup.
    pub instrument: Option<InstrumentId>,
    pub amount: Option<Amount>,
    /// The memo: `splice.lfdecentralizedtrust.org/reason`.
    pub reason: Option<String>,
    pub status: TransferStatus,
    pub transfer_instruction_cid: Option<ContractId>,
    /// The transfer's metadata where the transfer's terms are visible (transfer-factory
    /// choices and known instructions); empty otherwise.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
}

/// A change to the party's holdings that no token-standard event explains.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unexplained {
    pub node_id: i32,
    pub change: HoldingChangeKind,
    pub holding: Holding,
    /// The nearest enclosing choice, or the template for a bare create or archive.
    pub context: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldingChangeKind {
    Created,
    Archived,
}

/// Why a transaction could not be parsed. Carries the update id for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "update {}{}: {}",
    canton_ledger::quote::quote(update_id),
    node_id.map(|n| format!(" node {n}")).unwrap_or_default(),
    canton_ledger::quote::cut(reason)
)]
pub struct ParseError {
    pub update_id: String,
    pub node_id: Option<i32>,
    pub reason: String,
}

/// One event, decoded as far as the parser needs.
struct Node<'a> {
    id: i32,
    /// `lastDescendantNodeId` of an exercise; the node itself otherwise.
    last: i32,
    event: &'a Event,
    /// A holding created here (any owner).
    created_holding: Option<Holding>,
    created_instruction: Option<TransferInstruction>,
    /// A holding consumed here (any owner), when resolved.
    archived_holding: Option<Holding>,
}

/// Parses one transaction as seen by `party`.
pub fn parse_transaction(
    tx: &JsTransaction,
    party: &PartyId,
    lookup: &dyn ContractLookup,
) -> Result<ParsedTransaction, ParseError> {
    let fail = |node_id: Option<i32>, reason: String| ParseError {
        update_id: tx.update_id.clone(),
        node_id,
        reason,
    };
    fn header<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, String> {
        r.map_err(|e| e.to_string())
    }
    let mut out = ParsedTransaction {
        update_id: header(UpdateId::new(&tx.update_id)).map_err(|e| fail(None, e))?,
        offset: header(Offset::new(tx.offset)).map_err(|e| fail(None, e))?,
        record_time: header(tx.record_time.parse::<Timestamp>()).map_err(|e| fail(None, e))?,
        synchronizer_id: header(SynchronizerId::new(&tx.synchronizer_id))
            .map_err(|e| fail(None, e))?,
        holdings_created: Vec::new(),
        holdings_archived: Vec::new(),
        holding_changes: Vec::new(),
        instructions_created: Vec::new(),
        instructions_consumed: Vec::new(),
        transfers: Vec::new(),
        unexplained: Vec::new(),
        unresolved_archives: Vec::new(),
        possibly_own_archives: Vec::new(),
    };

    let nodes = decode_nodes(tx, lookup, &mut out).map_err(|(n, e)| fail(Some(n), e))?;

    let mut walk = Walk {
        party,
        lookup,
        nodes: &nodes,
        out: &mut out,
        party_inputs: Vec::new(),
    };
    walk.run().map_err(|(n, e)| fail(Some(n), e))?;
    let inputs = walk.party_inputs;
    if !out.unresolved_archives.is_empty() || !inputs.is_empty() {
        out.possibly_own_archives =
            possibly_own_archives(&nodes, party, &out.unresolved_archives, &inputs);
    }
    out.holding_changes = holding_changes(&out.holdings_created, &out.holdings_archived)
        .map_err(|e| fail(None, e))?;
    Ok(out)
}

type NodeError = (i32, String);

fn decode_nodes<'a>(
    tx: &'a JsTransaction,
    lookup: &dyn ContractLookup,
    out: &mut ParsedTransaction,
) -> Result<Vec<Node<'a>>, NodeError> {
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
            archived_holding: None,
        };
        match event {
            Event::CreatedEvent(c) => {
                let views = ts::decode_views(c).map_err(|e| (id, e.to_string()))?;
                node.created_holding = views.holding;
                node.created_instruction = views.instruction;
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
    Ok(nodes)
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
    if node.archived_holding.is_none() && implemented.iter().any(|i| ts::is(i, ts::HOLDING)) {
        if let Ok(cid) = ContractId::new(contract_id) {
            out.unresolved_archives.push(cid);
        }
    }
}

/// The unresolved archives that may be `party`'s holdings (see [`PossiblyOwnBecause`]); the
/// others (a sender's inputs in a deposit, archives the party only witnesses) are left out, so
/// they do not drown the ones that matter. `inputs` are the input holdings of the party's own
/// transfers: consumed there, they are its holdings even when the event does not say the
/// contract implements `Holding`.
fn possibly_own_archives(
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

struct Walk<'w, 'a> {
    party: &'w PartyId,
    lookup: &'w dyn ContractLookup,
    nodes: &'w [Node<'a>],
    out: &'w mut ParsedTransaction,
    /// The input holdings of the transfers the party sends, with their instrument.
    party_inputs: Vec<(ContractId, InstrumentId)>,
}

/// The party's holding changes within a subtree, and the others' creates (for receivers).
#[derive(Default)]
struct Subtree {
    /// Net change of the party per instrument, in first-seen order.
    party_net: Vec<(InstrumentId, Amount)>,
    party_created: Vec<(InstrumentId, Amount)>,
    /// Creates for other owners per (owner, instrument), in first-seen order.
    others_created: Vec<((PartyId, InstrumentId), Amount)>,
    party_touched: bool,
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
    fn run(&mut self) -> Result<(), NodeError> {
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
            if let Event::ExercisedEvent(x) = node.event {
                if x.consuming
                    && self
                        .instruction(&x.contract_id)
                        .is_some_and(|i| self.involves(&i))
                {
                    let cid =
                        ContractId::new(&x.contract_id).map_err(|e| (node.id, e.to_string()))?;
                    self.out.instructions_consumed.push(cid);
                }
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

    fn involves(&self, i: &TransferInstruction) -> bool {
        &i.transfer.sender == self.party || &i.transfer.receiver == self.party
    }

    fn instruction(&self, cid: &str) -> Option<TransferInstruction> {
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
    fn subtree(&self, index: usize) -> Result<Subtree, NodeError> {
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
                format!("{} {}: {e}", x.choice, ts::qualified_name(&x.template_id)),
            )
        };
        let result = match x.exercise_result.as_deref() {
            Some(r) => ts::decode_result(r.get()).map_err(err)?,
            None => ChoiceResult::default(),
        };
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

    fn reason(&self, spec_reason: Option<&str>, result: &ChoiceResult) -> Option<String> {
        spec_reason
            .or(result.meta.get(META_REASON))
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
    }

    fn factory_transfer(
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

    fn instruction_choice(
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
        };
        if direction == Direction::In && status == TransferStatus::Accepted {
            self.push_received(index, base)?;
        } else {
            self.out.transfers.push(base);
        }
        Ok(true)
    }

    fn tx_kind(
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
            });
        }
        // Covered even when the party moved nothing here: nothing below needs explaining.
        Ok(true)
    }

    /// A create or archive outside any recognised exercise.
    fn explain_bare(&mut self, node: &Node<'_>, context: Option<String>) -> Result<(), NodeError> {
        let template = || ts::qualified_name(node.event.template_id()).to_owned();
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
            });
        }
        Ok(())
    }
}
