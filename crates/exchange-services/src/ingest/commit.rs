//! Committing a batch without overlap, with retries, and accounting for a committed batch.
//!
//! # Invariants
//! - Every attempt prepares the batch again from fresh reads, so a retry never writes what a
//!   failed attempt decided on stale state.
//! - Database errors are retried with the policy's backoff, a conflict (another writer changed
//!   rows the batch read) once at once; anything else ends the run. The error it ends with
//!   names the first cause as well as the last.

use std::time::{Duration, Instant};

use canton_ledger::Update;
use exchange_core::changeset::IngestedUpdate;
use exchange_store::StoreError;

use super::fold::Outcome;
use super::pipeline::Base;
use super::{IngestError, Ingestor, Summary};
use crate::observe::IngestEvent;

impl Ingestor {
    /// Prepares and commits one batch, retrying DB errors; a conflict (another writer changed
    /// rows the batch read) is prepared again from fresh reads. `failed` is the error of a
    /// first attempt made elsewhere (a pipelined commit), counted as attempt 1.
    pub(super) async fn commit_batch(
        &self,
        batch: &[Update],
        last_update: &mut Option<IngestedUpdate>,
        failed: Option<StoreError>,
    ) -> Result<Outcome, IngestError> {
        let mut attempt = 0;
        let mut failed = failed;
        // The first error names the cause (e.g. "database or disk is full"); later attempts may
        // fail for a reason it led to, so both are reported.
        let mut first: Option<String> = None;
        loop {
            if let Some(e) = failed.take() {
                attempt += 1;
                let first = first.get_or_insert_with(|| e.to_string());
                let retry = match &e {
                    StoreError::Database(_) => self.config.retry.delay(attempt),
                    StoreError::Conflict(_) if attempt == 1 => Some(Duration::ZERO),
                    _ => None,
                };
                let Some(delay) = retry else {
                    return Err(gave_up(std::mem::take(first), e, attempt));
                };
                self.observer.event(&IngestEvent::Retrying {
                    what: format!("commit: {e}"),
                    attempt,
                    delay,
                });
                tokio::time::sleep(delay).await;
            }
            match self.prepare_and_commit(batch, last_update).await {
                Ok(outcome) => return Ok(outcome),
                Err(e) => failed = Some(e),
            }
        }
    }

    /// One attempt: prepares the batch on what the DB holds and commits it; `last_update`
    /// moves past the batch only if the commit succeeds.
    async fn prepare_and_commit(
        &self,
        batch: &[Update],
        last_update: &mut Option<IngestedUpdate>,
    ) -> Result<Outcome, StoreError> {
        let base = Base {
            last_update: last_update.clone(),
            overlay: None,
        };
        let mut prepared = self.prepare(batch, base).await?;
        let committing = Instant::now();
        if let Some(checkpoint) = &prepared.checkpoint {
            self.store.commit(&prepared.changes, checkpoint).await?;
        }
        prepared.outcome.timings.committing = committing.elapsed();
        *last_update = prepared.last_update;
        Ok(prepared.outcome)
    }

    /// Counts a committed batch; a strict stop in it ends the run.
    pub(super) fn report(
        &self,
        outcome: &Outcome,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        summary.batches += 1;
        summary.ingested += outcome.ingested;
        summary.skipped += outcome.skipped;
        summary.anomalies += outcome.anomalies;
        summary.offset = summary.offset.max(outcome.offset);
        self.observer.event(&IngestEvent::Committed {
            offset: outcome.offset,
            transactions: (outcome.ingested + outcome.skipped) as usize,
            skipped: outcome.skipped as usize,
            committing: outcome.timings.committing,
        });
        match &outcome.stop {
            Some(stop) => Err(stop.clone().into()),
            None => Ok(()),
        }
    }
}

/// The error a commit ends with after `attempts` failed attempts, `first` the first one's.
fn gave_up(first: String, last: StoreError, attempts: u32) -> IngestError {
    if attempts <= 1 || first == last.to_string() {
        IngestError::Store(last)
    } else {
        IngestError::StoreRetried {
            first,
            last: Box::new(last),
            attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_that_gave_up_names_its_first_cause() {
        let full = "database error: database or disk is full".to_owned();
        let later = StoreError::Lease("lost".into());
        let message = gave_up(full, later, 4).to_string();
        assert!(message.contains("database or disk is full"), "{message}");
        assert!(message.contains("ingestion lease: lost"), "{message}");
        // The same error every time is said once.
        let same = gave_up("conflict: x".into(), StoreError::Conflict("x".into()), 2);
        assert!(matches!(same, IngestError::Store(_)), "{same}");
    }
}
