//! The participant's ledger: parties, contract store and update log, changed only by committing
//! whole transactions. Pure and deterministic: no IO, no wall clock, no randomness.
//!
//! The node may be connected to several synchronizers. Offsets are one node-wide sequence (the
//! node merges the synchronizers' streams into one), while record times come from each
//! synchronizer's own clock: strictly increasing per synchronizer, unrelated across them, so in
//! offset order they may go down when the synchronizer changes. A contract lives on the
//! synchronizer of the transaction that created it (no reassignments), and a transaction
//! commits where its inputs live.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::{Arc, RwLockReadGuard};

use exchange_core::Timestamp;

use crate::model::clock::{ClockError, SyncClock};
use crate::model::compact::{self, Encoded, FxHashMap, PartySet, Sym, SymbolTable, Symbols};
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
    /// The synchronizers the node is connected to, the global one first (what
    /// [`Ledger::synchronizer_id`] names and what a transaction without inputs defaults to).
    /// Empty means the default: the global synchronizer alone.
    pub synchronizers: Vec<SynchronizerConfig>,
}

/// One synchronizer connection. Its id is `identifier::1220…` (the namespace derives from the
/// seed and the identifier), the real format; its record-time clock is its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynchronizerConfig {
    /// The participant's local name for the connection (`synchronizerAlias`).
    pub alias: String,
    /// The id's identifier part (`global-domain` on the Global Synchronizer).
    pub identifier: String,
    /// This clock's first record time is one step after it; `None`: [`LedgerConfig::start_time`].
    /// Record times of different synchronizers are unrelated: one may run behind another.
    pub start_time: Option<Timestamp>,
}

impl SynchronizerConfig {
    /// The Global Synchronizer as a Splice validator names it.
    pub fn global() -> SynchronizerConfig {
        SynchronizerConfig {
            alias: "global".into(),
            identifier: "global-domain".into(),
            start_time: None,
        }
    }
}

/// A connected synchronizer: its identity and its record-time clock.
#[derive(Debug, Clone)]
pub struct Synchronizer {
    pub alias: String,
    pub id: String,
    clock: SyncClock,
}

impl Synchronizer {
    /// The latest record time this synchronizer has handed out (its clean time here).
    pub fn record_time(&self) -> Timestamp {
        self.clock.current()
    }
}

/// Index of a synchronizer in [`Ledger::synchronizers`]; 0 is the global one.
pub type SyncIdx = usize;

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            seed: "canton-sandbox".to_owned(),
            // 2025-09-26T09:42:00Z, the day of the LocalNet recording.
            start_time: Timestamp::from_micros(1_758_879_720_000_000).expect("in range"),
            clock_step_micros: 1_000_000,
            submission_latency_micros: 70_913,
            restore_offset_gap: 10,
            synchronizers: vec![SynchronizerConfig::global()],
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
    /// A synchronizer id this node is not connected to (a submission's `synchronizerId`).
    #[error("Trying to submit to a disconnected or not configured synchronizer.")]
    UnknownSynchronizer(String),
    /// The inputs live on more than one synchronizer; a real node would need reassignments,
    /// which the sandbox does not model (Canton without multi-synchronizer support says so).
    #[error("This transaction requires multi-synchronizer support which is turned off on this participant.\n Used contracts reside on synchronizers {}. ", set_text(.0))]
    MultiSynchronizer(Vec<String>),
    /// The submitter prescribed a synchronizer, the inputs are on another one.
    #[error("The needed input contracts are not on {prescribed}, but on {actual}")]
    InputsNotOnSynchronizer { prescribed: String, actual: String },
    /// A second transaction during a dry run (see [`Ledger::begin_dry_run`]).
    #[error("a dry run interprets one transaction only")]
    DryRunComplete,
}

/// Scala's `Set(a, b)`, as Canton's messages print sets.
fn set_text(items: &[String]) -> String {
    format!("Set({})", items.join(", "))
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

/// A contract as the tokens read it: decoded from the store (see [`Ledger::contract`]).
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
}

/// A create as the ledger stores it (`compact`): shared by the creating node and the contract
/// store.
#[derive(Debug)]
pub struct StoredCreate {
    pub contract_id: Sym,
    pub template: Identifier,
    pub argument: Encoded,
    pub signatories: PartySet,
    /// Never contains a signatory.
    pub observers: PartySet,
    /// Signatories and observers.
    pub stakeholders: PartySet,
    /// The interfaces the template implements, in declaration order …
    pub interface_ids: Arc<[Identifier]>,
    /// … and this contract's view of each, in the same order.
    pub views: Box<[Encoded]>,
}

