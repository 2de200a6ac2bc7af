//! Tx History Ingestion for one treasury party: stream → parse → fold → commit, in batches.
//!
//! # Invariants
//! - A batch is committed with its checkpoint in one DB transaction; a stop request is only
//!   honoured between batches, so a stop never leaves a half-applied batch.
//! - Offsets only move forward; offset checkpoints of the stream advance the checkpoint and the
//!   per-synchronizer record times too.
//! - Before streaming, [`identity::check`] makes sure the node still has the checkpoint's
//!   transaction at its offset; otherwise ingestion refuses and names the runbook.
//! - Retryable ledger and DB errors are retried a bounded number of times with exponential
//!   backoff; then ingestion ends with the error (the CLI exits non-zero).
//! - One ingestion per DB at a time: it holds the store's ingestion lease for the whole run and
//!   checks it before every commit; a second instance refuses, or waits as a standby.
//! - Nothing is skipped silently. A transaction that cannot be parsed stops ingestion after the
//!   transactions before it are committed, so the checkpoint points just before it; unless the
//!   operator chose quarantine, where it is kept whole (and shown by `status`) for a later
//!   `quarantine retry`. In strict mode the first anomaly stops ingestion the same way.

mod startup;
mod summary;
mod tokens;

use std::sync::Arc;
use std::time::{Duration, Instant};

use canton_ledger::client::ClientError;
use canton_ledger::filters::UpdateFormat;
use canton_ledger::{JsTransaction, Update};
use exchange_core::book::{Chain, WithOnboarded};
use exchange_core::changeset::{ChangeSet, Checkpoint, IngestedUpdate};
use exchange_core::ingest::{
    FoldConfig, Known, Needs, StateLookup, expire_due, fold, is_ingested, quarantine,
};
use exchange_core::{
    HoldingBook, Offset, ParsedTransaction, SynchronizerId, Timestamp, UpdateId, parse_transaction,
};
use exchange_store::{IngestionLease, Store, StoreError};
use tokio::sync::watch;

