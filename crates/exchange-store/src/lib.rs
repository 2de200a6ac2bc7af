//! The Canton Integration DB: everything the exchange's Canton integration remembers, on SQLite
//! (embedded default, one file) or PostgreSQL (production), chosen by the URL given to
//! [`Store::open`]. The only SQL of the project lives in this crate.
//!
//! # Writers
//! - **Ingestion** writes through [`Store::commit`] only: a [`ChangeSet`] and the new
//!   [`Checkpoint`] in one DB transaction. The checkpoint only moves forward; a commit that
//!   would move it back, or that repeats an ingested update, a deposit credit or a journal cause,
//!   fails with a typed error and writes nothing.
//! - **Exchange systems and automation** write with narrow methods, each one DB transaction:
//!   [`Store::place_withdrawal`] (holding selection and reservation, debit and request
//!   together; idempotent per key), [`Store::request_withdrawal`] (the same with the holdings
//!   named by the caller), [`Store::place_pool_transfer`] (the pool job's self-transfer: a
//!   withdrawal to the treasury without an account, its planned inputs checked and reserved),
//!   [`Store::transition_withdrawal`], accounts, tokens, `.dar`s and operator switches.
//! - **The withdrawal automation** claims due withdrawals ([`Store::claim_withdrawals`]; on
//!   PostgreSQL several replicas share the queue through `FOR UPDATE SKIP LOCKED`) and records
//!   each attempt's end ([`Store::finish_attempt`]).
//! - **The deposit automation** claims open incoming offers ([`Store::claim_deposit_offers`],
//!   the same way) and records each accept attempt's end ([`Store::finish_deposit_accept`]);
//!   the deposit itself is credited or cancelled by ingestion only.
//! - One ingestion at a time: it holds the [`IngestionLease`] (an advisory lock on PostgreSQL, a
//!   lock file beside a SQLite file); another instance waits for it as a standby.
//! - **Operators** may [`Store::rewind_checkpoint`] (node restore runbook), nothing else bypasses
//!   the forward-only rule.
//!
//! # Invariants
//! - Money is exact: NUMERIC(38, 10) on PostgreSQL, canonical decimal text on SQLite (summed in
//!   Rust), never a float.
//! - A customer balance is the sum of the account's journal; every entry names its cause and
//!   each cause is booked at most once. `account_balances` holds that sum, updated in the
//!   transaction of every journal insert ([`Store::check_balances`] verifies it).
//! - A holding is reserved by at most one withdrawal; failed or expired withdrawals are refunded
//!   through the journal and release their holdings in the same transaction.

mod accounts;
mod backup;
mod balances;
mod bulk;
mod catalog;
mod claims;
mod dars;
mod db;
mod db_recovery;
mod deposit_accepts;
mod deposits;
mod error;
mod holdings;
mod ingest;
mod instructions;
mod known;
mod lease;
mod memory_keeper;
mod open_lock;
mod operator_log;
mod pages;
mod pending;
mod pool;
mod quarantine;
mod recoveries;
mod released;
mod schema;
mod treasury;
mod untrusted;
mod withdrawals;
mod writers;

pub use accounts::{Account, JournalRecord};
pub use backup::{POSTGRES_BACKUPS, Restored, restore_sqlite};
pub use balances::BalanceDrift;
pub use catalog::{Switch, SwitchState, Token};
pub use claims::{AttemptOutcome, ClaimRequest, Claimed};
pub use dars::{Dar, OnboardingReport};
pub use db::Backend;
pub use db_recovery::DbRecovery;
pub use deposit_accepts::{
    AcceptOutcome, AcceptRecord, AcceptState, ClaimedOffer, FailedAccept, OfferClaimRequest,
    OfferClaims,
};
pub use deposits::DepositRecord;
pub use error::{Result, StoreError};
pub use holdings::HoldingRecord;
pub use lease::IngestionLease;
pub use operator_log::{OperatorLogEntry, OperatorNote};
pub use pages::{After, DepositFilter, Page, WithdrawalFilter};
pub use quarantine::QuarantineEntry;
pub use recoveries::{LiveClaim, Recovery, RecoveryRecord};
pub use withdrawals::Withdrawal;

