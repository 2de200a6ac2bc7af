//! Folding a parsed batch, in order, into one change set with its checkpoint: what the
//! batch's transactions and offset checkpoints change, and where the batch has to stop.
//!
//! # Invariants
//! - Each transaction's changes are absorbed into `Known` before the next is folded, so later
//!   transactions of the batch see what earlier ones did.
//! - Nothing is skipped silently: an unparseable transaction is set aside whole (quarantine) or
//!   stops the batch just before it; in strict mode so does the first anomaly. The checkpoint
//!   then names the last element before the stop.

use canton_ledger::updates::SynchronizerTime;
use canton_ledger::{JsTransaction, Update};
use exchange_core::changeset::{ChangeSet, Checkpoint, IngestedUpdate};
use exchange_core::ingest::{FoldConfig, Known, expire_due, fold, quarantine};
use exchange_core::{Offset, ParsedTransaction, SynchronizerId, Timestamp};

use super::prepare::{Parsed, header};
use super::{IngestConfig, IngestError, Timings};
use crate::observe::{IngestEvent, Observer};

/// A batch ready to be committed.
pub(super) struct Prepared {
    pub(super) changes: ChangeSet,
    /// `None` when nothing of the batch may be committed (strict mode stopped at its start).
    pub(super) checkpoint: Option<Checkpoint>,
    pub(super) outcome: Outcome,
    /// The checkpoint's last transaction after the batch.
    pub(super) last_update: Option<IngestedUpdate>,
}

/// What a batch did, once committed.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) ingested: u64,
    pub(super) skipped: u64,
    pub(super) anomalies: u64,
    pub(super) offset: i64,
    pub(super) stop: Option<Stop>,
    pub(super) timings: Timings,
}

/// Why a batch stops before one of its transactions (committed up to just before it).
#[derive(Debug, Clone)]
pub(super) enum Stop {
    /// Strict mode and an anomaly (or an unparseable transaction).
    Strict(String),
    /// A transaction that cannot be parsed, and no quarantine.
    Unparseable {
        update_id: String,
        offset: String,
        error: String,
    },
}

impl From<Stop> for IngestError {
    fn from(stop: Stop) -> IngestError {
        match stop {
            Stop::Strict(why) => IngestError::Strict(why),
            Stop::Unparseable {
                update_id,
                offset,
                error,
            } => IngestError::Unparseable {
                update_id,
                offset,
                error,
            },
        }
    }
}

/// One batch being folded.
pub(super) struct BatchFold<'a> {
    config: &'a FoldConfig,
    ingest: &'a IngestConfig,
    observer: &'a dyn Observer,
    known: Known,
    changes: ChangeSet,
    outcome: Outcome,
    last_update: Option<IngestedUpdate>,
}

