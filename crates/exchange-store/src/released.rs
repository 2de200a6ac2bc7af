//! No SQLite connection goes back to the pool inside a transaction.
//!
//! A store future dropped midway (a `tokio::time::timeout`, the losing branch of a `select!`, a
//! task aborted at shutdown) drops its connection, which goes back to the pool. Mostly sqlx
//! cleans up: a dropped `Transaction` queues its `ROLLBACK`, and a `BEGIN` whose caller is gone
//! before the answer is rolled back by the connection's worker. One window is left open: for a
//! custom begin statement (our `BEGIN IMMEDIATE`) sqlx-sqlite, after `BEGIN` succeeded, still
//! awaits its handle's lock to check that a transaction began; dropped there, no `Transaction`
//! exists yet and nothing ever rolls back. The connection then idles in the pool holding the
//! database's write lock, and every other writer (the other pool, another process, the same
//! pool's other connections) waits out the busy timeout and fails with "database is locked".
//!
//! The fix is a check when a connection is released ([`outside_transaction`], the pools'
//! `after_release` hook): the simplest robust place, since every path back into the pool passes
//! it, whatever was cancelled where, and it runs at once (sqlx spawns the release), so the lock
//! is freed without waiting for the connection's next use. Switching to sqlx's `Transaction`
//! "everywhere" would not help: the store already uses it; the leak is before it exists.

use std::future::Future;
use std::pin::Pin;

use sqlx::pool::PoolConnectionMetadata;
use sqlx::sqlite::{SqliteConnection, SqliteTransactionManager};
use sqlx::{Connection as _, TransactionManager as _};

type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// The `after_release` hook of a SQLite pool: `Ok(true)` keeps the connection, `Ok(false)`
/// closes it (closing a SQLite connection rolls back whatever it had open and frees its locks).
pub(crate) fn hook()
-> impl for<'c> Fn(&'c mut SqliteConnection, PoolConnectionMetadata) -> BoxFuture<'c, sqlx::Result<bool>>
+ Send
+ Sync
+ 'static {
    |conn, _| Box::pin(outside_transaction(conn))
}

/// Leaves `conn` outside any transaction, or says to close it.
async fn outside_transaction(conn: &mut SqliteConnection) -> sqlx::Result<bool> {
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A dropped `Transaction` queued its rollback on the connection's worker; the ping runs
    // after it, so only a transaction nobody will end is still open afterwards.
    conn.ping().await?;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // sqlx's own rollback, so that its count of open transactions stays right (a raw
    // `ROLLBACK` would leave it at one, and every later `BEGIN IMMEDIATE` would be refused).
    match SqliteTransactionManager::rollback(conn).await {
        Ok(()) if !conn.is_in_transaction() => Ok(true),
        // SQLite had already rolled back by itself (a full disk, see `db::begin_sqlite`), or
        // something stranger: closing is sure to leave nothing open (an in-memory DB too: see
        // `db::MemoryKeeper`).
        _ => Ok(false),
    }
}