impl StoredCreate {
    fn store(create: &Create, table: &mut SymbolTable) -> StoredCreate {
        let signatories = table.party_set(create.signatories.iter().map(String::as_str));
        let observers = table.party_set(create.observers.iter().map(String::as_str));
        StoredCreate {
            contract_id: table.intern(&create.contract_id),
            template: create.template.clone(),
            argument: compact::encode(&create.argument, table),
            signatories,
            observers,
            stakeholders: table.union(signatories, observers),
            interface_ids: create.interfaces.iter().map(|(i, _)| i.clone()).collect(),
            views: create
                .interfaces
                .iter()
                .map(|(_, v)| compact::encode(v, table))
                .collect(),
        }
    }

    fn decode(&self, table: &SymbolTable) -> Create {
        let set = |s| table.parties(s).map(str::to_owned).collect();
        Create {
            contract_id: table.get(self.contract_id).to_owned(),
            template: self.template.clone(),
            argument: compact::decode(&self.argument, table),
            signatories: set(self.signatories),
            observers: set(self.observers),
            interfaces: self
                .interface_ids
                .iter()
                .zip(self.views.iter())
                .map(|(i, v)| (i.clone(), compact::decode(v, table)))
                .collect(),
        }
    }
}

/// A contract in the store.
#[derive(Debug, Clone)]
pub struct StoredContract {
    pub create: Arc<StoredCreate>,
    /// Where the contract lives (that of its creating transaction: no reassignments here).
    pub synchronizer: SyncIdx,
    pub created_at: Timestamp,
    pub created: EventRef,
    pub archived: Option<EventRef>,
}

impl StoredContract {
    pub fn is_active(&self) -> bool {
        self.archived.is_none()
    }

    fn decode(&self, table: &SymbolTable) -> ContractRecord {
        ContractRecord {
            create: self.create.decode(table),
            created_at: self.created_at,
            created: self.created,
            archived: self.archived,
        }
    }
}

/// One visible-in-principle node of a committed transaction, numbered in pre-order over the
/// full tree. Fetch nodes are not kept: no reader ever sees them, and the gaps they leave in
/// the numbering are all that remains of them.
#[derive(Debug, Clone)]
pub struct TxNode {
    pub node_id: i32,
    /// Equal to `node_id` for leaves; full-tree numbering.
    pub last_descendant: i32,
    pub kind: TxNodeKind,
    /// Informees of this node and of every ancestor: who sees it in `LEDGER_EFFECTS`.
    pub witnesses: PartySet,
    /// Stakeholders of the contract the node is about: who sees it in `ACS_DELTA`.
    pub stakeholders: PartySet,
    /// Template of the contract the node is about.
    pub template: Identifier,
    /// Interfaces that template implements.
    pub interfaces: Arc<[Identifier]>,
    /// Created and archived within this same transaction (never in an ACS delta).
    pub transient: bool,
}

#[derive(Debug, Clone)]
pub enum TxNodeKind {
    Create(Arc<StoredCreate>),
    Exercise {
        contract_id: Sym,
        interface: Option<Identifier>,
        choice: Sym,
        argument: Encoded,
        acting_parties: PartySet,
        consuming: bool,
        result: Encoded,
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
    /// The synchronizer it was committed on; `record_time` is that synchronizer's.
    pub synchronizer: SyncIdx,
    pub origin: Origin,
    pub update_id: String,
    pub command_id: String,
    pub act_as: PartySet,
    pub effective_at: Timestamp,
    pub record_time: Timestamp,
    pub traceparent: String,
    /// Hex of the prepared-transaction hash the external submitters signed (interactive
    /// submission); `None` for transactions submitted by local parties.
    pub external_transaction_hash: Option<Box<str>>,
    pub nodes: Box<[TxNode]>,
}

/// What a submitter sees while building a transaction: the ledger effective time it will have,
/// fresh contract ids and the active contracts.
pub struct TxContext<'a> {
    pub let_time: Timestamp,
    ids: &'a mut IdGen,
    store: &'a Store,
}

impl TxContext<'_> {
    pub fn new_contract_id(&mut self) -> String {
        self.ids.next_contract_id()
    }

    /// An active contract (as of before this transaction).
    pub fn active(&self, contract_id: &str) -> Option<ContractRecord> {
        self.store.contract(contract_id).filter(|c| c.is_active())
    }
}

