//! The fold of one parsed transaction into its [`ChangeSet`]: the treasury's holdings, its
//! transfer offers, and (in [`super::deposits`] and [`super::withdrawals`]) what each transfer
//! does to the deposit or withdrawal it carries; plus what the ledger shows that the fold
//! cannot place ([`Anomaly`]).

use std::collections::{HashMap, HashSet};

use super::config::{FoldConfig, SkipRule};
use super::ids::{NodeCounter, deposit_id};
use super::known::IngestState;
use crate::changeset::{
    ChangeSet, Direction as Way, Effect, Holding, IngestedUpdate, InstructionState, OfferExpiry,
    Origin, QuarantinedUpdate, TransferInstruction,
};
use crate::parser::TransferStatus as Status;
use crate::parser::{Direction, ParsedTransaction, Transfer, TransferKind};
use crate::{ContractId, SynchronizerId, Timestamp};

/// Something in the ledger data the fold did not act on, for the operator's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anomaly {
    pub update_id: String,
    pub node_id: Option<i32>,
    pub what: String,
}

impl std::fmt::Display for Anomaly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "update {}", self.update_id)?;
        if let Some(n) = self.node_id {
            write!(f, " node {n}")?;
        }
        write!(f, ": {}", self.what)
    }
}

/// The change set of one transaction, and what could not be placed.
#[derive(Debug, Default)]
pub struct Folded {
    pub changes: ChangeSet,
    pub anomalies: Vec<Anomaly>,
    /// Holdings and deposits held back because their issuer does not stand behind them (a
    /// counterfeit, a token not onboarded): for the log and support, never a reason to stop
    /// (anyone can send the treasury such a token).
    pub held_back: Vec<Anomaly>,
}

/// Whether a transaction with this header is already reflected (the skip rule).
pub fn is_ingested(
    state: &dyn IngestState,
    rule: SkipRule,
    update_id: &str,
    synchronizer: &SynchronizerId,
    record_time: Timestamp,
) -> bool {
    if state.is_ingested(update_id) {
        return true;
    }
    match rule {
        SkipRule::RecordTime => state
            .record_time(synchronizer)
            .is_some_and(|last| record_time <= last),
        SkipRule::KnownUpdateId => false,
    }
}

/// Folds one parsed transaction. A transaction the skip rule says is ingested folds to nothing.
pub fn fold(tx: &ParsedTransaction, state: &dyn IngestState, config: &FoldConfig) -> Folded {
    let mut out = Folded::default();
    if is_ingested(
        state,
        config.skip_rule,
        tx.update_id.as_str(),
        &tx.synchronizer_id,
        tx.record_time,
    ) {
        return out;
    }
    let update = IngestedUpdate {
        update_id: tx.update_id.clone(),
        offset: tx.offset,
        record_time: tx.record_time,
        synchronizer_id: tx.synchronizer_id.clone(),
    };
    out.changes.ingest(update);
    fold_effects(tx, state, config, &mut out);
    out
}

/// Sets a transaction that cannot be parsed aside: ingested (so no replay takes it up again),
/// nothing of it applied, kept whole (`raw_json`) for a later [`fold_quarantined`].
pub fn quarantine(update: IngestedUpdate, error: String, raw_json: String) -> ChangeSet {
    let mut changes = ChangeSet::default();
    changes.ingest(update.clone());
    changes.push(Effect::Quarantined(QuarantinedUpdate {
        update,
        error,
        raw_json,
    }));
    changes
}

