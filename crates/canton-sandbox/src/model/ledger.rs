//! The participant's ledger: parties, contract store and update log, changed only by committing
//! whole transactions. Pure and deterministic: no IO, no wall clock, no randomness.

use std::collections::{BTreeMap, BTreeSet};

use exchange_core::Timestamp;

use crate::daml::Value;
use crate::model::clock::{ClockError, SyncClock};
use crate::model::ids::IdGen;
use crate::model::template::Identifier;
use crate::model::tree::{Create, Node};

#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// Everything random-looking (ids, hashes) derives from it.
    pub seed: String,
    /// The first record time is one clock step after this.
    pub start_time: Timestamp,
    /// Record time advance per transaction when nobody sets the clock.
    pub clock_step_micros: i64,
    /// How long before its record time a transaction's ledger effective time is (real nodes show
    /// tens of milliseconds between the submitter choosing LET and sequencing).
    pub submission_latency_micros: i64,
    /// Offsets skipped after a restore, so that an update re-delivered after a restore never has
    /// the offset it had before (clients must notice the node changed, not silently continue).
    pub restore_offset_gap: i64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            seed: "canton-sandbox".to_owned(),
            // 2025-09-26T09:42:00Z, the day of the LocalNet recording.
            start_time: Timestamp::from_micros(1_758_879_720_000_000).expect("in range"),
            clock_step_micros: 1_000_000,
            submission_latency_micros: 70_913,
            restore_offset_gap: 10,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("Contract could not be found with id {0}")]
    ContractNotFound(String),
    #[error("contract id {0} is already in use")]
    DuplicateContractId(String),
    #[error("Party not known on ledger: {0}")]
    UnknownParty(String),
    #[error("Party already exists: {0}")]
    PartyExists(String),
    #[error("cannot prune at offset {offset}: it is beyond the ledger end {ledger_end}")]
    PruneBeyondLedgerEnd { offset: i64, ledger_end: i64 },
    #[error(transparent)]
    Clock(#[from] ClockError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRecord {
    pub party: String,
    pub is_local: bool,
}

/// Where an event sits: its transaction's offset and its node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef {
    pub offset: i64,
    pub node_id: i32,
}

#[derive(Debug, Clone)]
pub struct ContractRecord {
    pub create: Create,
    /// The ledger effective time of the creating transaction.
    pub created_at: Timestamp,
    pub created: EventRef,
    pub archived: Option<EventRef>,
}

impl ContractRecord {
    pub fn is_active(&self) -> bool {
        self.archived.is_none()
    }

    pub fn stakeholders(&self) -> BTreeSet<String> {
        self.create
            .signatories
            .union(&self.create.observers)
            .cloned()
            .collect()
    }
}

/// One node of a committed transaction, numbered in pre-order over the full tree.
#[derive(Debug, Clone)]
pub struct TxNode {
    pub node_id: i32,
    /// Equal to `node_id` for leaves; full-tree numbering.
    pub last_descendant: i32,
    pub kind: TxNodeKind,
    /// Informees of this node and of every ancestor: who sees it in `LEDGER_EFFECTS`.
    pub witnesses: BTreeSet<String>,
    /// Stakeholders of the contract the node is about: who sees it in `ACS_DELTA`.
    pub stakeholders: BTreeSet<String>,
    /// Template of the contract the node is about.
    pub template: Identifier,
    /// Interfaces that template implements.
    pub interfaces: Vec<Identifier>,
    /// Created and archived within this same transaction (never in an ACS delta).
    pub transient: bool,
}

#[derive(Debug, Clone)]
pub enum TxNodeKind {
    Create(Create),
    Exercise {
        contract_id: String,
        interface: Option<Identifier>,
        choice: String,
        argument: Value,
        acting_parties: BTreeSet<String>,
        consuming: bool,
        result: Value,
    },
    /// Takes a node id; never shown to readers.
    Fetch {
        contract_id: String,
    },
}

/// Where an update comes from. Synchronizer updates are the shared history every node of the
/// network agrees on (same update id, record time and content); participant-local ones (an ACS
/// import) exist only in this node's database and are lost when it is restored from a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Synchronizer,
    ParticipantLocal,
}

