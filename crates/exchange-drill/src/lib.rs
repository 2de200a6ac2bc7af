//! Disaster drills (issue 12, part 4): seeded traffic against a sandbox node, backups of the
//! node and the Integration DB at random moments, disasters at random steps (a node restored
//! from a backup up to 30 days old, the DB restored from a backup, a crashed service, non-unique
//! record times after ACS imports), the matching recovery runbook, resumed traffic, and the
//! invariants, checked against the node's own state after every recovery and at the end.
//!
//! `canton-exchange drill` runs them; `docs/drills.md` says what each part means.

pub mod clock;
pub mod db;
pub mod disaster;
pub mod exchange;
pub mod invariants;
mod pg_tools;
pub mod report;
pub mod rng;
mod run;
pub mod traffic;

use exchange_services::IngestError;
use exchange_store::StoreError;
use serde::Serialize;

pub use db::DbTarget;
pub use disaster::{Disaster, DisasterKind};
pub use report::{Report, Summary, Violation};
pub use run::{run_drill, run_many};

/// Which disasters a drill stages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillKind {
    /// One node restore from a backup, then `recover validator`.
    ValidatorRestore,
    /// One Integration DB restore from a backup, then `recover db`.
    DbRestore,
    /// One of each, in a random order.
    Both,
    /// Any number of node restores, DB restores and crashes, at random steps.
    Random,
}

impl DrillKind {
    pub fn name(self) -> &'static str {
        match self {
            DrillKind::ValidatorRestore => "validator-restore",
            DrillKind::DbRestore => "db-restore",
            DrillKind::Both => "both",
            DrillKind::Random => "random",
        }
    }
}

/// A fault planted on purpose, to prove the invariants catch it (tests only).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plant {
    /// Before the final check, one deposit's journal row is changed behind the store's back.
    CorruptJournal,
}

#[derive(Clone, Debug)]
pub struct DrillConfig {
    pub kind: DrillKind,
    pub seed: u64,
    /// Traffic steps (each followed, mostly, by one turn of every service).
    pub steps: usize,
    pub db: DbTarget,
    /// Drills at once in [`run_many`].
    pub concurrency: usize,
    #[doc(hidden)]
    pub plant: Option<Plant>,
}

impl DrillConfig {
    pub fn new(kind: DrillKind, seed: u64) -> DrillConfig {
        DrillConfig {
            kind,
            seed,
            steps: 30,
            db: DbTarget::Sqlite,
            concurrency: 4,
            plant: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DrillError {
    #[error("{0}")]
    Config(String),
    #[error("setting the drill up failed: {0}")]
    Setup(String),
    #[error("the node refused the drill's traffic: {0}")]
    Node(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("ingestion failed: {0}")]
    Ingest(#[from] IngestError),
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
}
