//! Tx History Ingestion for one treasury party: stream → parse → fold → commit, in batches.
//!
//! # Invariants
//! - A batch is committed with its checkpoint in one DB transaction; a stop request is only
//!   honoured between batches, so a stop never leaves a half-applied batch.
//! - Offsets only move forward; offset checkpoints of the stream advance the checkpoint and the
//!   per-synchronizer record times too.
//! - Before streaming, [`identity::check`](crate::identity::check) makes sure the node still
//!   has the checkpoint's transaction at its offset; otherwise ingestion refuses and names the
//!   runbook.
//! - Retryable ledger and DB errors are retried a bounded number of times with exponential
//!   backoff; then ingestion ends with the error (the CLI exits non-zero).
//! - One ingestion per DB at a time: it holds the store's ingestion lease for the whole run and
//!   checks it before every commit; a second instance refuses, or waits as a standby.
//! - Nothing is skipped silently. A transaction that cannot be parsed stops ingestion after the
//!   transactions before it are committed, so the checkpoint points just before it; unless the
//!   operator chose quarantine, where it is kept whole (and shown by `status`) for a later
//!   `quarantine retry`. In strict mode the first anomaly stops ingestion the same way.
//!
//! A run reads as read → prepare (parse, fold) → commit, batch after batch:
//! - `batcher`: reads one batch off the stream.
//! - `prepare`: loads the DB state a batch touches, applies the skip rule, parses;
//!   `fold`: folds the parsed batch into one change set with its checkpoint.
//! - `pipeline`: commits a batch on its own task while the next one is read and prepared on
//!   top of it; `commit`: the commit without overlap, with retries, and its accounting.
//! - `startup`: the lease and the checks before streaming; `tokens`: the onboarded tokens.

mod batcher;
mod commit;
mod fold;
mod pipeline;
mod prepare;
mod startup;
mod summary;
mod tokens;

use std::sync::Arc;
use std::time::{Duration, Instant};

use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use exchange_core::ingest::FoldConfig;
use exchange_store::{IngestionLease, Store, StoreError};
use tokio::sync::watch;

use crate::filter::treasury_format;
use crate::identity::IdentityError;
use crate::observe::{IngestEvent, Observer};
use crate::reader::{self, ReadRequest};
use crate::retry::RetryPolicy;
use crate::source::Source;
use batcher::next_batch;
use pipeline::Pipeline;
pub use summary::{Summary, Timings};

#[derive(Clone, Debug)]
pub struct IngestConfig {
    pub fold: FoldConfig,
    /// Stop at the ledger end seen at start instead of tailing.
    pub once: bool,
    /// Stop on the first anomaly too, instead of logging it and going on.
    pub strict: bool,
    /// Set a transaction that cannot be parsed aside in the quarantine and go on, instead of
    /// stopping before it.
    pub quarantine_unparseable: bool,
    /// A batch closes at this many transactions…
    pub batch_transactions: usize,
    /// …or this long after its first element.
    pub batch_wait: Duration,
    pub retry: RetryPolicy,
    /// How often to report progress.
    pub progress_every: Duration,
    /// When another ingestion holds the lease: wait for it (a standby), instead of refusing.
    pub standby: bool,
    /// How often a standby asks for the lease.
    pub standby_poll: Duration,
}

impl IngestConfig {
    pub fn new(fold: FoldConfig) -> IngestConfig {
        IngestConfig {
            fold,
            once: false,
            strict: false,
            quarantine_unparseable: false,
            batch_transactions: 1000,
            batch_wait: Duration::from_millis(250),
            retry: RetryPolicy::default(),
            progress_every: Duration::from_secs(5),
            standby: false,
            standby_poll: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("reading the ledger failed: {0}")]
    Ledger(#[from] ClientError),
    #[error("the Integration DB failed: {0}")]
    Store(#[from] StoreError),
    /// Retries of a commit failed differently from the first attempt (which names the cause).
    #[error(
        "the Integration DB failed: committing a batch failed {attempts} times, first with: {first}; last with: {last}"
    )]
    StoreRetried {
        first: String,
        last: Box<StoreError>,
        attempts: u32,
    },
    #[error(
        "another ingestion is running against this DB (it holds the {0}): stop it first, or start this one with --standby to take over when it stops"
    )]
    Busy(String),
    #[error(
        "strict mode: stopped before {0}; the checkpoint is just before it. Fix the data or run without --strict"
    )]
    Strict(String),
    #[error(
        "stopped before update {update_id} at offset {offset}: it cannot be parsed ({error}); nothing of it or after it is ingested, the checkpoint is just before it. Fix the cause (e.g. a newer canton-exchange) and start again, or start with --quarantine-unparseable to set it aside (listed by `status` and `quarantine list`, applied later by `quarantine retry`)"
    )]
    Unparseable {
        update_id: String,
        offset: String,
        error: String,
    },
}

