//! Backups of a SQLite Integration DB taken while the service runs, and putting one back.
//!
//! PostgreSQL has its own tools for both (`pg_dump` / `pg_restore`, base backups); the store
//! refuses there and says so. After either kind of restore, `recover db` runs the guide's
//! DB-restore runbook.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use crate::Store;
use crate::db::Pool;
use crate::error::{Result, StoreError};
use crate::open_lock::OpenLock;

/// What to use instead of `db backup` / `db restore` on PostgreSQL.
pub const POSTGRES_BACKUPS: &str = "a PostgreSQL Integration DB is backed up with pg_dump (or a base backup) \
     and restored with pg_restore; run `canton-exchange recover db` afterwards";

/// What [`restore_sqlite`] did.
#[derive(Clone, Debug)]
pub struct Restored {
    /// The DB file now holding the backup's content.
    pub db: PathBuf,
    /// Where the file it replaced was moved (with its WAL), if there was one.
    pub replaced: Option<PathBuf>,
}

impl Store {
    /// Writes a consistent copy of this SQLite DB to `out` while others keep writing:
    /// `VACUUM INTO` reads one snapshot (a read transaction), so the copy holds every commit
    /// before it and none after, whatever the writers do meanwhile. The copy is made under a
    /// temporary name beside `out` (created 0600 before a byte is written: it holds customers'
    /// accounts), synced, then put in place in one step: never a partial file at `out`. An
    /// existing `out` is replaced only with `overwrite`. Returns the copy's size in bytes.
    pub async fn backup_to(&self, out: &Path, overwrite: bool) -> Result<u64> {
        let Pool::Sqlite { main, .. } = &self.pool else {
            return Err(StoreError::Unsupported(POSTGRES_BACKUPS.to_owned()));
        };
        if !overwrite && out.exists() {
            return Err(exists(out));
        }
        let tmp = TempFile::create_beside(out)?;
        let path = tmp.path.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{} is not a UTF-8 path", tmp.path.display()))
        })?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(main)
            .await?;
        tmp.sync()?;
        let size = std::fs::metadata(&tmp.path)
            .map_err(|e| io(&tmp.path, e))?
            .len();
        tmp.put_in_place(out, overwrite)?;
        Ok(size)
    }
}

/// Replaces the SQLite DB of `url` with the backup `from`, refusing while anyone has the DB open
/// (the ingestion lease, `run`'s automation, any command: see [`crate::open_lock`]) or when
/// `from` is not an intact Integration DB this program can run (newer schema, no schema, a
/// damaged file). The backup is copied beside the DB and checked there first; the DB file is
/// then replaced in one rename. The replaced file is kept (renamed `<db>.replaced-<secs>`, its
/// WAL with it) so a mistaken restore loses nothing. A backup of an older schema is accepted:
/// the next writable open migrates it.
pub async fn restore_sqlite(url: &str, from: &Path) -> Result<Restored> {
    if url.starts_with("postgres") {
        return Err(StoreError::Unsupported(POSTGRES_BACKUPS.to_owned()));
    }
    if !url.starts_with("sqlite:") {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    }
    let db = SqliteConnectOptions::from_str(url)?
        .get_filename()
        .to_path_buf();
    if db.as_os_str().is_empty() || url.contains(":memory:") || url.contains("mode=memory") {
        return Err(StoreError::Invalid(
            "an in-memory DB cannot be restored".to_owned(),
        ));
    }
    if !from.is_file() {
        return Err(StoreError::NotFound(format!(
            "no backup file at {}",
            from.display()
        )));
    }
    let _users = OpenLock::exclusive(&db)?.ok_or_else(|| {
        StoreError::Lease(format!(
            "{} is open in another process (ingestion, `run`, a command): stop it before restoring",
            db.display()
        ))
    })?;
    let _ingestion = crate::lease::hold_sqlite_file(&db)?.ok_or_else(|| {
        StoreError::Lease(format!(
            "an ingestion holds {}: stop it before restoring",
            crate::lease::sqlite_lock_path(&db).display()
        ))
    })?;

    let tmp = TempFile::create_beside(&db)?;
    {
        let mut source = File::open(from).map_err(|e| io(from, e))?;
        let mut target = tmp.file()?;
        std::io::copy(&mut source, &mut target).map_err(|e| io(&tmp.path, e))?;
    }
    tmp.sync()?;
    check_backup(&tmp.path).await.map_err(|e| match e {
        StoreError::Database(e) => StoreError::Invalid(format!(
            "{} is not a readable SQLite DB: {e}",
            from.display()
        )),
        other => other,
    })?;
    let replaced = move_aside(&db)?;
    tmp.put_in_place(&db, true)?;
    Ok(Restored { db, replaced })
}