/// The identity of a submission; `record_time` lets a caller pin the record time (it is used
/// only if later than the clock); `synchronizer` is where the submitting token's contracts live
/// (a submission's prescribed `synchronizerId` overrides it, see [`Ledger::with_prescribed`]).
#[derive(Debug, Clone, Default)]
pub struct SubmissionMeta {
    pub command_id: String,
    pub act_as: BTreeSet<String>,
    pub record_time: Option<Timestamp>,
    pub synchronizer: SyncIdx,
}

/// The contract store and its symbol table.
#[derive(Debug, Clone, Default)]
struct Store {
    symbols: Symbols,
    contracts: FxHashMap<Sym, StoredContract>,
    /// Active contracts by template and stakeholder, so that wallets' lookups ("my holdings",
    /// "the receiver's preapproval") do not scan the whole store (the `load` scenario needs it).
    active_index: FxHashMap<(Identifier, Sym), BTreeSet<Sym>>,
}

impl Store {
    fn stored(&self, table: &SymbolTable, contract_id: &str) -> Option<&StoredContract> {
        table
            .lookup(contract_id)
            .and_then(|s| self.contracts.get(&s))
    }

    fn contract(&self, contract_id: &str) -> Option<ContractRecord> {
        let table = self.symbols.read();
        self.stored(&table, contract_id).map(|c| c.decode(&table))
    }
}

#[derive(Debug, Clone)]
pub struct Ledger {
    config: LedgerConfig,
    ids: IdGen,
    /// Connected synchronizers, the global one first. Offsets are one node-wide sequence over
    /// all of them; record times are per synchronizer.
    synchronizers: Vec<Synchronizer>,
    /// A submission's prescribed synchronizer while it is interpreted (see
    /// [`Ledger::with_prescribed`]).
    prescribed: Option<SyncIdx>,
    participant_id: String,
    parties: BTreeMap<String, PartyRecord>,
    store: Store,
    /// In offset order; offsets increase but may have gaps (after a restore). Shared with
    /// backups: a snapshot copies pointers, not transactions.
    log: Vec<Arc<CommittedTx>>,
    by_update_id: FxHashMap<String, usize>,
    /// The offset the next update gets.
    next_offset: i64,
    /// The latest offset handed out: the last update's, or a later one taken by a command
    /// rejection (rejections have offsets on the completion stream but no update).
    end: i64,
    /// Updates at or below it are gone (`latest-pruned-offsets`); 0 = nothing pruned.
    pruned_up_to: i64,
    /// Bumped by every restore: a restored node is a restarted node, whose open streams end.
    incarnation: u64,
    /// Set between [`Ledger::begin_dry_run`] and [`Ledger::end_dry_run`]: where the full tree
    /// (fetch nodes included) of the one transaction interpreted is kept, for `prepare`.
    dry_run: Option<DryRun>,
}

/// A dry run: the ids before it (those drawn during it are handed out again), and the one
/// transaction interpreted, uncommitted, with its full tree.
#[derive(Debug, Clone)]
struct DryRun {
    ids: IdGen,
    interpreted: Option<(CommittedTx, Vec<Node>)>,
}

impl Ledger {
    pub fn new(config: LedgerConfig) -> Ledger {
        let ids = IdGen::new(config.seed.clone());
        let configured = if config.synchronizers.is_empty() {
            vec![SynchronizerConfig::global()]
        } else {
            config.synchronizers.clone()
        };
        let synchronizers = configured
            .into_iter()
            .map(|c| Synchronizer {
                id: format!("{}::{}", c.identifier, ids.namespace(&c.identifier)),
                alias: c.alias,
                clock: SyncClock::new(
                    c.start_time.unwrap_or(config.start_time),
                    config.clock_step_micros,
                ),
            })
            .collect();
        let participant_id = format!("PAR::sandbox::{}", ids.namespace("participant"));
        Ledger {
            ids,
            synchronizers,
            prescribed: None,
            participant_id,
            parties: BTreeMap::new(),
            store: Store::default(),
            log: Vec::new(),
            by_update_id: FxHashMap::default(),
            next_offset: 1,
            end: 0,
            pruned_up_to: 0,
            incarnation: 0,
            dry_run: None,
            config,
        }
    }