pub struct Ingestor {
    store: Store,
    source: Source,
    config: IngestConfig,
    /// V1's and V2's views, or V1's alone on a node without the V2 packages
    /// ([`filter::negotiate`](crate::filter::negotiate), at start).
    format: std::sync::Mutex<UpdateFormat>,
    observer: Arc<dyn Observer>,
    /// `config.fold` with the onboarded tokens as last read from the DB: what batches are
    /// folded with. Read once per batch, so a token onboarded while ingestion runs counts from
    /// the next batch on.
    fold: std::sync::Mutex<Arc<FoldConfig>>,
}

impl Ingestor {
    pub fn new(
        store: Store,
        source: Source,
        config: IngestConfig,
        observer: Arc<dyn Observer>,
    ) -> Ingestor {
        let format = std::sync::Mutex::new(treasury_format(config.fold.treasury.as_str()));
        let fold = std::sync::Mutex::new(Arc::new(config.fold.clone()));
        Ingestor {
            store,
            source,
            config,
            format,
            observer,
            fold,
        }
    }

    /// Runs until the ledger end (`once`), a stop request, or an error.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) -> Result<Summary, IngestError> {
        let Some(mut lease) = self.take_lease(&mut stop).await? else {
            return Ok(Summary::default());
        };
        let result = self.run_holding_lease(&mut lease, stop).await;
        lease.release().await;
        result
    }

    /// Streams from the checkpoint and ingests batch after batch: read, prepare (parse and
    /// fold), commit.
    async fn run_holding_lease(
        &self,
        lease: &mut IngestionLease,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Summary, IngestError> {
        let (checkpoint, end) = self.start().await?;
        let begin = checkpoint.offset.get();
        self.observer.event(&IngestEvent::Started {
            from: begin,
            to: end,
        });
        let mut summary = Summary {
            offset: begin,
            ..Summary::default()
        };
        if end.is_some_and(|e| e <= begin) {
            return Ok(summary);
        }
        let mut elements = reader::spawn(
            self.source.clone(),
            ReadRequest {
                begin_exclusive: begin,
                end_inclusive: end,
                format: self.format(),
            },
            self.config.retry,
            2 * self.config.batch_transactions,
            self.observer.clone(),
        );
        let mut pipeline = Pipeline::new(checkpoint.last_update);
        let started = Instant::now();
        let mut last_report = Instant::now();
        loop {
            let waiting = Instant::now();
            let Some(read) = next_batch(&mut elements, &mut stop, &self.config).await else {
                break;
            };
            summary.timings.waiting += waiting.elapsed();
            if !read.updates.is_empty() {
                self.before_batch(lease, &mut pipeline, &mut summary)
                    .await?;
                // Parsed and folded on what the DB holds once the batch in flight is committed;
                // committed once that batch is (see `pipeline` for when it is prepared again).
                let prepared = self.prepare(&read.updates, pipeline.base()).await;
                pipeline
                    .commit(self, read.updates, prepared, &mut summary)
                    .await?;
            }
            if let Some(e) = read.failure {
                pipeline.drain(self, &mut summary).await?;
                return Err(e.into());
            }
            if read.finished || *stop.borrow() {
                break;
            }
            if last_report.elapsed() >= self.config.progress_every {
                last_report = Instant::now();
                self.progress(&summary, started, end).await;
            }
        }
        // A stop or the end: the batch being committed is finished first, whole.
        pipeline.drain(self, &mut summary).await?;
        self.progress(&summary, started, end).await;
        Ok(summary)
    }

    /// Before a batch is prepared: the lease is still held, and tokens onboarded since the
    /// last batch count for it.
    async fn before_batch(
        &self,
        lease: &mut IngestionLease,
        pipeline: &mut Pipeline,
        summary: &mut Summary,
    ) -> Result<(), IngestError> {
        // Lost (PostgreSQL connection gone): a standby may be ingesting; stop writing.
        // (A commit in flight is then abandoned whole: its transaction rolls back.)
        lease.check().await?;
        // What earlier batches held back is judged again once they are all committed.
        if self.tokens_changed().await? {
            pipeline.drain(self, summary).await?;
            self.refresh_tokens().await?;
        }
        Ok(())
    }

    fn format(&self) -> UpdateFormat {
        self.format
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    async fn progress(&self, summary: &Summary, started: Instant, end: Option<i64>) {
        let done = summary.ingested + summary.skipped;
        let ledger_end = match end {
            Some(e) => Some(e),
            None => self.source.ledger_end().await.ok(),
        };
        self.observer.event(&IngestEvent::Progress {
            offset: summary.offset,
            ledger_end,
            transactions: done,
            per_second: done as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
    }
}

/// Resolves once a stop is asked for; never, if nobody can ask any more.
async fn stop_requested(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
