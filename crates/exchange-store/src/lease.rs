//! The ingestion lease: at most one ingestion writes a DB at a time (ARCHITECTURE.md § Scale:
//! "ingestion kept single-writer per treasury party, standby takes over via an advisory lock").
//!
//! Correctness does not rest on it: two writers could not credit a deposit twice (each cause is
//! booked once, the checkpoint only moves forward). The lease is what makes a second instance a
//! standby instead of a competitor that wastes work on conflicts, and what lets the recovery
//! runbooks refuse to re-point the checkpoint under a running ingestion.
//!
//! - PostgreSQL: a session advisory lock keyed by the treasury party, held on a connection of
//!   its own taken out of the pool. The server releases it when that connection ends, so a
//!   crashed holder never blocks a standby; [`IngestionLease::check`] tells the holder when its
//!   connection (and so the lock) is gone.
//! - SQLite file: an exclusive `flock` on `<db file>-ingest.lock` beside the DB, released by
//!   the kernel when the holder's process ends. (SQLite's own locks are per transaction and
//!   cannot say "someone is ingesting".)
//! - SQLite in memory: one process by construction; a lease always available.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;

use exchange_core::PartyId;
use sqlx::{Connection, PgConnection};

use crate::db::Pool;
use crate::error::{Result, StoreError};

/// Held while ingesting; dropping it releases the lease.
#[derive(Debug)]
pub struct IngestionLease {
    holder: Holder,
}

#[derive(Debug)]
enum Holder {
    Postgres { conn: PgConnection, key: String },
    File { _file: File, path: PathBuf },
    InMemory,
}

/// Where the lease lives, for messages to operators.
pub(crate) fn describe(pool: &Pool, party: &PartyId) -> String {
    match lock_file(pool) {
        Some(path) => format!("lock file {}", path.display()),
        None if pool.backend() == crate::Backend::Postgres => {
            format!("PostgreSQL advisory lock of treasury party {party}")
        }
        None => "in-memory DB".to_owned(),
    }
}

/// Takes the lease if nobody holds it: `Ok(None)` when another process (or another handle of
/// this one) does.
pub(crate) async fn try_acquire(pool: &Pool, party: &PartyId) -> Result<Option<IngestionLease>> {
    match pool {
        Pool::Postgres(pg) => {
            let mut conn = pg.acquire().await?.detach();
            // hashtextextended: a stable 64-bit key from the party, computed by the server so
            // every instance agrees without sharing code; the prefix keeps other users of
            // advisory locks in the same DB out of our key space.
            let key = format!("canton-exchange ingestion {party}");
            let taken: bool =
                sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))")
                    .bind(&key)
                    .fetch_one(&mut conn)
                    .await?;
            if taken {
                Ok(Some(IngestionLease {
                    holder: Holder::Postgres { conn, key },
                }))
            } else {
                let _ = conn.close().await;
                Ok(None)
            }
        }
        Pool::Sqlite { .. } => {
            let Some(path) = lock_file(pool) else {
                return Ok(Some(IngestionLease {
                    holder: Holder::InMemory,
                }));
            };
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| StoreError::Lease(format!("{}: {e}", path.display())))?;
            // flock, not fcntl locks: those are per process, so a second handle in the same
            // process would be granted the lock too; flock is per open file.
            match crate::open_lock::flock_soon(
                &file,
                rustix::fs::FlockOperation::NonBlockingLockExclusive,
            ) {
                Ok(()) => Ok(Some(IngestionLease {
                    holder: Holder::File { _file: file, path },
                })),
                Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
                Err(e) => Err(StoreError::Lease(format!("{}: {e}", path.display()))),
            }
        }
    }
}

/// `<db file>-ingest.lock` for a SQLite file DB; `None` otherwise.
fn lock_file(pool: &Pool) -> Option<PathBuf> {
    let Pool::Sqlite { main, .. } = pool else {
        return None;
    };
    let options = main.connect_options();
    let db = options.get_filename();
    if db.as_os_str().is_empty() || db.to_string_lossy().contains(":memory:") {
        return None;
    }
    Some(sqlite_lock_path(db))
}

/// `<db file>-ingest.lock`. The real path: a second name for the same DB (a symlink, `..`
/// segments) must find the same lock file, or two ingestions would write one DB.
pub(crate) fn sqlite_lock_path(db: &std::path::Path) -> PathBuf {
    let db = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let mut name = db.into_os_string();
    name.push("-ingest.lock");
    PathBuf::from(name)
}

/// Takes the ingestion lock of a SQLite file DB without a store (for `db restore`, which must
/// not open the DB it replaces): `None` while an ingestion holds it. Nothing to hold (`Some`
/// of nothing) when no ingestion ever ran there.
pub(crate) fn hold_sqlite_file(db: &std::path::Path) -> Result<Option<Option<File>>> {
    let path = sqlite_lock_path(db);
    let file = match OpenOptions::new().write(true).open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Some(None)),
        Err(e) => return Err(StoreError::Lease(format!("{}: {e}", path.display()))),
    };
    match crate::open_lock::flock_soon(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive)
    {
        Ok(()) => Ok(Some(Some(file))),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(StoreError::Lease(format!("{}: {e}", path.display()))),
    }
}

impl IngestionLease {
    /// Whether the lease is still held. A PostgreSQL lease is lost with its connection (the
    /// server dropped it, the network failed): then a standby may already be ingesting, and
    /// the holder must stop writing.
    pub async fn check(&mut self) -> Result<()> {
        match &mut self.holder {
            Holder::Postgres { conn, .. } => conn.ping().await.map_err(|e| {
                StoreError::Lease(format!(
                    "the connection holding the ingestion lock was lost ({e}); another instance may have taken over"
                ))
            }),
            Holder::File { .. } | Holder::InMemory => Ok(()),
        }
    }

    /// Releases the lease now, so that whoever asks next gets it. (Dropping it releases it
    /// too, but on PostgreSQL only once the server has noticed the connection is gone.)
    pub async fn release(self) {
        match self.holder {
            Holder::Postgres { mut conn, key } => {
                // Unlock explicitly: closing alone returns before the server's session has
                // ended, and a lease asked for right after would still find the lock held.
                let _ = sqlx::query("SELECT pg_advisory_unlock(hashtextextended($1, 0))")
                    .bind(&key)
                    .execute(&mut conn)
                    .await;
                let _ = conn.close().await;
            }
            Holder::File { .. } | Holder::InMemory => {}
        }
    }

    /// The lock file of a SQLite lease.
    pub fn lock_file(&self) -> Option<&std::path::Path> {
        match &self.holder {
            Holder::File { path, .. } => Some(path),
            _ => None,
        }
    }
}