#[derive(Debug, Clone)]
pub struct CommittedTx {
    pub offset: i64,
    pub origin: Origin,
    pub update_id: String,
    pub command_id: String,
    pub act_as: BTreeSet<String>,
    pub effective_at: Timestamp,
    pub record_time: Timestamp,
    pub traceparent: String,
    pub nodes: Vec<TxNode>,
}

/// What a submitter sees while building a transaction: the ledger effective time it will have,
/// fresh contract ids and the active contracts.
pub struct TxContext<'a> {
    pub let_time: Timestamp,
    ids: &'a mut IdGen,
    contracts: &'a BTreeMap<String, ContractRecord>,
}

impl TxContext<'_> {
    pub fn new_contract_id(&mut self) -> String {
        self.ids.next_contract_id()
    }

    /// An active contract (as of before this transaction).
    pub fn active(&self, contract_id: &str) -> Option<&ContractRecord> {
        self.contracts.get(contract_id).filter(|c| c.is_active())
    }

    pub fn active_contracts(&self) -> impl Iterator<Item = &ContractRecord> {
        self.contracts.values().filter(|c| c.is_active())
    }
}

/// The identity of a submission; `record_time` lets a caller pin the record time (it is used
/// only if later than the clock).
#[derive(Debug, Clone, Default)]
pub struct SubmissionMeta {
    pub command_id: String,
    pub act_as: BTreeSet<String>,
    pub record_time: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Ledger {
    config: LedgerConfig,
    ids: IdGen,
    clock: SyncClock,
    synchronizer_id: String,
    participant_id: String,
    parties: BTreeMap<String, PartyRecord>,
    contracts: BTreeMap<String, ContractRecord>,
    /// Active contracts by template and stakeholder, so that wallets' lookups ("my holdings",
    /// "the receiver's preapproval") do not scan the whole store (the `load` scenario needs it).
    active_index: BTreeMap<Identifier, BTreeMap<String, BTreeSet<String>>>,
    /// In offset order; offsets increase but may have gaps (after a restore).
    log: Vec<CommittedTx>,
    by_update_id: BTreeMap<String, usize>,
    /// The offset the next update gets.
    next_offset: i64,
    /// Updates at or below it are gone (`latest-pruned-offsets`); 0 = nothing pruned.
    pruned_up_to: i64,
    /// Bumped by every restore: a restored node is a restarted node, whose open streams end.
    incarnation: u64,
}

impl Ledger {
    pub fn new(config: LedgerConfig) -> Ledger {
        let ids = IdGen::new(config.seed.clone());
        let synchronizer_id = format!("global-domain::{}", ids.namespace("global-domain"));
        let participant_id = format!("PAR::sandbox::{}", ids.namespace("participant"));
        Ledger {
            clock: SyncClock::new(config.start_time, config.clock_step_micros),
            ids,
            synchronizer_id,
            participant_id,
            parties: BTreeMap::new(),
            contracts: BTreeMap::new(),
            active_index: BTreeMap::new(),
            log: Vec::new(),
            by_update_id: BTreeMap::new(),
            next_offset: 1,
            pruned_up_to: 0,
            incarnation: 0,
            config,
        }
    }

    /// How many restores this node has been through.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    pub fn synchronizer_id(&self) -> &str {
        &self.synchronizer_id
    }

    pub fn participant_id(&self) -> &str {
        &self.participant_id
    }

    pub fn record_time(&self) -> Timestamp {
        self.clock.current()
    }

    pub fn advance_time(&mut self, micros: i64) -> Result<Timestamp, LedgerError> {
        Ok(self.clock.advance(micros)?)
    }

    pub fn set_time(&mut self, to: Timestamp) -> Result<Timestamp, LedgerError> {
        Ok(self.clock.set(to)?)
    }

    /// Allocates a local party `hint::1220…`; its namespace derives from the seed and the hint.
    pub fn allocate_party(&mut self, hint: &str) -> Result<String, LedgerError> {
        let party = self.ids.party_id(hint);
        if self.parties.contains_key(&party) {
            return Err(LedgerError::PartyExists(party));
        }
        self.parties.insert(
            party.clone(),
            PartyRecord {
                party: party.clone(),
                is_local: true,
            },
        );
        Ok(party)
    }