use crate::filter::treasury_format;
use crate::identity::IdentityError;
use crate::observe::{Event, Observer};
use crate::reader::{self, ReadRequest};
use crate::retry::RetryPolicy;
use crate::source::Source;
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
    /// ([`filter::negotiate`], at start).
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

    async fn run_holding_lease(
        &self,
        lease: &mut IngestionLease,
        mut stop: watch::Receiver<bool>,
    ) -> Result<Summary, IngestError> {
        self.store
            .claim_treasury_party(&self.config.fold.treasury)
            .await?;
        self.ensure_suspense_account().await?;
        let checkpoint = self.store.checkpoint().await?.unwrap_or(Checkpoint {
            offset: Offset::BEGIN,
            last_update: None,
        });
        self.negotiate_format().await?;
        let end = self.check_node(&checkpoint).await?;
        self.refresh_tokens().await?;
        let begin = checkpoint.offset.get();
        self.observer.event(&Event::Started {
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
        // `last_update` is the checkpoint's last transaction once every batch before is
        // committed; `in_flight` is the batch being committed meanwhile, if any.
        let mut last_update = checkpoint.last_update.clone();
        let mut in_flight: Option<InFlight> = None;
        let started = Instant::now();
        let mut last_report = Instant::now();
        loop {
            // Wait for the first element of a batch, or a stop.
            let waiting = Instant::now();
            let first = tokio::select! {
                biased;
                _ = stop_requested(&mut stop) => break,
                e = elements.recv() => e,
            };
            let mut batch = Vec::new();
            let mut failure = None;
            let mut finished = false;
            match first {
                None => finished = true,
                Some(Err(e)) => failure = Some(e),
                Some(Ok(u)) => batch.push(u),
            }
            // Fill it until full, late, the stream ends or fails, or a stop is asked for.
            let deadline = tokio::time::Instant::now() + self.config.batch_wait;
            let mut transactions = batch.len();
            while failure.is_none() && !finished && transactions < self.config.batch_transactions {
                match tokio::time::timeout_at(deadline, elements.recv()).await {
                    Err(_) => break,
                    Ok(None) => finished = true,
                    Ok(Some(Err(e))) => failure = Some(e),
                    Ok(Some(Ok(u))) => {
                        transactions += usize::from(matches!(u, Update::Transaction(_)));
                        batch.push(u);
                    }
                }
                if *stop.borrow() {
                    break;
                }
            }
            summary.timings.waiting += waiting.elapsed();
            if !batch.is_empty() {
                // Lost (PostgreSQL connection gone): a standby may be ingesting; stop writing.
                // (A commit in flight is then abandoned whole: its transaction rolls back.)
                lease.check().await?;
                // Tokens onboarded since the last batch: what earlier batches held back is
                // judged again once they are all committed.
                if self.tokens_changed().await? {
                    if let Some(f) = in_flight.take() {
                        self.settle(f, &mut summary, &mut last_update).await?;
                    }
                    self.refresh_tokens().await?;
                }
                // Prepared while the previous batch commits, on what the DB has plus that
                // batch's changes (`Known::absorb` sets what each change leaves behind, so the
                // result is the same whether a read sees the DB before or after that commit).
                let mut last = match &in_flight {
                    Some(f) => f.last_after.clone(),
                    None => last_update.clone(),
                };
                let speculative = self
                    .prepare(&batch, &mut last, in_flight.as_ref().map(|f| &*f.changes))
                    .await;
                // The previous batch must be committed before this one may be: a failure
                // there ends the run before this batch is written.
                let as_prepared = match in_flight.take() {
                    Some(f) => self.settle(f, &mut summary, &mut last_update).await?,
                    None => true,
                };
                match speculative {
                    // What it was prepared on is what the DB now holds.
                    Ok(prepared) if as_prepared => {
                        summary.timings.add(&prepared.outcome.timings);
                        let f = self.start_commit(batch, prepared, last_update.clone(), last);
                        in_flight = Some(f);
                    }
                    // The previous batch was prepared again after a failed commit, or reading
                    // failed: this one is prepared again, without overlap.
                    _ => {
                        let outcome = self.commit_batch(&batch, &mut last_update, None).await?;
                        summary.timings.add(&outcome.timings);
                        self.report(&outcome, &mut summary)?;
                    }
                }
                // Strict mode stopped in this batch: nothing after it may be prepared.
                if in_flight.as_ref().is_some_and(|f| f.outcome.stop.is_some()) {
                    let f = in_flight.take().expect("checked");
                    self.settle(f, &mut summary, &mut last_update).await?;
                }
            }
            if let Some(e) = failure {
                if let Some(f) = in_flight.take() {
                    self.settle(f, &mut summary, &mut last_update).await?;
                }
                return Err(e.into());
            }
            if finished || *stop.borrow() {
                break;
            }
            if last_report.elapsed() >= self.config.progress_every {
                last_report = Instant::now();
                self.progress(&summary, started, end).await;
            }
        }
        // A stop or the end: the batch being committed is finished first, whole.
        if let Some(f) = in_flight.take() {
            self.settle(f, &mut summary, &mut last_update).await?;
        }
        self.progress(&summary, started, end).await;
        Ok(summary)
    }

    fn format(&self) -> UpdateFormat {
        self.format
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Starts committing a prepared batch on its own task, so that the next batch can be read
    /// and prepared meanwhile (on SQLite the commit's work is on the connection's thread).
    fn start_commit(
        &self,
        batch: Vec<Update>,
        prepared: Prepared,
        last_before: Option<IngestedUpdate>,
        last_after: Option<IngestedUpdate>,
    ) -> InFlight {
        let changes = Arc::new(prepared.changes);
        let task = prepared.checkpoint.map(|checkpoint| {
            let store = self.store.clone();
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
            last_before,
            last_after,
            outcome: prepared.outcome,
        }
    }

    /// Waits for a batch's commit and accounts for it. If that commit failed, the batch is
    /// prepared again from fresh reads and committed with the usual retries; then `false`
    /// (the changes the next batch was prepared on are not what the DB holds).
    async fn settle(
        &self,
        f: InFlight,
        summary: &mut Summary,
        last_update: &mut Option<IngestedUpdate>,
    ) -> Result<bool, IngestError> {
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
                *last_update = f.last_after;
                self.report(&outcome, summary)?;
                Ok(true)
            }
            Err(e) => {
                *last_update = f.last_before;
                let outcome = self.commit_batch(&f.batch, last_update, Some(e)).await?;
                summary.timings.add(&outcome.timings);
                self.report(&outcome, summary)?;
                Ok(false)
            }
        }
    }

    /// Counts a committed batch; a strict stop in it ends the run.
    fn report(&self, outcome: &Outcome, summary: &mut Summary) -> Result<(), IngestError> {
        summary.batches += 1;
        summary.ingested += outcome.ingested;
        summary.skipped += outcome.skipped;
        summary.anomalies += outcome.anomalies;
        summary.offset = summary.offset.max(outcome.offset);
        self.observer.event(&Event::Committed {
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

    async fn progress(&self, summary: &Summary, started: Instant, end: Option<i64>) {
        let done = summary.ingested + summary.skipped;
        let ledger_end = match end {
            Some(e) => Some(e),
            None => self.source.ledger_end().await.ok(),
        };
        self.observer.event(&Event::Progress {
            offset: summary.offset,
            ledger_end,
            transactions: done,
            per_second: done as f64 / started.elapsed().as_secs_f64().max(1e-9),
        });
    }

    /// Reads what `needs` asks for, then lays `overlay` over it.
    async fn load_known(
        &self,
        needs: &Needs,
        known: &mut Known,
        overlay: Option<&ChangeSet>,
    ) -> Result<(), StoreError> {
        self.store.load_known(needs, known).await?;
        if let Some(changes) = overlay {
            known.absorb(changes);
        }
        Ok(())
    }

    /// Prepares and commits one batch, retrying DB errors; a conflict (another writer changed
    /// rows the batch read) is prepared again from fresh reads. `failed` is the error of a
    /// first attempt made elsewhere (a pipelined commit), counted as attempt 1.
    async fn commit_batch(
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
                self.observer.event(&Event::Retrying {
                    what: format!("commit: {e}"),
                    attempt,
                    delay,
                });
                tokio::time::sleep(delay).await;
            }
            let mut last = last_update.clone();
            let result = async {
                let mut prepared = self.prepare(batch, &mut last, None).await?;
                let committing = Instant::now();
                if let Some(checkpoint) = &prepared.checkpoint {
                    self.store.commit(&prepared.changes, checkpoint).await?;
                }
                prepared.outcome.timings.committing = committing.elapsed();
                Ok::<_, StoreError>(prepared.outcome)
            }
            .await;
            match result {
                Ok(outcome) => {
                    *last_update = last;
                    return Ok(outcome);
                }
                Err(e) => failed = Some(e),
            }
        }
    }

    /// Parses and folds a batch against the DB state it touches.
    ///
    /// `overlay` is a batch whose commit may or may not be visible to the reads yet; its changes
    /// are laid over every read.
    async fn prepare(
        &self,
        batch: &[Update],
        last_update: &mut Option<IngestedUpdate>,
        overlay: Option<&ChangeSet>,
    ) -> Result<Prepared, StoreError> {
        let config = &*self.fold_config();
        let mut timings = Timings::default();
        let loading = Instant::now();
        let mut known = Known::default();
        // The skip rule before the batch's state: the synchronizers' record times first (no
        // ids needed), then only transactions they do not already cover need their update id
        // and consumed contracts looked up. A batch the record times cover entirely (replaying
        // from an earlier offset, e.g. after a node restore) reads nothing more.
        self.load_known(&Needs::default(), &mut known, overlay)
            .await?;
        let mut needs = Needs::default();
        for u in batch {
            if let Update::Transaction(t) = u {
                let covered = header(&t.value).is_ok_and(|h| {
                    is_ingested(
                        &known,
                        config.skip_rule,
                        &t.value.update_id,
                        &h.synchronizer_id,
                        h.record_time,
                    )
                });
                if !covered {
                    needs.add_raw(&t.value);
                }
            }
        }
        if !needs.update_ids.is_empty() {
            self.load_known(&needs, &mut known, overlay).await?;
        }
        timings.loading += loading.elapsed();
        let parsing = Instant::now();

        // Parse (holdings and instructions are all parsing needs), in order, so that later
        // transactions resolve what earlier ones of the batch created.
        let mut book = HoldingBook::default();
        let mut parsed: Vec<Parsed> = Vec::with_capacity(batch.len());
        let mut needs = Needs::default();
        for u in batch {
            let Update::Transaction(t) = u else {
                parsed.push(Parsed::NotATransaction);
                continue;
            };
            let tx = &t.value;
            let header = match header(tx) {
                Ok(h) => h,
                Err(error) => {
                    parsed.push(Parsed::Broken {
                        update_id: tx.update_id.clone(),
                        error,
                    });
                    continue;
                }
            };
            if is_ingested(
                &known,
                config.skip_rule,
                &tx.update_id,
                &header.synchronizer_id,
                header.record_time,
            ) {
                parsed.push(Parsed::Skipped(header));
                continue;
            }
            let lookup = StateLookup {
                state: &known,
                treasury: &config.treasury,
            };
            let chain = Chain(&book, &lookup);
            let lookup = WithOnboarded(&chain, &config.onboarded);
            match parse_transaction(tx, &config.treasury, &lookup) {
                Ok(p) => {
                    book.apply(&p);
                    needs.add_parsed(&p, config);
                    parsed.push(Parsed::Ok(Box::new(p)));
                }
                Err(e) => parsed.push(Parsed::Broken {
                    update_id: tx.update_id.clone(),
                    error: e.to_string(),
                }),
            }
        }
        // In-flight withdrawals that the batch's record times may expire are loaded before
        // folding, so that what the batch does to them is not overwritten afterwards.
        needs.due_before = batch
            .iter()
            .filter_map(|u| match u {
                Update::Transaction(t) => t.value.record_time.parse::<Timestamp>().ok(),
                Update::OffsetCheckpoint(c) => c
                    .value
                    .synchronizer_times
                    .iter()
                    .filter_map(|s| s.record_time.parse::<Timestamp>().ok())
                    .max(),
                _ => None,
            })
            .max();
        timings.parsing += parsing.elapsed();
        let loading = Instant::now();
        self.load_known(&needs, &mut known, overlay).await?;
        timings.loading += loading.elapsed();
        let folding = Instant::now();

        // Fold in order; stop before the first problem in strict mode.
        let mut changes = ChangeSet::default();
        let mut outcome = Outcome::default();
        let mut offset = None;
        for (u, p) in batch.iter().zip(parsed) {
            let mut stop = None;
            match (u, p) {
                (Update::OffsetCheckpoint(c), _) => {
                    let mut times = ChangeSet::default();
                    for s in &c.value.synchronizer_times {
                        if let (Ok(sync), Ok(time)) = (
                            SynchronizerId::new(&s.synchronizer_id),
                            s.record_time.parse::<Timestamp>(),
                        ) {
                            times.observe_record_time(sync, time);
                        }
                    }
                    known.absorb(&times);
                    changes.merge(times);
                }
                (_, Parsed::NotATransaction) => {}
                (_, Parsed::Skipped(header)) => {
                    outcome.skipped += 1;
                    *last_update = Some(header);
                }
                (Update::Transaction(t), Parsed::Broken { update_id, error }) => {
                    outcome.anomalies += 1;
                    // Never guessed at, never dropped: set aside whole if the operator chose
                    // so (and the header is sound enough to file it under), else stop here.
                    let set_aside = self.config.quarantine_unparseable && !self.config.strict;
                    match header(&t.value) {
                        Ok(h) if set_aside => {
                            // The wire types keep Daml values as the node sent them.
                            let raw = serde_json::to_string(&t.value).unwrap_or_default();
                            let c = quarantine(h.clone(), error.clone(), raw);
                            known.absorb(&c);
                            changes.merge(c);
                            outcome.ingested += 1;
                            *last_update = Some(h);
                        }
                        _ if self.config.strict => {
                            stop = Some(Stop::Strict(format!("update {update_id}: {error}")))
                        }
                        _ => {
                            stop = Some(Stop::Unparseable {
                                update_id: update_id.clone(),
                                offset: t.value.offset.to_string(),
                                error: error.clone(),
                            })
                        }
                    }
                    self.observer.event(&Event::Unparseable {
                        update_id: update_id.clone(),
                        error: error.clone(),
                        quarantined: stop.is_none(),
                    });
                }
                (_, Parsed::Ok(p)) => {
                    let folded = fold(&p, &known, config);
                    for h in &folded.held_back {
                        self.observer.event(&Event::HeldBack(h.clone()));
                    }
                    if let Some(a) = folded.anomalies.first() {
                        outcome.anomalies += folded.anomalies.len() as u64;
                        for a in &folded.anomalies {
                            self.observer.event(&Event::Anomaly(a.clone()));
                        }
                        if self.config.strict {
                            stop = Some(Stop::Strict(a.to_string()));
                        }
                    }
                    if stop.is_none() {
                        if folded.changes.ingested.is_empty() {
                            outcome.skipped += 1;
                        } else {
                            outcome.ingested += 1;
                        }
                        known.absorb(&folded.changes);
                        changes.merge(folded.changes);
                        *last_update = Some(IngestedUpdate {
                            update_id: p.update_id.clone(),
                            offset: p.offset,
                            record_time: p.record_time,
                            synchronizer_id: p.synchronizer_id.clone(),
                        });
                    }
                }
                (_, Parsed::Broken { .. }) => {}
            }
            if stop.is_some() {
                outcome.stop = stop;
                break;
            }
            offset = u.offset().or(offset);
        }

        // Withdrawals whose target record time has passed on their synchronizer without their
        // transfer (never by another synchronizer's clock: see `Known::due`).
        let expired = expire_due(&known);
        known.absorb(&expired);
        changes.merge(expired);

        outcome.offset = offset.unwrap_or(0);
        timings.folding += folding.elapsed();
        outcome.timings = timings;
        Ok(Prepared {
            changes,
            checkpoint: offset
                .and_then(|o| Offset::new(o).ok())
                .map(|offset| Checkpoint {
                    offset,
                    last_update: last_update.clone(),
                }),
            outcome,
        })
    }
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

/// The identity of a transaction, or which part of it is invalid.
fn header(tx: &JsTransaction) -> Result<IngestedUpdate, String> {
    let invalid = |field: &str, e: &dyn std::fmt::Display| format!("invalid {field}: {e}");
    Ok(IngestedUpdate {
        update_id: UpdateId::new(&tx.update_id).map_err(|e| invalid("updateId", &e))?,
        offset: Offset::new(tx.offset).map_err(|e| invalid("offset", &e))?,
        record_time: tx
            .record_time
            .parse()
            .map_err(|e| invalid("recordTime", &e))?,
        synchronizer_id: SynchronizerId::new(&tx.synchronizer_id)
            .map_err(|e| invalid("synchronizerId", &e))?,
    })
}

enum Parsed {
    NotATransaction,
    Skipped(IngestedUpdate),
    Broken { update_id: String, error: String },
    Ok(Box<ParsedTransaction>),
}

/// Why a batch stops before one of its transactions (committed up to just before it).
#[derive(Debug, Clone)]
enum Stop {
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

#[derive(Debug, Default)]
struct Outcome {
    ingested: u64,
    skipped: u64,
    anomalies: u64,
    offset: i64,
    stop: Option<Stop>,
    timings: Timings,
}

struct Prepared {
    changes: ChangeSet,
    /// `None` when nothing of the batch may be committed (strict mode stopped at its start).
    checkpoint: Option<Checkpoint>,
    outcome: Outcome,
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