    /// The strings behind the symbols of stored transactions and contracts.
    pub fn symbols(&self) -> RwLockReadGuard<'_, SymbolTable> {
        self.store.symbols.read()
    }

    /// How many restores this node has been through.
    pub fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The global synchronizer's id (the first one connected).
    pub fn synchronizer_id(&self) -> &str {
        &self.synchronizers[0].id
    }

    /// Every connected synchronizer, the global one first.
    pub fn synchronizers(&self) -> &[Synchronizer] {
        &self.synchronizers
    }

    pub fn synchronizer(&self, index: SyncIdx) -> &Synchronizer {
        &self.synchronizers[index]
    }

    /// The index of a connected synchronizer, by id.
    pub fn synchronizer_index(&self, id: &str) -> Option<SyncIdx> {
        self.synchronizers.iter().position(|s| s.id == id)
    }

    /// The index of a connected synchronizer, by id or alias.
    pub fn synchronizer_by_name(&self, name: &str) -> Option<SyncIdx> {
        self.synchronizer_index(name)
            .or_else(|| self.synchronizers.iter().position(|s| s.alias == name))
    }

    /// The id of the synchronizer `tx` was committed on.
    pub fn synchronizer_of(&self, tx: &CommittedTx) -> &str {
        &self.synchronizers[tx.synchronizer].id
    }

    /// The synchronizer a contract lives on, if the store has it.
    pub fn contract_synchronizer(&self, contract_id: &str) -> Option<SyncIdx> {
        let table = self.symbols();
        self.store
            .stored(&table, contract_id)
            .map(|c| c.synchronizer)
    }

    /// From now on transactions commit on `prescribed` (a submission's `synchronizerId`) instead
    /// of their token's synchronizer, until set back (`None`); returns the previous setting.
    /// Input contracts elsewhere are refused with `INVALID_PRESCRIBED_SYNCHRONIZER_ID`.
    pub fn prescribe(&mut self, prescribed: Option<SyncIdx>) -> Option<SyncIdx> {
        std::mem::replace(&mut self.prescribed, prescribed)
    }

    pub fn participant_id(&self) -> &str {
        &self.participant_id
    }

    /// The global synchronizer's latest record time.
    pub fn record_time(&self) -> Timestamp {
        self.record_time_of(0)
    }

    /// A synchronizer's latest record time.
    pub fn record_time_of(&self, synchronizer: SyncIdx) -> Timestamp {
        self.synchronizers[synchronizer].clock.current()
    }

    /// Moves the global synchronizer's clock.
    pub fn advance_time(&mut self, micros: i64) -> Result<Timestamp, LedgerError> {
        self.advance_time_of(0, micros)
    }

    pub fn set_time(&mut self, to: Timestamp) -> Result<Timestamp, LedgerError> {
        self.set_time_of(0, to)
    }

    /// Moves one synchronizer's clock; the others stand still (they are unrelated).
    pub fn advance_time_of(
        &mut self,
        synchronizer: SyncIdx,
        micros: i64,
    ) -> Result<Timestamp, LedgerError> {
        Ok(self.synchronizers[synchronizer].clock.advance(micros)?)
    }

    pub fn set_time_of(
        &mut self,
        synchronizer: SyncIdx,
        to: Timestamp,
    ) -> Result<Timestamp, LedgerError> {
        Ok(self.synchronizers[synchronizer].clock.set(to)?)
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
        self.end
    }

    /// Takes the next offset without an update, for a command rejection's completion: Canton
    /// gives rejections offsets too, so a client reading completions from the ledger end it saw
    /// before submitting also sees its rejection.
    pub fn reserve_offset(&mut self) -> i64 {
        let offset = self.next_offset;
        self.next_offset += 1;
        self.end = offset;
        offset
    }

    /// The record time the next transaction would get if submitted now (what the sequencer
    /// would stamp; compared with a submission's max sequencing time).
    pub fn next_record_time(&self, synchronizer: SyncIdx) -> Timestamp {
        self.synchronizers[synchronizer].clock.peek_next(None)
    }

    /// The ledger effective time the next transaction on `synchronizer` would get: what a
    /// wallet reads as "now" when it sets a transfer's `requestedAt`.
    pub fn next_ledger_time(&self, synchronizer: SyncIdx) -> Timestamp {
        let next = self.next_record_time(synchronizer);
        next.checked_add_micros(-self.config.submission_latency_micros)
            .unwrap_or(next)
    }

    /// Hosts an external party `hint::<fingerprint>`, whose namespace is its signing key.
    pub fn allocate_external_party(
        &mut self,
        hint: &str,
        fingerprint: &str,
    ) -> Result<String, LedgerError> {
        let party = format!("{hint}::{fingerprint}");
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

    /// Records on the update at `offset` (just committed by an interactive submission) the hash
    /// its external submitters signed.
    pub fn set_external_transaction_hash(&mut self, offset: i64, hash_hex: &str) {
        let i = self.log.partition_point(|tx| tx.offset < offset);
        if let Some(tx) = self.log.get_mut(i).filter(|tx| tx.offset == offset) {
            // Unshared unless a backup was taken in between, in which case it is copied.
            Arc::make_mut(tx).external_transaction_hash = Some(hash_hex.into());
        }
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
        self.log
            .get(i)
            .filter(|tx| tx.offset == offset)
            .map(|tx| &**tx)
    }

    /// The update with this id, unless it was pruned.
    pub fn update_by_id(&self, update_id: &str) -> Option<&CommittedTx> {
        self.by_update_id
            .get(update_id)
            .map(|&i| &*self.log[i])
            .filter(|tx| tx.offset > self.pruned_up_to)
    }

    /// Updates with `begin_exclusive < offset <= end_inclusive` (pruned ones included: callers
    /// refuse to read below the pruning offset first).
    pub fn updates_between(&self, begin_exclusive: i64, end_inclusive: i64) -> &[Arc<CommittedTx>] {
        let from = self.log.partition_point(|tx| tx.offset <= begin_exclusive);
        let to = self.log.partition_point(|tx| tx.offset <= end_inclusive);
        if from >= to { &[] } else { &self.log[from..to] }
    }

    /// The whole history this node holds, in offset order.
    pub fn log(&self) -> &[Arc<CommittedTx>] {
        &self.log
    }

    /// [`Ledger::highest_offset_at_or_before_on`] the global synchronizer.
    pub fn highest_offset_at_or_before(&self, at: Timestamp) -> Option<i64> {
        self.highest_offset_at_or_before_on(0, at)
    }

    /// `GetHighestOffsetByTimestamp` (3.4): the offset of the latest update of `synchronizer`
    /// with record time `<= at`, latest meaning greatest (record time, offset), which is the
    /// highest offset as long as record times increase with offsets and stays meaningful when a
    /// participant-local ACS import put an old record time at a high offset. Other
    /// synchronizers' updates do not count: their record times are unrelated. `None` if there is
    /// no such update.
    pub fn highest_offset_at_or_before_on(
        &self,
        synchronizer: SyncIdx,
        at: Timestamp,
    ) -> Option<i64> {
        self.log
            .iter()
            .filter(|tx| tx.synchronizer == synchronizer && tx.record_time <= at)
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
    /// synchronizers: node-local state is the snapshot's, while what the synchronizers hold
    /// survives (parties, their clocks, id counters) and every synchronizer update committed since
    /// the snapshot is delivered again, with the same update id, record time and content but new
    /// offsets, which continue after the snapshot's ledger end plus
    /// [`LedgerConfig::restore_offset_gap`]. Participant-local updates after the snapshot (ACS
    /// imports) are lost. Returns how many updates were re-delivered.
    pub fn restore(&mut self, snapshot: &Ledger) -> usize {
        let current = std::mem::replace(self, snapshot.clone());
        // Each synchronizer re-delivers its own updates; interleaved in the old offset order,
        // which keeps each synchronizer's record times increasing.
        self.synchronizers = current.synchronizers;
        self.ids = current.ids;
        self.parties = current.parties;
        self.incarnation = current.incarnation + 1;
        self.next_offset =
            self.next_offset.max(self.ledger_end() + 1) + self.config.restore_offset_gap;
        let mut redelivered = 0;
        for tx in current.log {
            if tx.origin == Origin::Synchronizer && !self.by_update_id.contains_key(&tx.update_id) {
                self.append(Arc::unwrap_or_clone(tx));
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
        synchronizer: SyncIdx,
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
            store: &self.store,
        })?;
        let (nodes, act_as) = {
            let mut table = self.store.symbols.write();
            let (nodes, _) = Numbering::run(&self.store, &mut table, &roots)?;
            (nodes, table.party_set([]))
        };
        let update_id = self.ids.next_update_id();
        let traceparent = self.ids.traceparent(&update_id);
        Ok(self.append(CommittedTx {
            offset: 0,
            synchronizer,
            origin: Origin::ParticipantLocal,
            update_id,
            command_id: command_id.to_owned(),
            act_as,
            effective_at: record_time,
            record_time,
            traceparent,
            external_transaction_hash: None,
            nodes,
        }))
    }

    /// Gives `tx` the next offset and applies its effects to the contract store. Tolerant of
    /// archives of unknown contracts: a re-delivered update may consume a contract that only a
    /// lost ACS import had created.
    fn append(&mut self, mut tx: CommittedTx) -> &CommittedTx {
        let offset = self.next_offset;
        self.next_offset += 1;
        self.end = offset;
        tx.offset = offset;
        let store = &mut self.store;
        let table = store.symbols.read();
        for node in tx.nodes.iter() {
            let at = EventRef {
                offset,
                node_id: node.node_id,
            };
            match &node.kind {
                TxNodeKind::Create(create) => {
                    if !node.transient {
                        for party in table.party_syms(create.stakeholders) {
                            store
                                .active_index
                                .entry((create.template.clone(), *party))
                                .or_default()
                                .insert(create.contract_id);
                        }
                    }
                    store.contracts.insert(
                        create.contract_id,
                        StoredContract {
                            create: create.clone(),
                            synchronizer: tx.synchronizer,
                            created_at: tx.effective_at,
                            created: at,
                            archived: None,
                        },
                    );
                }
                TxNodeKind::Exercise {
                    contract_id,
                    consuming: true,
                    ..
                } => {
                    if let Some(c) = store.contracts.get_mut(contract_id) {
                        c.archived = Some(at);
                        for party in table.party_syms(c.create.stakeholders) {
                            if let Some(set) = store
                                .active_index
                                .get_mut(&(c.create.template.clone(), *party))
                            {
                                set.remove(contract_id);
                            }
                        }
                    }
                }
                TxNodeKind::Exercise { .. } => {}
            }
        }
        drop(table);
        self.by_update_id
            .insert(tx.update_id.clone(), self.log.len());
        self.log.push(Arc::new(tx));
        self.log.last().expect("just pushed")
    }

    /// From now on, keeps the full tree of every transaction committed (see
    /// [`Ledger::captured_tree`]); for scratch copies of the ledger only.
    /// From now until [`Ledger::end_dry_run`], the first transaction submitted is interpreted
    /// and validated as for a commit but not committed (no offset, clock tick, contract or id is
    /// used up), and any later one is refused ([`LedgerError::DryRunComplete`]). What `prepare`
    /// needs, at the cost of one transaction rather than a copy of the whole node.
    pub fn begin_dry_run(&mut self) {
        self.dry_run = Some(DryRun {
            ids: self.ids.clone(),
            interpreted: None,
        });
    }

    /// Ends the dry run: the transaction it interpreted (offset: the one it would have had) and
    /// its full tree, fetches included.
    pub fn end_dry_run(&mut self) -> Option<(CommittedTx, Vec<Node>)> {
        let dry = self.dry_run.take()?;
        self.ids = dry.ids;
        dry.interpreted
    }

    /// A contract of the store, active or archived, decoded.
    pub fn contract(&self, contract_id: &str) -> Option<ContractRecord> {
        self.store.contract(contract_id)
    }

    /// A contract as stored (what projections render from).
    pub fn stored_contract(&self, contract_id: &str) -> Option<StoredContract> {
        let table = self.symbols();
        self.store.stored(&table, contract_id).cloned()
    }

    /// Every contract active at `offset` (created at or before it, not archived by then), in
    /// creation order: the active contract set a `/v2/state/active-contracts` call reads.
    pub fn contracts_active_at(&self, offset: i64) -> Vec<&StoredContract> {
        let mut out: Vec<&StoredContract> = self
            .store
            .contracts
            .values()
            .filter(|c| c.created.offset <= offset && c.archived.is_none_or(|a| a.offset > offset))
            .collect();
        out.sort_by_key(|c| (c.created.offset, c.created.node_id));
        out
    }

    /// Active contracts of `template` that `party` is a stakeholder of, by contract id.
    pub fn active_of(&self, template: &Identifier, party: &str) -> Vec<ContractRecord> {
        let table = self.symbols();
        let Some(party) = table.lookup(party) else {
            return vec![];
        };
        let mut out: Vec<ContractRecord> = self
            .store
            .active_index
            .get(&(template.clone(), party))
            .into_iter()
            .flatten()
            .filter_map(|cid| self.store.contracts.get(cid))
            .map(|c| c.decode(&table))
            .collect();
        out.sort_by(|a, b| a.create.contract_id.cmp(&b.create.contract_id));
        out
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
        if self
            .dry_run
            .as_ref()
            .is_some_and(|d| d.interpreted.is_some())
        {
            return Err(LedgerError::DryRunComplete.into());
        }
        for party in &meta.act_as {
            if !self.is_known_party(party) {
                return Err(LedgerError::UnknownParty(party.clone()).into());
            }
        }
        // The token's synchronizer, or the one the submitter prescribed. A real node's router
        // picks the inputs' synchronizer; here every token's contracts live on one, so the two
        // agree unless the submitter prescribed another (refused below, after interpretation).
        let synchronizer = self.prescribed.unwrap_or(meta.synchronizer);
        let record_time = self.synchronizers[synchronizer]
            .clock
            .peek_next(meta.record_time);
        let let_time = record_time
            .checked_add_micros(-self.config.submission_latency_micros)
            .unwrap_or(record_time);
        let roots = build(&mut TxContext {
            let_time,
            ids: &mut self.ids,
            store: &self.store,
        })?;
        let (nodes, act_as, inputs_on) = {
            let mut table = self.store.symbols.write();
            let (nodes, inputs_on) = Numbering::run(&self.store, &mut table, &roots)?;
            (
                nodes,
                table.party_set(meta.act_as.iter().map(String::as_str)),
                inputs_on,
            )
        };
        match inputs_on.iter().collect::<Vec<_>>().as_slice() {
            [] => {}
            [only] if **only == synchronizer => {}
            [only] => {
                return Err(LedgerError::InputsNotOnSynchronizer {
                    prescribed: self.synchronizers[synchronizer].id.clone(),
                    actual: self.synchronizers[**only].id.clone(),
                }
                .into());
            }
            several => {
                return Err(LedgerError::MultiSynchronizer(
                    several
                        .iter()
                        .map(|&&i| self.synchronizers[i].id.clone())
                        .collect(),
                )
                .into());
            }
        }
        // Validated: from here on nothing fails.
        let update_id = self.ids.next_update_id();
        let traceparent = self.ids.traceparent(&update_id);
        let tx = CommittedTx {
            offset: 0,
            synchronizer,
            origin: Origin::Synchronizer,
            update_id,
            command_id: meta.command_id,
            act_as,
            effective_at: let_time,
            record_time,
            traceparent,
            external_transaction_hash: None,
            nodes,
        };
        let next_offset = self.next_offset;
        if let Some(dry) = &mut self.dry_run {
            // Kept aside, not committed: the clock, the offsets and the store stay as they are.
            let tx = CommittedTx {
                offset: next_offset,
                ..tx
            };
            dry.interpreted = Some((tx, roots));
        } else {
            self.synchronizers[synchronizer].clock.commit(record_time);
            return Ok(self.append(tx));
        }
        let dry = self.dry_run.as_ref().and_then(|d| d.interpreted.as_ref());
        Ok(&dry.expect("set just above").0)
    }
}

/// Pre-order numbering and validation of a transaction against the contract store, storing
/// its nodes in compact form as it goes.
struct Numbering<'a> {
    store: &'a Store,
    table: &'a mut SymbolTable,
    /// Contracts created earlier in this transaction.
    created_here: FxHashMap<Sym, Arc<StoredCreate>>,
    consumed_here: HashSet<Sym>,
    /// The synchronizers of the input contracts (those not created here).
    inputs_on: BTreeSet<SyncIdx>,
    /// The number of nodes so far, fetches included.
    count: i32,
    out: Vec<TxNode>,
}