    pub fn parties(&self) -> impl Iterator<Item = &PartyRecord> {
        self.parties.values()
    }

    pub fn is_known_party(&self, party: &str) -> bool {
        self.parties.contains_key(party)
    }

    /// The offset of the latest update; 0 on an empty ledger.
    pub fn ledger_end(&self) -> i64 {
        self.log.last().map_or(0, |tx| tx.offset)
    }

    /// The offset up to which (inclusive) history was pruned; 0 if never.
    pub fn pruned_up_to(&self) -> i64 {
        self.pruned_up_to
    }

    /// The update at `offset`, unless there is none or it was pruned.
    pub fn update_at(&self, offset: i64) -> Option<&CommittedTx> {
        if offset <= self.pruned_up_to {
            return None;
        }
        let i = self.log.partition_point(|tx| tx.offset < offset);
        self.log.get(i).filter(|tx| tx.offset == offset)
    }

    /// The update with this id, unless it was pruned.
    pub fn update_by_id(&self, update_id: &str) -> Option<&CommittedTx> {
        self.by_update_id
            .get(update_id)
            .map(|&i| &self.log[i])
            .filter(|tx| tx.offset > self.pruned_up_to)
    }

    /// Updates with `begin_exclusive < offset <= end_inclusive` (pruned ones included: callers
    /// refuse to read below the pruning offset first).
    pub fn updates_between(&self, begin_exclusive: i64, end_inclusive: i64) -> &[CommittedTx] {
        let from = self.log.partition_point(|tx| tx.offset <= begin_exclusive);
        let to = self.log.partition_point(|tx| tx.offset <= end_inclusive);
        if from >= to { &[] } else { &self.log[from..to] }
    }

    /// The whole history this node holds, in offset order.
    pub fn log(&self) -> &[CommittedTx] {
        &self.log
    }

    /// `GetHighestOffsetByTimestamp` (3.4): the offset of the latest update with record time
    /// `<= at`, latest meaning greatest (record time, offset), which is the highest offset as long
    /// as record times increase with offsets and stays meaningful when a participant-local ACS
    /// import put an old record time at a high offset. `None` if there is no such update.
    pub fn highest_offset_at_or_before(&self, at: Timestamp) -> Option<i64> {
        self.log
            .iter()
            .filter(|tx| tx.record_time <= at)
            .max_by_key(|tx| (tx.record_time, tx.offset))
            .map(|tx| tx.offset)
    }

    /// Prunes history up to `offset` inclusive: reads starting before it then fail with
    /// `PARTICIPANT_PRUNED_DATA_ACCESSED`. Pruning below the current pruning offset is a no-op.
    pub fn prune(&mut self, offset: i64) -> Result<(), LedgerError> {
        if offset < 0 || offset > self.ledger_end() {
            return Err(LedgerError::PruneBeyondLedgerEnd {
                offset,
                ledger_end: self.ledger_end(),
            });
        }
        self.pruned_up_to = self.pruned_up_to.max(offset);
        Ok(())
    }

    /// Turns this node into `snapshot` (a clone of it taken earlier) that then reconnected to the
    /// synchronizer: node-local state is the snapshot's, while what the synchronizer holds
    /// survives (parties, the clock, id counters) and every synchronizer update committed since
    /// the snapshot is delivered again, with the same update id, record time and content but new
    /// offsets, which continue after the snapshot's ledger end plus
    /// [`LedgerConfig::restore_offset_gap`]. Participant-local updates after the snapshot (ACS
    /// imports) are lost. Returns how many updates were re-delivered.
    pub fn restore(&mut self, snapshot: &Ledger) -> usize {
        let current = std::mem::replace(self, snapshot.clone());
        self.clock = current.clock;
        self.ids = current.ids;
        self.parties = current.parties;
        self.incarnation = current.incarnation + 1;
        self.next_offset =
            self.next_offset.max(self.ledger_end() + 1) + self.config.restore_offset_gap;
        let mut redelivered = 0;
        for tx in current.log {
            if tx.origin == Origin::Synchronizer && !self.by_update_id.contains_key(&tx.update_id) {
                self.append(tx);
                redelivered += 1;
            }
        }
        redelivered
    }

