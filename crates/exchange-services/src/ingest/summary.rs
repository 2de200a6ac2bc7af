//! What a run did ([`Summary`]) and where its time went ([`Timings`]).

use std::time::Duration;

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Transactions applied (with effects or not).
    pub ingested: u64,
    /// Transactions the skip rule found already ingested.
    pub skipped: u64,
    pub batches: u64,
    pub anomalies: u64,
    /// The checkpoint offset at the end.
    pub offset: i64,
    /// Where the time went.
    pub timings: Timings,
}

/// Wall-clock time per phase of a run. A batch is committed while the next one is read and
/// prepared, so `waiting` + `loading` + `parsing` + `folding` + `commit_wait` add up to about the
/// run's duration, and `committing` overlaps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Timings {
    /// Waiting for the reader (ledger reads and JSON decoding not overlapped with the rest).
    pub waiting: Duration,
    /// Reading the DB state a batch touches.
    pub loading: Duration,
    /// Token-standard parsing of the transactions.
    pub parsing: Duration,
    /// The fold (pure decisions).
    pub folding: Duration,
    /// Writing the batches (on their own task, overlapped with the phases above).
    pub committing: Duration,
    /// Waiting for a batch's commit to finish (the part of `committing` not overlapped).
    pub commit_wait: Duration,
}

impl Timings {
    pub(super) fn add(&mut self, other: &Timings) {
        self.waiting += other.waiting;
        self.loading += other.loading;
        self.parsing += other.parsing;
        self.folding += other.folding;
        self.committing += other.committing;
        self.commit_wait += other.commit_wait;
    }
}
