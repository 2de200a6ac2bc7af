//! Who has a SQLite Integration DB open: every process holds a shared `flock` on
//! `<db file>-users.lock` while its store is open, so `db restore` (which takes it exclusively)
//! can refuse to swap the file under anyone: ingestion, the automation in `run`, a request, a
//! reader. SQLite's own locks live only as long as a transaction and cannot say that.
//!
//! The kernel drops a `flock` when its holder's process ends, so a crash never leaves the DB
//! looking busy.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Result, StoreError};

/// A shared hold on a SQLite file (none for an in-memory DB); released by [`OpenLock::release`]
/// or when the last clone is dropped.
#[derive(Clone, Debug, Default)]
pub(crate) struct OpenLock(Arc<Mutex<Option<File>>>);

/// `<db file>-users.lock`, beside the DB's real path (a second name for the same file must
/// find the same lock).
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let db = std::fs::canonicalize(db).unwrap_or_else(|_| {
        // Not created yet: its directory's real path, so that the first opener (which creates
        // the file) and later ones name the same lock.
        match (db.parent(), db.file_name()) {
            (Some(dir), Some(file)) => std::fs::canonicalize(if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            })
            .map(|dir| dir.join(file))
            .unwrap_or_else(|_| db.to_path_buf()),
            _ => db.to_path_buf(),
        }
    });
    let mut name = db.into_os_string();
    name.push("-users.lock");
    PathBuf::from(name)
}

impl OpenLock {
    /// Takes a shared hold on `db` (`None`: in memory). A read-only opener that cannot create
    /// the lock file (a read-only directory) goes without one: it cannot be refused then, but
    /// it cannot write either.
    pub(crate) fn shared(db: Option<&Path>, read_only: bool) -> Result<OpenLock> {
        let Some(db) = db else {
            return Ok(OpenLock::default());
        };
        let path = lock_path(db);
        let file = match open(&path) {
            Ok(file) => file,
            Err(_) if read_only => return Ok(OpenLock::default()),
            Err(e) => return Err(StoreError::Lease(format!("{}: {e}", path.display()))),
        };
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockShared) {
            Ok(()) => Ok(OpenLock(Arc::new(Mutex::new(Some(file))))),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(StoreError::Lease(format!(
                "{} is being replaced by `db restore` (it holds {}); try again once it is done",
                db.display(),
                path.display()
            ))),
            Err(e) => Err(StoreError::Lease(format!("{}: {e}", path.display()))),
        }
    }

    /// Takes `db` for the caller alone, or `None` while anyone has it open.
    pub(crate) fn exclusive(db: &Path) -> Result<Option<File>> {
        let path = lock_path(db);
        let file =
            open(&path).map_err(|e| StoreError::Lease(format!("{}: {e}", path.display())))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(StoreError::Lease(format!("{}: {e}", path.display()))),
        }
    }

    /// Lets go now (a closed store may still be referenced, but no longer uses the file).
    pub(crate) fn release(&self) {
        let mut held = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        held.take();
    }
}

fn open(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}
