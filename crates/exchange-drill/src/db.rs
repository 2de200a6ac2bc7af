//! The Integration DB a drill runs on: a SQLite file of its own, or a scratch PostgreSQL
//! database created for the drill and dropped after it. DB backups and restores are SQLite's
//! (`Store::backup_to`, `restore_sqlite`): PostgreSQL backups are `pg_dump`/base backups, outside
//! a process, so drills on PostgreSQL exercise the node-restore and crash disasters only.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use exchange_store::Store;
use sqlx::Connection;

use crate::DrillError;

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
    pg: Option<(String, String)>,
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
                pg: None,
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
                    pg: Some((admin_url.clone(), name)),
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
}

impl Drop for ScratchDb {
    /// Drops a scratch PostgreSQL database however the drill ended (the SQLite directory goes
    /// with `self`). Drop has no async and the drill's runtime may be gone: a thread with a
    /// small runtime of its own.
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.pg.take() else {
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
