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

use rustix::fs::FlockOperation;

use crate::error::{Result, StoreError};

/// How long a lock that looks held is tried again before it counts as held.
const FORK_WINDOW: std::time::Duration = std::time::Duration::from_millis(500);

/// `flock` without waiting for a real holder, but past a moment's contention that is not one.
/// A child process (pg_dump, a browser, any `Command`) starts with a copy of every descriptor
/// of its parent and keeps it until it execs, so a lock another thread let go a moment ago can
/// still look held while that child waits to run: on a loaded machine a drill saw `db
/// restore`'s exclusive hold outlive the restore that way. A real holder (a restore, another
/// process's store, an ingestion) holds for far longer than `FORK_WINDOW` and is still
/// reported. The waits are short sleeps on the caller's thread, only while the lock looks held.
pub(crate) fn flock_soon(file: &File, operation: FlockOperation) -> rustix::io::Result<()> {
    let deadline = std::time::Instant::now() + FORK_WINDOW;
    loop {
        match rustix::fs::flock(file, operation) {
            Err(rustix::io::Errno::WOULDBLOCK) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            done => return done,
        }
    }
}

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
        match flock_soon(&file, FlockOperation::NonBlockingLockShared) {
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
        match flock_soon(&file, FlockOperation::NonBlockingLockExclusive) {
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

#[cfg(test)]
mod flock_tests {
    use std::time::{Duration, Instant};

    use super::*;

    fn lock_file(dir: &tempfile::TempDir) -> (File, File) {
        let path = dir.path().join("x.lock");
        (open(&path).unwrap(), open(&path).unwrap())
    }

    #[test]
    fn a_hold_let_go_within_the_window_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let (holder, taker) = lock_file(&dir);
        rustix::fs::flock(&holder, FlockOperation::NonBlockingLockExclusive).unwrap();
        let letting_go = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(holder);
        });
        flock_soon(&taker, FlockOperation::NonBlockingLockShared).expect("taken once let go");
        letting_go.join().unwrap();
    }

    #[test]
    fn a_real_holder_is_still_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (holder, taker) = lock_file(&dir);
        rustix::fs::flock(&holder, FlockOperation::NonBlockingLockExclusive).unwrap();
        let started = Instant::now();
        let refused = flock_soon(&taker, FlockOperation::NonBlockingLockShared);
        assert_eq!(refused, Err(rustix::io::Errno::WOULDBLOCK));
        assert!(started.elapsed() >= FORK_WINDOW);
    }
}
