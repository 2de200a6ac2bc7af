//! The store's SQLite writers take turns in-process (see [`WriterQueue`]).

use crate::db::BUSY_TIMEOUT;
use crate::error::{Result, StoreError};

/// The store's SQLite writers, one at a time, in the order they came.
///
/// SQLite lets one transaction write at a time. Left to SQLite, a writer that finds the lock
/// taken (`BEGIN IMMEDIATE` on another connection of the pools) sleeps in its busy handler, 1,
/// 2, 5, 10… up to 100 ms between tries, however soon the lock is free: under load the lock sat
/// idle while writers slept. Queued here, each is woken the moment the one before commits
/// (withdrawal creation under load: 1.6 times the requests per second, a quarter of the p99;
/// docs/benchmarks.md). Writers of other processes still meet the busy handler, which stays
/// the bound across processes.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriterQueue(std::sync::Arc<tokio::sync::Mutex<()>>);

/// A writer's turn: held by its transaction until it ends.
pub(crate) type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

impl WriterQueue {
    /// Waits for the turn, as long as SQLite's busy timeout would have let it wait for the lock.
    pub(crate) async fn wait(&self) -> Result<WriterTurn> {
        tokio::time::timeout(BUSY_TIMEOUT, self.0.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Database(sqlx::Error::Protocol(format!(
                    "no turn to write within {} s: another write transaction of this store is still open",
                    BUSY_TIMEOUT.as_secs()
                )))
            })
    }
}
