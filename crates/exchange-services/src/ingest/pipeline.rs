//! The overlapped commit: a batch is committed on its own task while the next one is read and
//! prepared on top of it (on SQLite the commit's work is on the connection's thread). On
//! PostgreSQL this cuts a run's time by about a quarter; see ADR 0003
//! (`docs/adr/0003-pipelined-ingestion-commits.md`).
//!
//! The next batch is prepared on [`Pipeline::base`]: what the DB holds plus the changes of the
//! batch in flight, laid over every read. `Known::absorb` sets what each change leaves behind,
//! so the result is the same whether a read sees the DB before or after that commit.
//!
//! # Invariants
//! - At most one batch is in flight, and batches are committed in order: a batch's commit
//!   starts only once the batch before it is settled.
//! - A batch is committed as prepared only if the batch it was prepared on committed as
//!   prepared. If that commit failed (and the batch was prepared again and committed with the
//!   usual retries), or preparing failed, the batch is prepared again from fresh reads and
//!   committed without overlap.
//! - A batch that stops the run (strict mode, an unparseable transaction) is settled at once:
//!   nothing after it is prepared on it.
//! - A commit task does not outlive the run that started it: dropping the pipeline (an error,
//!   a cancelled run) aborts an unfinished commit, whose DB transaction rolls back instead of
//!   racing the next writer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use canton_ledger::Update;
use exchange_core::changeset::{ChangeSet, IngestedUpdate};
use exchange_store::StoreError;

use super::fold::{Outcome, Prepared};
use super::{IngestError, Ingestor, Summary, Timings};

/// What a batch is prepared on.
pub(super) struct Base {
    /// The checkpoint's last transaction before the batch.
    pub(super) last_update: Option<IngestedUpdate>,
    /// A batch whose commit may or may not be visible to the reads yet.
    pub(super) overlay: Option<Arc<ChangeSet>>,
}

/// The batches being committed.
pub(super) struct Pipeline {
    /// The checkpoint's last transaction once every batch before is committed.
    last_update: Option<IngestedUpdate>,
    /// The batch being committed meanwhile, if any.
    in_flight: Option<InFlight>,
}

/// A batch whose commit runs on its own task.
struct InFlight {
    /// `None` when nothing of the batch is to be written (strict mode stopped at its start).
    task: Option<AbortOnDrop>,
    batch: Vec<Update>,
    changes: Arc<ChangeSet>,
    /// The checkpoint's last transaction before and after the batch.
    last_before: Option<IngestedUpdate>,
    last_after: Option<IngestedUpdate>,
    outcome: Outcome,
}

/// A commit task that does not outlive the run that started it (dropping the run, e.g. a
/// cancelled future, rolls an unfinished commit back instead of leaving it to race the next
/// writer).
struct AbortOnDrop(tokio::task::JoinHandle<Result<Duration, StoreError>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Pipeline {
    /// Starts from the stored checkpoint's last transaction.
    pub(super) fn new(last_update: Option<IngestedUpdate>) -> Pipeline {
        Pipeline {
            last_update,
            in_flight: None,
        }
    }

    /// What the next batch is prepared on: the DB plus the batch in flight.
    pub(super) fn base(&self) -> Base {
        match &self.in_flight {
            Some(f) => Base {
                last_update: f.last_after.clone(),
                overlay: Some(f.changes.clone()),
            },
            None => Base {
                last_update: self.last_update.clone(),
                overlay: None,
            },
        }
    }

    /// Commits `batch`, which `prepared` is the outcome of preparing on [`Pipeline::base`]:
    /// once the batch in flight is settled, on its own task if it was prepared on what the DB
    /// now holds, else prepared again and committed here. A failure of the batch before ends
    /// the run before this one is written.
    pub(super) async fn commit(
        &mut self,
        ingestor: &Ingestor,
        batch: Vec<Update>,
        prepared: Result<Prepared, StoreError>,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        let as_prepared = self.settle(ingestor, summary).await?;
        match prepared {
            // What it was prepared on is what the DB now holds.
            Ok(prepared) if as_prepared => {
                summary.timings.add(&prepared.outcome.timings);
                self.in_flight = Some(self.start(ingestor, batch, prepared));
            }
            // The previous batch was prepared again after a failed commit, or reading
            // failed: this one is prepared again, without overlap.
            _ => {
                let outcome = ingestor
                    .commit_batch(&batch, &mut self.last_update, None)
                    .await?;
                summary.timings.add(&outcome.timings);
                ingestor.report(&outcome, summary)?;
            }
        }
        // Strict mode stopped in this batch: nothing after it may be prepared.
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.outcome.stop.is_some())
        {
            self.settle(ingestor, summary).await?;
        }
        Ok(())
    }

    /// Waits until the batch in flight, if any, is committed (a stop, the end of the stream,
    /// or tokens to judge again on what is committed).
    pub(super) async fn drain(
        &mut self,
        ingestor: &Ingestor,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        self.settle(ingestor, summary).await.map(|_| ())
    }

    /// Starts committing a prepared batch on its own task, so that the next batch can be read
    /// and prepared meanwhile.
    fn start(&self, ingestor: &Ingestor, batch: Vec<Update>, prepared: Prepared) -> InFlight {
        let changes = Arc::new(prepared.changes);
        let task = prepared.checkpoint.map(|checkpoint| {
            let store = ingestor.store.clone();
            let changes = changes.clone();
            AbortOnDrop(tokio::spawn(async move {
                let committing = Instant::now();
                store.commit(&changes, &checkpoint).await?;
                Ok(committing.elapsed())
            }))
        });
        InFlight {
            task,
            batch,
            changes,
            last_before: self.last_update.clone(),
            last_after: prepared.last_update,
            outcome: prepared.outcome,
        }
    }

    /// Waits for the commit of the batch in flight and accounts for it. If that commit failed,
    /// the batch is prepared again from fresh reads and committed with the usual retries; then
    /// `false` (the changes the next batch was prepared on are not what the DB holds). `true`
    /// if nothing was in flight.
    async fn settle(
        &mut self,
        ingestor: &Ingestor,
        summary: &mut Summary,
    ) -> Result<bool, IngestError> {
        let Some(f) = self.in_flight.take() else {
            return Ok(true);
        };
        let waiting = Instant::now();
        let result = match f.task {
            None => Ok(Duration::ZERO),
            // Never cancelled while this handle lives; a panic there is this task's panic.
            Some(mut task) => (&mut task.0)
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
        };
        summary.timings.commit_wait += waiting.elapsed();
        match result {
            Ok(committing) => {
                let mut outcome = f.outcome;
                outcome.timings = Timings {
                    committing,
                    ..Timings::default()
                };
                summary.timings.add(&outcome.timings);
                self.last_update = f.last_after;
                ingestor.report(&outcome, summary)?;
                Ok(true)
            }
            Err(e) => {
                self.last_update = f.last_before;
                let outcome = ingestor
                    .commit_batch(&f.batch, &mut self.last_update, Some(e))
                    .await?;
                summary.timings.add(&outcome.timings);
                ingestor.report(&outcome, summary)?;
                Ok(false)
            }
        }
    }
}
