//! The Integration DB a drill runs on: a SQLite file of its own, or a scratch PostgreSQL
//! database created for the drill and dropped after it; and its backups and restores, each
//! the way an operator does them: SQLite's online backup (`Store::backup_to`, `restore_sqlite`),
//! PostgreSQL's `pg_dump` and, into a database dropped and created again, `pg_restore`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use exchange_store::Store;
use sqlx::Connection;

use crate::{DrillError, pg_tools};

/// Where drills keep their Integration DB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// A new SQLite file per drill, in a temporary directory.
    Sqlite,
    /// A PostgreSQL server: each drill creates its own database through this URL (a database
    /// it may connect to, e.g. `postgres://root@127.0.0.1:5432/postgres`) and drops it after.
    Postgres { admin_url: String },
    /// An existing, empty database the caller owns (one drill only; left in place).
    Url(String),
}

impl DbTarget {
    /// `sqlite` (or empty) for SQLite files, a `postgres://` URL for a server.
    pub fn parse(s: &str) -> Result<DbTarget, DrillError> {
        match s {
            "" | "sqlite" => Ok(DbTarget::Sqlite),
            s if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                Ok(DbTarget::Postgres {
                    admin_url: s.to_owned(),
                })
            }
            other => Err(DrillError::Config(format!(
                "--db takes `sqlite` or a postgres:// URL, not {other}"
            ))),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        match self {
            DbTarget::Sqlite => true,
            DbTarget::Postgres { .. } => false,
            DbTarget::Url(url) => url.starts_with("sqlite:"),
        }
    }
}

/// One drill's database.
pub struct ScratchDb {
    pub url: String,
    dir: tempfile::TempDir,
    pg: Option<PgDb>,
}

/// A PostgreSQL database: its name, and a URL to a database of the same server to drop and
/// create it from (one cannot drop the database one is connected to).
struct PgDb {
    admin_url: String,
    name: String,
    /// Created for the drill, so dropped after it; a caller's database is left in place.
    scratch: bool,
}

/// The URL up to its database name, and the name (any `?parameters` dropped).
fn split_database(url: &str) -> Option<(&str, &str)> {
    let url = url.split_once('?').map_or(url, |(u, _)| u);
    let (base, name) = url.rsplit_once('/')?;
    (base.contains("://") && !base.ends_with('/') && !name.is_empty()).then_some((base, name))
}

impl ScratchDb {
    pub async fn create(target: &DbTarget, seed: u64) -> Result<ScratchDb, DrillError> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = tempfile::tempdir().map_err(|e| DrillError::Setup(format!("temp dir: {e}")))?;
        match target {
            DbTarget::Sqlite => Ok(ScratchDb {
                url: format!("sqlite://{}", dir.path().join("integration.db").display()),
                dir,
                pg: None,
            }),
            DbTarget::Url(url) => Ok(ScratchDb {
                url: url.clone(),
                dir,
                // A restore drops and re-creates the caller's database from the server's
                // maintenance database (`postgres`), as `pg_restore` users do.
                pg: split_database(url)
                    .filter(|_| !url.starts_with("sqlite:"))
                    .map(|(base, name)| PgDb {
                        admin_url: format!("{base}/postgres"),
                        name: name.to_owned(),
                        scratch: false,
                    }),
            }),
            DbTarget::Postgres { admin_url } => {
                let name = format!(
                    "drill_{}_{}_{seed}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let name: String = name.chars().take(63).collect();
                let mut admin = sqlx::PgConnection::connect(admin_url).await?;
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut admin)
                    .await?;
                let _ = admin.close().await;
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(admin_url);
                Ok(ScratchDb {
                    url: format!("{base}/{name}"),
                    dir,
                    pg: Some(PgDb {
                        admin_url: admin_url.clone(),
                        name,
                        scratch: true,
                    }),
                })
            }
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    pub async fn open(&self) -> Result<Store, DrillError> {
        Ok(Store::open(&self.url).await?)
    }

    /// A place for files of this drill (DB backups, the treasury key).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A backup of the DB while the services run, as the operator takes one: SQLite's online
    /// backup, or `pg_dump --format=custom`. Returns its file.
    pub async fn backup(&self, store: &Store, step: usize) -> Result<PathBuf, DrillError> {
        if self.is_sqlite() {
            let path = self.file(&format!("db-{step}.db"));
            store.backup_to(&path, false).await?;
            return Ok(path);
        }
        let path = self.file(&format!("db-{step}.dump"));
        pg_tools::dump(&self.url, &path).await?;
        Ok(path)
    }

    /// The DB replaced by the backup `from`, as the operator restores one: the service stops
    /// (`store` closed), the DB is restored, the service starts again (the new store).
    pub async fn restore(&self, store: &Store, from: &Path) -> Result<Store, DrillError> {
        store.close().await;
        match &self.pg {
            None => {
                // A stopped process has no connection left; in one process a connection still
                // being handed back (a commit task's, the release hook's) can outlive `close`,
                // and would then write the old DB's WAL beside the restored file: a moment for it.
                tokio::time::sleep(Duration::from_millis(100)).await;
                exchange_store::restore_sqlite(&self.url, from).await?;
            }
            Some(pg) => {
                // FORCE ends any connection that outlived `close` (the same moment as above).
                let mut admin = sqlx::PgConnection::connect(&pg.admin_url).await?;
                for sql in [
                    format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", pg.name),
                    format!("CREATE DATABASE \"{}\"", pg.name),
                ] {
                    sqlx::query(&sql).execute(&mut admin).await?;
                }
                let _ = admin.close().await;
                pg_tools::restore(&self.url, from).await?;
            }
        }
        self.open().await
    }
}

impl Drop for ScratchDb {
    /// Drops a scratch PostgreSQL database however the drill ended (the SQLite directory goes
    /// with `self`). Drop has no async and the drill's runtime may be gone: a thread with a
    /// small runtime of its own.
    fn drop(&mut self) {
        let Some(PgDb {
            admin_url,
            name,
            scratch: true,
        }) = self.pg.take()
        else {
            return;
        };
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .map_err(|e| e.to_string())?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(&sql)
                    .execute(&mut admin)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = admin.close().await;
                Ok::<(), String>(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop a drill's scratch database: {dropped:?}");
        }
    }
}