/// An intact SQLite file with an Integration DB schema this program knows (or an older one).
async fn check_backup(path: &Path) -> Result<()> {
    // Immutable: read as a plain file, no -wal/-shm created beside the copy.
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .connect()
        .await?;
    let verdict: String = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await?;
    let _ = conn.close().await;
    if verdict != "ok" {
        return Err(StoreError::Invalid(format!(
            "the backup is damaged (SQLite quick_check: {verdict})"
        )));
    }
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .read_only(true)
                .immutable(true),
        )
        .await?;
    let checked = crate::schema::check_sqlite(&pool, crate::db::sqlite_migrations()).await;
    pool.close().await;
    match checked {
        Ok(()) | Err(StoreError::SchemaOlder { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Renames `db` (and its WAL or rollback journal, which belong to it and would otherwise be
/// applied to the restored file) to `<db>.replaced-<unix seconds>[-n]`; drops its `-shm` (an index
/// SQLite rebuilds). Nothing to do for a DB that does not exist yet.
fn move_aside(db: &Path) -> Result<Option<PathBuf>> {
    let suffixed = |path: &Path, suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    if !db.exists() {
        for stale in ["-wal", "-shm", "-journal"] {
            remove_if_exists(&suffixed(db, stale))?;
        }
        return Ok(None);
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // A second restore within the same second (found by the drills) gets `-2`, `-3`, ...:
    // a restore never refuses for want of a name, and never overwrites a kept file.
    let free = |n: u32| {
        let tail = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let aside = suffixed(db, &format!(".replaced-{secs}{tail}"));
        let taken = ["", "-wal", "-journal"]
            .iter()
            .any(|j| suffixed(&aside, j).exists());
        (!taken).then_some(aside)
    };
    let Some(aside) = (1..1000).find_map(free) else {
        return Err(exists(&suffixed(db, &format!(".replaced-{secs}"))));
    };
    // The WAL first: a crash between the two renames leaves the old DB without its newest
    // commits, never the restored file with the old DB's WAL applied to it.
    for journal in ["-wal", "-journal"] {
        let from = suffixed(db, journal);
        if from.exists() {
            std::fs::rename(&from, suffixed(&aside, journal)).map_err(|e| io(&from, e))?;
        }
    }
    remove_if_exists(&suffixed(db, "-shm"))?;
    std::fs::rename(db, &aside).map_err(|e| io(db, e))?;
    Ok(Some(aside))
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io(path, e)),
    }
}

/// A file being written under a temporary name; removed unless put in place.
struct TempFile {
    path: PathBuf,
    placed: bool,
}

impl TempFile {
    /// An empty file, mode 0600, in `target`'s directory (so the final rename stays on one
    /// file system and is atomic).
    fn create_beside(target: &Path) -> Result<TempFile> {
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| StoreError::Invalid(format!("{} names no file", target.display())))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!(
            ".{}.tmp-{}-{nanos}",
            name.to_string_lossy(),
            std::process::id()
        ));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        Ok(TempFile {
            path,
            placed: false,
        })
    }

    fn file(&self) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| io(&self.path, e))
    }

    fn sync(&self) -> Result<()> {
        let mut file = self.file()?;
        file.flush().map_err(|e| io(&self.path, e))?;
        file.sync_all().map_err(|e| io(&self.path, e))
    }

    /// Renames it to `target` (replacing it only with `overwrite`: a hard link fails
    /// atomically when `target` exists) and syncs the directory so the new name survives a
    /// power loss.
    fn put_in_place(mut self, target: &Path, overwrite: bool) -> Result<()> {
        if overwrite {
            std::fs::rename(&self.path, target).map_err(|e| io(target, e))?;
        } else {
            std::fs::hard_link(&self.path, target).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => exists(target),
                _ => io(target, e),
            })?;
            std::fs::remove_file(&self.path).map_err(|e| io(&self.path, e))?;
        }
        self.placed = true;
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn exists(path: &Path) -> StoreError {
    StoreError::Conflict(format!("{} already exists", path.display()))
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}