/// Folds a quarantined transaction that parses now. It was ingested when it was set aside, so
/// neither the skip rule nor the ingested-update record applies; its effects are released with
/// it, once (the store releases a held entry only). `archived_since`: archives ingestion could
/// not match while it was held ([`Effect::UnmatchedArchive`]); the holdings it created that
/// are among them are mirrored as spent there.
pub fn fold_quarantined(
    tx: &ParsedTransaction,
    state: &dyn IngestState,
    config: &FoldConfig,
    archived_since: &HashMap<ContractId, Origin>,
) -> Folded {
    let mut out = Folded::default();
    out.changes.push(Effect::QuarantineReleased {
        update_id: tx.update_id.clone(),
    });
    fold_effects(tx, state, config, &mut out);
    let spent: Vec<Effect> = out
        .changes
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::HoldingCreated(h) => Some(h),
            _ => None,
        })
        .filter(|h| {
            !tx.holdings_archived
                .iter()
                .any(|a| a.contract_id == h.contract_id)
        })
        .filter_map(|h| {
            let archived = archived_since.get(&h.contract_id)?;
            Some(Effect::HoldingArchived {
                contract_id: h.contract_id.clone(),
                archived: archived.clone(),
            })
        })
        .collect();
    out.changes.effects.extend(spent);
    out
}

fn fold_effects(
    tx: &ParsedTransaction,
    state: &dyn IngestState,
    config: &FoldConfig,
    out: &mut Folded,
) {
    let origin = Origin {
        update_id: tx.update_id.clone(),
        record_time: tx.record_time,
    };
    let mut f = Fold {
        tx,
        state,
        config,
        origin,
        out,
    };
    f.holdings();
    f.transfers();
    if state.quarantine_held() {
        for cid in &tx.unresolved_archives {
            f.push(Effect::UnmatchedArchive {
                contract_id: cid.clone(),
                archived: f.origin.clone(),
            });
        }
    }
    for u in &tx.untrusted_events {
        let what = format!(
            "V2 event of admin {} not credited: {}",
            u.admin.as_deref().unwrap_or("?"),
            u.why
        );
        match u.why {
            // The admin's own events do not add up: the instrument was read from V1.
            crate::parser::Untrusted::Incomplete { .. } => f.anomaly(Some(u.node_id), what),
            // Anyone can log an event naming any admin: like a counterfeit, never a reason to stop;
            // recorded for operators all the same.
            _ => {
                f.push(Effect::UntrustedEvent(crate::changeset::UntrustedEvent {
                    origin: f.origin.clone(),
                    node_id: u.node_id,
                    reason: what.clone(),
                }));
                f.held_back(Some(u.node_id), what)
            }
        }
    }
    for u in &tx.unexplained {
        f.anomaly(
            Some(u.node_id),
            format!(
                "unexplained {:?} of treasury holding {} ({} {}) in {}",
                u.change, u.holding.contract_id, u.holding.amount, u.holding.instrument, u.context
            ),
        );
    }
}

/// One transaction being folded: what it is folded against, and what it folds to so far.
pub(super) struct Fold<'a> {
    pub(super) tx: &'a ParsedTransaction,
    pub(super) state: &'a dyn IngestState,
    pub(super) config: &'a FoldConfig,
    pub(super) origin: Origin,
    pub(super) out: &'a mut Folded,
}