impl<'a> BatchFold<'a> {
    /// A fold on `known` (what the batch touches, loaded), after `last_update`.
    pub(super) fn new(
        config: &'a FoldConfig,
        ingest: &'a IngestConfig,
        observer: &'a dyn Observer,
        known: Known,
        last_update: Option<IngestedUpdate>,
    ) -> BatchFold<'a> {
        BatchFold {
            config,
            ingest,
            observer,
            known,
            changes: ChangeSet::default(),
            outcome: Outcome::default(),
            last_update,
        }
    }

    /// Folds `batch` (parsed as `parsed`) in order; stops before the first problem in strict
    /// mode. Then expires what the batch's record times make due.
    pub(super) fn run(mut self, batch: &[Update], parsed: Vec<Parsed>) -> Prepared {
        let mut offset = None;
        for (u, p) in batch.iter().zip(parsed) {
            let stop = match (u, p) {
                (Update::OffsetCheckpoint(c), _) => {
                    self.record_times(&c.value.synchronizer_times);
                    None
                }
                (_, Parsed::NotATransaction) => None,
                (_, Parsed::Skipped(header)) => {
                    self.outcome.skipped += 1;
                    self.last_update = Some(header);
                    None
                }
                (Update::Transaction(t), Parsed::Broken { update_id, error }) => {
                    self.broken(&t.value, update_id, error)
                }
                (_, Parsed::Ok(p)) => self.transaction(&p),
                (_, Parsed::Broken { .. }) => None,
            };
            if stop.is_some() {
                self.outcome.stop = stop;
                break;
            }
            offset = u.offset().or(offset);
        }
        // Withdrawals whose target record time has passed on their synchronizer without their
        // transfer (never by another synchronizer's clock: see `Known::due`).
        let expired = expire_due(&self.known);
        self.absorb(expired);
        self.outcome.offset = offset.unwrap_or(0);
        let last_update = self.last_update;
        Prepared {
            changes: self.changes,
            checkpoint: offset
                .and_then(|o| Offset::new(o).ok())
                .map(|offset| Checkpoint {
                    offset,
                    last_update: last_update.clone(),
                }),
            outcome: self.outcome,
            last_update,
        }
    }

    /// An offset checkpoint: the record times it shows for its synchronizers.
    fn record_times(&mut self, times: &[SynchronizerTime]) {
        let mut changes = ChangeSet::default();
        for s in times {
            if let (Ok(sync), Ok(time)) = (
                SynchronizerId::new(&s.synchronizer_id),
                s.record_time.parse::<Timestamp>(),
            ) {
                changes.observe_record_time(sync, time);
            }
        }
        self.absorb(changes);
    }

    /// A transaction that cannot be parsed: never guessed at, never dropped. Set aside whole if
    /// the operator chose so (and the header is sound enough to file it under), else the batch
    /// stops before it.
    fn broken(&mut self, tx: &JsTransaction, update_id: String, error: String) -> Option<Stop> {
        self.outcome.anomalies += 1;
        let set_aside = self.ingest.quarantine_unparseable && !self.ingest.strict;
        let stop = match header(tx) {
            Ok(h) if set_aside => {
                // The wire types keep Daml values as the node sent them.
                let raw = serde_json::to_string(tx).unwrap_or_default();
                self.absorb(quarantine(h.clone(), error.clone(), raw));
                self.outcome.ingested += 1;
                self.last_update = Some(h);
                None
            }
            _ if self.ingest.strict => Some(Stop::Strict(format!("update {update_id}: {error}"))),
            _ => Some(Stop::Unparseable {
                update_id: update_id.clone(),
                offset: tx.offset.to_string(),
                error: error.clone(),
            }),
        };
        self.observer.event(&IngestEvent::Unparseable {
            update_id,
            error,
            quarantined: stop.is_none(),
        });
        stop
    }

    /// A parsed transaction: its changes, unless strict mode stops at one of its anomalies.
    fn transaction(&mut self, p: &ParsedTransaction) -> Option<Stop> {
        let folded = fold(p, &self.known, self.config);
        for h in &folded.held_back {
            self.observer.event(&IngestEvent::HeldBack(h.clone()));
        }
        if let Some(a) = folded.anomalies.first() {
            self.outcome.anomalies += folded.anomalies.len() as u64;
            for a in &folded.anomalies {
                self.observer.event(&IngestEvent::Anomaly(a.clone()));
            }
            if self.ingest.strict {
                return Some(Stop::Strict(a.to_string()));
            }
        }
        if folded.changes.ingested.is_empty() {
            self.outcome.skipped += 1;
        } else {
            self.outcome.ingested += 1;
        }
        self.absorb(folded.changes);
        self.last_update = Some(IngestedUpdate {
            update_id: p.update_id.clone(),
            offset: p.offset,
            record_time: p.record_time,
            synchronizer_id: p.synchronizer_id.clone(),
        });
        None
    }

    /// Takes `changes` into the batch's, and into `Known` for what follows.
    fn absorb(&mut self, changes: ChangeSet) {
        self.known.absorb(&changes);
        self.changes.merge(changes);
    }
}