    /// Commits a participant-local update at a given record time, outside the synchronizer's
    /// clock: how an ACS import (party migration, repair) shows up on the Ledger API. Such
    /// updates break the rule that record times increase with offsets.
    pub fn import_local<E>(
        &mut self,
        record_time: Timestamp,
        command_id: &str,
        build: impl FnOnce(&mut TxContext<'_>) -> Result<Vec<Node>, E>,
    ) -> Result<&CommittedTx, E>
    where
        E: From<LedgerError>,
    {
        let roots = build(&mut TxContext {
            let_time: record_time,
            ids: &mut self.ids,
            contracts: &self.contracts,
        })?;
        let nodes = Numbering::run(&self.contracts, &roots)?;
        let update_id = self.ids.next_update_id();
        let traceparent = self.ids.traceparent(&update_id);
        Ok(self.append(CommittedTx {
            offset: 0,
            origin: Origin::ParticipantLocal,
            update_id,
            command_id: command_id.to_owned(),
            act_as: BTreeSet::new(),
            effective_at: record_time,
            record_time,
            traceparent,
            nodes,
        }))
    }

    /// Gives `tx` the next offset and applies its effects to the contract store. Tolerant of
    /// archives of unknown contracts: a re-delivered update may consume a contract that only a
    /// lost ACS import had created.
    fn append(&mut self, mut tx: CommittedTx) -> &CommittedTx {
        let offset = self.next_offset;
        self.next_offset += 1;
        tx.offset = offset;
        for node in &tx.nodes {
            match &node.kind {
                TxNodeKind::Create(create) => {
                    if !node.transient {
                        let by_party = self
                            .active_index
                            .entry(create.template.clone())
                            .or_default();
                        for party in create.signatories.union(&create.observers) {
                            by_party
                                .entry(party.clone())
                                .or_default()
                                .insert(create.contract_id.clone());
                        }
                    }
                    self.contracts.insert(
                        create.contract_id.clone(),
                        ContractRecord {
                            create: create.clone(),
                            created_at: tx.effective_at,
                            created: EventRef {
                                offset,
                                node_id: node.node_id,
                            },
                            archived: None,
                        },
                    );
                }
                TxNodeKind::Exercise {
                    contract_id,
                    consuming: true,
                    ..
                } => {
                    if let Some(c) = self.contracts.get_mut(contract_id) {
                        c.archived = Some(EventRef {
                            offset,
                            node_id: node.node_id,
                        });
                        if let Some(by_party) = self.active_index.get_mut(&c.create.template) {
                            for party in c.create.signatories.union(&c.create.observers) {
                                if let Some(set) = by_party.get_mut(party) {
                                    set.remove(contract_id);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        self.by_update_id
            .insert(tx.update_id.clone(), self.log.len());
        self.log.push(tx);
        self.log.last().expect("just pushed")
    }

    pub fn contract(&self, contract_id: &str) -> Option<&ContractRecord> {
        self.contracts.get(contract_id)
    }

    pub fn active_contracts(&self) -> impl Iterator<Item = &ContractRecord> {
        self.contracts.values().filter(|c| c.is_active())
    }

    /// Active contracts of `template` that `party` is a stakeholder of, by contract id.
    pub fn active_of<'a>(
        &'a self,
        template: &Identifier,
        party: &str,
    ) -> impl Iterator<Item = &'a ContractRecord> + 'a {
        self.active_index
            .get(template)
            .and_then(|by_party| by_party.get(party))
            .into_iter()
            .flatten()
            .filter_map(|cid| self.contracts.get(cid))
    }

    /// Builds and commits one transaction atomically: if `build` or validation fails, nothing
    /// changes but the id counters (which only keeps later ids distinct).
    pub fn transact<E>(
        &mut self,
        meta: SubmissionMeta,
        build: impl FnOnce(&mut TxContext<'_>) -> Result<Vec<Node>, E>,
    ) -> Result<&CommittedTx, E>
    where
        E: From<LedgerError>,
    {
        for party in &meta.act_as {
            if !self.is_known_party(party) {
                return Err(LedgerError::UnknownParty(party.clone()).into());
            }
        }
        let record_time = self.clock.peek_next(meta.record_time);
        let let_time = record_time
            .checked_add_micros(-self.config.submission_latency_micros)
            .unwrap_or(record_time);
        let roots = build(&mut TxContext {
            let_time,
            ids: &mut self.ids,
            contracts: &self.contracts,
        })?;
        let nodes = Numbering::run(&self.contracts, &roots)?;
        // Validated: from here on nothing fails.
        self.clock.commit(record_time);
        let update_id = self.ids.next_update_id();
        let traceparent = self.ids.traceparent(&update_id);
        Ok(self.append(CommittedTx {
            offset: 0,
            origin: Origin::Synchronizer,
            update_id,
            command_id: meta.command_id,
            act_as: meta.act_as,
            effective_at: let_time,
            record_time,
            traceparent,
            nodes,
        }))
    }
}

/// Pre-order numbering and validation of a transaction against the contract store.
struct Numbering<'a> {
    store: &'a BTreeMap<String, ContractRecord>,
    /// Contracts created earlier in this transaction: (stakeholders-bearing record, index).
    created_here: BTreeMap<String, Create>,
    consumed_here: BTreeSet<String>,
    out: Vec<TxNode>,
}

impl<'a> Numbering<'a> {
    fn run(
        store: &'a BTreeMap<String, ContractRecord>,
        roots: &[Node],
    ) -> Result<Vec<TxNode>, LedgerError> {
        let mut n = Numbering {
            store,
            created_here: BTreeMap::new(),
            consumed_here: BTreeSet::new(),
            out: Vec::new(),
        };
        for root in roots {
            n.visit(root, &BTreeSet::new())?;
        }
        for node in &mut n.out {
            node.transient = matches!(&node.kind, TxNodeKind::Create(c) if n.consumed_here.contains(&c.contract_id))
                || matches!(&node.kind, TxNodeKind::Exercise { contract_id, consuming: true, .. } if n.created_here.contains_key(contract_id));
        }
        Ok(n.out)
    }

    /// The contract a node acts on, if it is active at this point of the transaction.
    fn target(&self, contract_id: &str) -> Result<Create, LedgerError> {
        if self.consumed_here.contains(contract_id) {
            return Err(LedgerError::ContractNotFound(contract_id.to_owned()));
        }
        if let Some(c) = self.created_here.get(contract_id) {
            return Ok(c.clone());
        }
        match self.store.get(contract_id) {
            Some(c) if c.is_active() => Ok(c.create.clone()),
            _ => Err(LedgerError::ContractNotFound(contract_id.to_owned())),
        }
    }

    fn visit(&mut self, node: &Node, inherited: &BTreeSet<String>) -> Result<(), LedgerError> {
        let node_id = self.out.len() as i32;
        match node {
            Node::Create(create) => {
                if self.store.contains_key(&create.contract_id)
                    || self.created_here.contains_key(&create.contract_id)
                {
                    return Err(LedgerError::DuplicateContractId(create.contract_id.clone()));
                }
                let stakeholders: BTreeSet<String> = create
                    .signatories
                    .union(&create.observers)
                    .cloned()
                    .collect();
                self.created_here
                    .insert(create.contract_id.clone(), create.clone());
                self.out.push(TxNode {
                    node_id,
                    last_descendant: node_id,
                    witnesses: inherited.union(&stakeholders).cloned().collect(),
                    stakeholders,
                    template: create.template.clone(),
                    interfaces: create.interfaces.iter().map(|(i, _)| i.clone()).collect(),
                    transient: false,
                    kind: TxNodeKind::Create(create.clone()),
                });
            }
            Node::Fetch(fetch) => {
                let target = self.target(&fetch.contract_id)?;
                let stakeholders = stakeholders(&target);
                self.out.push(TxNode {
                    node_id,
                    last_descendant: node_id,
                    witnesses: inherited.clone(),
                    stakeholders,
                    template: target.template.clone(),
                    interfaces: target.interfaces.iter().map(|(i, _)| i.clone()).collect(),
                    transient: false,
                    kind: TxNodeKind::Fetch {
                        contract_id: fetch.contract_id.clone(),
                    },
                });
            }
            Node::Exercise(ex) => {
                let target = self.target(&ex.contract_id)?;
                let stakeholders = stakeholders(&target);
                // Informees: signatories and actors, plus observers if the choice consumes.
                let mut informees: BTreeSet<String> = target
                    .signatories
                    .union(&ex.acting_parties)
                    .cloned()
                    .collect();
                if ex.consuming {
                    informees.extend(target.observers.iter().cloned());
                    self.consumed_here.insert(ex.contract_id.clone());
                }
                // Everyone who sees a node sees its whole subtree.
                let witnesses: BTreeSet<String> = inherited.union(&informees).cloned().collect();
                let index = self.out.len();
                self.out.push(TxNode {
                    node_id,
                    last_descendant: node_id,
                    witnesses: witnesses.clone(),
                    stakeholders,
                    template: target.template.clone(),
                    interfaces: target.interfaces.iter().map(|(i, _)| i.clone()).collect(),
                    transient: false,
                    kind: TxNodeKind::Exercise {
                        contract_id: ex.contract_id.clone(),
                        interface: ex.interface.clone(),
                        choice: ex.choice.clone(),
                        argument: ex.argument.clone(),
                        acting_parties: ex.acting_parties.clone(),
                        consuming: ex.consuming,
                        result: ex.result.clone(),
                    },
                });
                for child in &ex.children {
                    self.visit(child, &witnesses)?;
                }
                self.out[index].last_descendant = self.out.len() as i32 - 1;
            }
        }
        Ok(())
    }
}

fn stakeholders(c: &Create) -> BTreeSet<String> {
    c.signatories.union(&c.observers).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tree::{Exercise, Fetch, parties};

    fn template() -> Identifier {
        Identifier::new("pkg", "pkg-name", "M", "T")
    }

    fn create(ctx: &mut TxContext<'_>, owner: &str) -> Create {
        Create {
            contract_id: ctx.new_contract_id(),
            template: template(),
            argument: Value::record(vec![("owner", Value::party(owner))]),
            signatories: parties([owner]),
            observers: BTreeSet::new(),
            interfaces: vec![],
        }
    }

    #[test]
    fn numbers_in_pre_order_and_refuses_a_second_archive() {
        let mut l = Ledger::new(LedgerConfig::default());
        let alice = l.allocate_party("alice").unwrap();
        let bob = l.allocate_party("bob").unwrap();
        let meta = SubmissionMeta {
            act_as: parties([alice.as_str()]),
            ..Default::default()
        };
        let tx = l
            .transact::<LedgerError>(meta.clone(), |ctx| {
                Ok(vec![Node::Create(create(ctx, &alice))])
            })
            .unwrap();
        assert_eq!(tx.offset, 1);
        let TxNodeKind::Create(c) = &tx.nodes[0].kind else {
            panic!()
        };
        let cid = c.contract_id.clone();
        let archive_and_pay = |ctx: &mut TxContext<'_>| -> Result<Vec<Node>, LedgerError> {
            let signatories = ctx.active(&cid).map(|c| c.create.signatories.clone());
            let root = Exercise {
                children: vec![
                    Node::Fetch(Fetch {
                        contract_id: cid.clone(),
                        acting_parties: parties([alice.as_str()]),
                    }),
                    Node::Exercise(Exercise::archive(&cid, &signatories.unwrap_or_default())),
                    Node::Create(create(ctx, &bob)),
                ],
                ..Exercise::archive(&cid, &parties([alice.as_str()]))
            };
            // A nonconsuming root over the contract, so the archive below is legal.
            Ok(vec![Node::Exercise(Exercise {
                consuming: false,
                choice: "Pay".into(),
                ..root
            })])
        };
        let tx = l.transact(meta.clone(), archive_and_pay).unwrap();
        let ids: Vec<_> = tx
            .nodes
            .iter()
            .map(|n| (n.node_id, n.last_descendant))
            .collect();
        assert_eq!(ids, vec![(0, 3), (1, 1), (2, 2), (3, 3)]);
        // Bob's create is witnessed by alice (ancestor informee) and bob (stakeholder).
        assert_eq!(
            tx.nodes[3].witnesses,
            parties([alice.as_str(), bob.as_str()])
        );
        assert!(l.transact(meta, archive_and_pay).is_err());
        assert_eq!(l.ledger_end(), 2);
        assert!(l.update_at(2).unwrap().record_time > l.update_at(1).unwrap().record_time);
    }
}