impl Fold<'_> {
    pub(super) fn anomaly(&mut self, node_id: Option<i32>, what: String) {
        self.out.anomalies.push(Anomaly {
            update_id: self.tx.update_id.to_string(),
            node_id,
            what,
        });
    }

    pub(super) fn held_back(&mut self, node_id: Option<i32>, what: String) {
        self.out.held_back.push(Anomaly {
            update_id: self.tx.update_id.to_string(),
            node_id,
            what,
        });
    }

    pub(super) fn push(&mut self, effect: Effect) {
        self.out.changes.push(effect);
    }

    pub(super) fn push_all(&mut self, effects: impl IntoIterator<Item = Effect>) {
        self.out.changes.effects.extend(effects);
    }

    /// Mirrors the treasury's holdings: creates first, then archives, so a holding created and
    /// consumed in the same transaction ends archived.
    fn holdings(&mut self) {
        let mut created_here = HashSet::new();
        for h in &self.tx.holdings_created {
            if self.state.holding(h.contract_id.as_str()).is_some() {
                continue;
            }
            created_here.insert(h.contract_id.clone());
            let held_back = self
                .config
                .onboarded
                .judge_all(&h.instrument, h.provenance.iter().cloned().collect());
            if let Some(why) = &held_back {
                self.held_back(
                    None,
                    format!("holding {} not counted: {}", h.contract_id, why.reason),
                );
            }
            self.push(Effect::HoldingCreated(Holding {
                contract_id: h.contract_id.clone(),
                instrument: h.instrument.clone(),
                amount: h.amount,
                lock: h.lock.clone(),
                created: self.origin.clone(),
                held_back,
            }));
        }
        for h in &self.tx.holdings_archived {
            let active = created_here.contains(&h.contract_id)
                || self
                    .state
                    .holding(h.contract_id.as_str())
                    .is_some_and(|k| !k.archived);
            if active {
                self.push(Effect::HoldingArchived {
                    contract_id: h.contract_id.clone(),
                    archived: self.origin.clone(),
                });
            }
        }
    }

    fn transfers(&mut self) {
        let mut k = NodeCounter::default();
        for t in &self.tx.transfers {
            if t.direction == Direction::SelfTransfer {
                self.pool_transfer(t);
                continue;
            }
            if t.kind != TransferKind::Transfer {
                continue;
            }
            match t.direction {
                Direction::In => {
                    let id = deposit_id(self.tx, t, k.next(t.node_id));
                    self.instruction(t, Way::Incoming);
                    self.deposit(t, id);
                }
                Direction::Out => {
                    self.instruction(t, Way::Outgoing);
                    self.withdrawal(t);
                }
                Direction::SelfTransfer => {}
            }
        }
    }

    /// Records a transfer offer, or moves a known one to its fate.
    fn instruction(&mut self, t: &Transfer, direction: Way) {
        let Some(cid) = &t.transfer_instruction_cid else {
            return;
        };
        let state = match t.status {
            Status::Pending => InstructionState::Pending,
            Status::Accepted | Status::Completed => InstructionState::Accepted,
            Status::Rejected => InstructionState::Rejected,
            Status::Withdrawn => InstructionState::Withdrawn,
            Status::Failed => InstructionState::Failed,
            Status::Expired => InstructionState::Expired,
        };
        match self.state.instruction(cid.as_str()) {
            Some(known) if known.state == state || known.state != InstructionState::Pending => {}
            Some(known) => {
                let moved = TransferInstruction {
                    state,
                    origin: self.origin.clone(),
                    ..known.clone()
                };
                self.push(Effect::TransferInstruction(moved));
            }
            None if state == InstructionState::Pending => {
                let (Some(sender), Some(receiver), Some(instrument), Some(amount)) =
                    (&t.sender, &t.receiver, &t.instrument, t.amount)
                else {
                    self.anomaly(Some(t.node_id), format!("offer {cid} without terms"));
                    return;
                };
                let expiry = self.offer_expiry(cid);
                self.push(Effect::TransferInstruction(TransferInstruction {
                    contract_id: cid.clone(),
                    direction,
                    sender: sender.clone(),
                    receiver: receiver.clone(),
                    instrument: instrument.clone(),
                    amount,
                    reason: t.reason.clone(),
                    state,
                    origin: self.origin.clone(),
                    expiry,
                    read_from: t.read_from,
                }));
            }
            // The fate of an offer made before the DB's history: nothing to update.
            None => {}
        }
    }

    /// When the offer `cid` created in this transaction stops being acceptable.
    pub(super) fn offer_expiry(&self, cid: &ContractId) -> Option<OfferExpiry> {
        self.tx
            .instructions_created
            .iter()
            .find(|i| &i.contract_id == cid)
            .map(|i| OfferExpiry {
                execute_before: i.transfer.execute_before,
                synchronizer: self.tx.synchronizer_id.clone(),
            })
    }
}