impl<'a> Numbering<'a> {
    fn run(
        store: &'a Store,
        table: &'a mut SymbolTable,
        roots: &[Node],
    ) -> Result<(Box<[TxNode]>, BTreeSet<SyncIdx>), LedgerError> {
        let nobody = table.party_set([]);
        let mut n = Numbering {
            store,
            table,
            created_here: FxHashMap::default(),
            consumed_here: HashSet::new(),
            inputs_on: BTreeSet::new(),
            count: 0,
            out: Vec::new(),
        };
        for root in roots {
            n.visit(root, nobody)?;
        }
        let Numbering {
            mut out,
            created_here,
            consumed_here,
            inputs_on,
            ..
        } = n;
        for node in &mut out {
            node.transient = match &node.kind {
                TxNodeKind::Create(c) => consumed_here.contains(&c.contract_id),
                TxNodeKind::Exercise {
                    contract_id,
                    consuming: true,
                    ..
                } => created_here.contains_key(contract_id),
                TxNodeKind::Exercise { .. } => false,
            };
        }
        Ok((out.into_boxed_slice(), inputs_on))
    }

    /// The contract a node acts on, if it is active at this point of the transaction.
    fn target(&mut self, contract_id: &str) -> Result<(Sym, Arc<StoredCreate>), LedgerError> {
        let not_found = || LedgerError::ContractNotFound(contract_id.to_owned());
        let sym = self.table.lookup(contract_id).ok_or_else(not_found)?;
        if self.consumed_here.contains(&sym) {
            return Err(not_found());
        }
        if let Some(c) = self.created_here.get(&sym) {
            return Ok((sym, c.clone()));
        }
        match self.store.contracts.get(&sym) {
            Some(c) if c.is_active() => {
                self.inputs_on.insert(c.synchronizer);
                Ok((sym, c.create.clone()))
            }
            _ => Err(not_found()),
        }
    }

