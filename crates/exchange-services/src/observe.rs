//! What ingestion reports while it runs, for the operator (the CLI prints it) and for tests.

use std::time::Duration;

use exchange_core::ingest::Anomaly;

/// Something worth telling the operator.
#[derive(Debug, Clone)]
pub enum IngestEvent {
    /// Ingestion starts after `from`; with `--once` it stops at `to`.
    Started { from: i64, to: Option<i64> },
    /// A batch was committed.
    Committed {
        offset: i64,
        transactions: usize,
        skipped: usize,
        /// How long the DB commit took.
        committing: Duration,
    },
    /// Periodic, and at the end: where ingestion is and how fast it goes.
    Progress {
        offset: i64,
        ledger_end: Option<i64>,
        transactions: u64,
        per_second: f64,
    },
    /// Ledger data ingestion did not act on (logged with its update id).
    Anomaly(Anomaly),
    /// A holding or deposit its issuer does not stand behind (a counterfeit, a token not
    /// onboarded): recorded, not credited. Never stops ingestion.
    HeldBack(Anomaly),
    /// Onboarded tokens changed and what was held back was judged again: `holdings` became
    /// spendable and `deposits` left the unrecognized state (credited, offered or unknown
    /// account).
    Recognized { holdings: usize, deposits: usize },
    /// A transaction that could not be parsed: ingestion stops before it, or (`quarantined`)
    /// it was set aside.
    Unparseable {
        update_id: String,
        error: String,
        quarantined: bool,
    },
    /// Another ingestion holds the lease: this one waits as a standby.
    Standby { lease: String },
    /// The standby took the lease over and starts.
    TookOver,
    /// A retryable error; the next attempt comes after `delay`.
    Retrying {
        what: String,
        attempt: u32,
        delay: Duration,
    },
}

/// Receives [`IngestEvent`]s; must not block.
pub trait Observer: Send + Sync {
    fn event(&self, event: &IngestEvent);
}

/// Tells both (e.g. the log and the metrics).
pub struct Both<A, B>(pub A, pub B);

/// A shared observer observes too (the caller keeps its own handle).
impl<T: Observer + ?Sized> Observer for std::sync::Arc<T> {
    fn event(&self, event: &IngestEvent) {
        (**self).event(event);
    }
}

impl<A: Observer, B: Observer> Observer for Both<A, B> {
    fn event(&self, event: &IngestEvent) {
        self.0.event(event);
        self.1.event(event);
    }
}

/// Ignores everything.
pub struct Silent;

impl Observer for Silent {
    fn event(&self, _: &IngestEvent) {}
}

/// Collects events (tests).
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<IngestEvent>>);

impl Observer for Collect {
    fn event(&self, event: &IngestEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}