use exchange_core::Timestamp;
use exchange_core::changeset::{ChangeSet, Checkpoint};

/// A handle on the Integration DB; cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: db::Pool,
}

impl Store {
    /// Opens `sqlite://path/to/file.db`, `sqlite::memory:` or `postgres://…`, creating the
    /// SQLite file if needed, and migrates the schema to the current version (idempotent).
    pub async fn open(url: &str) -> Result<Store> {
        Ok(Store {
            pool: db::Pool::open(url).await?,
        })
    }

    /// Opens a DB to read it, writing nothing: no migrations, no file created, a SQLite file
    /// opened read-only, so a read-only PostgreSQL role suffices. Fails with
    /// [`StoreError::SchemaOlder`] / [`StoreError::SchemaMissing`] when the DB needs migrating
    /// first (by [`Store::open`]), [`StoreError::SchemaNewer`] when a newer build migrated it.
    pub async fn open_read_only(url: &str) -> Result<Store> {
        Ok(Store {
            pool: db::Pool::open_read_only(url).await?,
        })
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Waits for connections in use and closes them all.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Writes a batch of ingestion effects and advances the checkpoint, atomically.
    ///
    /// Fails with [`StoreError::CheckpointRegression`] unless `checkpoint.offset` is after the
    /// stored one (or equal to it, for a change set that ingests no transaction); with [`StoreError::Conflict`] on a repeated update id, deposit credit,
    /// journal cause, holding or withdrawal id; with [`StoreError::InvalidTransition`] on a
    /// state change the state machines forbid. On error nothing is written.
    ///
    /// `checkpoint.last_update: None` keeps the stored identity (a batch made only of offset
    /// checkpoints).
    pub async fn commit(&self, changes: &ChangeSet, checkpoint: &Checkpoint) -> Result<()> {
        let mut tx = self.pool.write_ingest().await?;
        ingest::advance_checkpoint(&mut tx, checkpoint, changes.ingested.is_empty()).await?;
        ingest::apply(&mut tx, changes).await?;
        tx.commit().await
    }

    /// Takes the ingestion lease for `party` if no other ingestion holds it (`None` then). See
    /// [`IngestionLease`]: one writer at a time, a second instance waits as a standby.
    ///
    /// A holder that ended a moment ago (killed, or its task dropped) may not have been noticed
    /// by the PostgreSQL server yet, so a held lease is asked for again for up to a second
    /// before the answer is `None`.
    pub async fn try_ingestion_lease(
        &self,
        party: &exchange_core::PartyId,
    ) -> Result<Option<IngestionLease>> {
        let grace = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let lease = lease::try_acquire(&self.pool, party).await?;
            if lease.is_some() || std::time::Instant::now() >= grace {
                return Ok(lease);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Where the ingestion lease lives (a lock file, an advisory lock), for messages.
    pub fn ingestion_lease_name(&self, party: &exchange_core::PartyId) -> String {
        lease::describe(&self.pool, party)
    }

    /// Sets the checkpoint even if that moves it back: for the node-restore runbook (resume at
    /// `offRecovery`) and DB-restore replays. Operators only; ingestion must be stopped.
    /// `note`: an operator decision that bypassed a check, logged in the same transaction.
    pub async fn rewind_checkpoint(
        &self,
        checkpoint: &Checkpoint,
        note: Option<&OperatorNote>,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        ingest::set_checkpoint(&mut tx, checkpoint).await?;
        if let Some(note) = note {
            operator_log::log(&mut tx, note).await?;
        }
        tx.commit().await
    }
}

fn now() -> Timestamp {
    Timestamp::now()
}