    fn visit(&mut self, node: &Node, inherited: PartySet) -> Result<(), LedgerError> {
        let node_id = self.count;
        self.count += 1;
        match node {
            Node::Create(create) => {
                let known = self.table.lookup(&create.contract_id).is_some_and(|s| {
                    self.store.contracts.contains_key(&s) || self.created_here.contains_key(&s)
                });
                if known {
                    return Err(LedgerError::DuplicateContractId(create.contract_id.clone()));
                }
                let stored = Arc::new(StoredCreate::store(create, self.table));
                self.created_here.insert(stored.contract_id, stored.clone());
                self.out.push(TxNode {
                    node_id,
                    last_descendant: node_id,
                    witnesses: self.table.union(inherited, stored.stakeholders),
                    stakeholders: stored.stakeholders,
                    template: stored.template.clone(),
                    interfaces: stored.interface_ids.clone(),
                    transient: false,
                    kind: TxNodeKind::Create(stored),
                });
            }
            // Validated, numbered, not kept.
            Node::Fetch(fetch) => {
                self.target(&fetch.contract_id)?;
            }
            Node::Exercise(ex) => {
                let (contract_id, target) = self.target(&ex.contract_id)?;
                // Informees: signatories, actors and choice observers, plus the contract's
                // observers if the choice consumes.
                let acting_parties = self
                    .table
                    .party_set(ex.acting_parties.iter().map(String::as_str));
                let choice_observers = self
                    .table
                    .party_set(ex.choice_observers.iter().map(String::as_str));
                let mut informees = self.table.union(target.signatories, acting_parties);
                informees = self.table.union(informees, choice_observers);
                if ex.consuming {
                    informees = self.table.union(informees, target.observers);
                    self.consumed_here.insert(contract_id);
                }
                // Everyone who sees a node sees its whole subtree.
                let witnesses = self.table.union(inherited, informees);
                let index = self.out.len();
                let choice = self.table.intern(&ex.choice);
                self.out.push(TxNode {
                    node_id,
                    last_descendant: node_id,
                    witnesses,
                    stakeholders: target.stakeholders,
                    template: target.template.clone(),
                    interfaces: target.interface_ids.clone(),
                    transient: false,
                    kind: TxNodeKind::Exercise {
                        contract_id,
                        interface: ex.interface.clone(),
                        choice,
                        argument: compact::encode(&ex.argument, self.table),
                        acting_parties,
                        consuming: ex.consuming,
                        result: compact::encode(&ex.result, self.table),
                    },
                });
                for child in &ex.children {
                    self.visit(child, witnesses)?;
                }
                self.out[index].last_descendant = self.count - 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daml::Value;
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
        let cid_sym = c.contract_id;
        let cid = l.symbols().get(cid_sym).to_owned();
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
        // The fetch at 1 is not kept: it is the gap.
        assert_eq!(ids, vec![(0, 3), (2, 2), (3, 3)]);
        // Bob's create is witnessed by alice (ancestor informee) and bob (stakeholder).
        let witnesses = tx.nodes[2].witnesses;
        let mut expected = vec![alice.clone(), bob.clone()];
        expected.sort();
        assert_eq!(l.symbols().parties(witnesses).collect::<Vec<_>>(), expected);
        assert!(l.transact(meta, archive_and_pay).is_err());
        assert_eq!(l.ledger_end(), 2);
        assert!(l.update_at(2).unwrap().record_time > l.update_at(1).unwrap().record_time);
    }
}
