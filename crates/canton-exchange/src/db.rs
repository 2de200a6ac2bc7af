//! Arguments shared by the commands that use the Integration DB.

use std::path::PathBuf;

use anyhow::{Context, Result};
use exchange_store::{Store, StoreError};

use crate::secrets::{read_secret_file, redact_url, scrub, url_password, with_password};

/// The README demo's default: a SQLite file in the working directory.
pub const DEFAULT_DB: &str = "sqlite://canton-exchange.db";

#[derive(clap::Args, Clone, Debug)]
pub struct DbArgs {
    /// The Canton Integration DB: `sqlite://FILE` or `postgres://…`. Keep the password out
    /// of it: use --db-password-file or CANTON_EXCHANGE_DB_PASSWORD.
    #[arg(long, env = "CANTON_EXCHANGE_DB", default_value = DEFAULT_DB, hide_env_values = true)]
    pub db: String,
    /// A file holding the PostgreSQL password (its first line). The environment variable
    /// CANTON_EXCHANGE_DB_PASSWORD may hold it instead.
    #[arg(long, env = "CANTON_EXCHANGE_DB_PASSWORD_FILE")]
    pub db_password_file: Option<PathBuf>,
    /// The password resolved by `run --config` (never a flag).
    #[arg(skip)]
    pub db_password: Option<String>,
}

/// The environment variable that may hold the DB password (never a flag: argv is visible).
pub const DB_PASSWORD_ENV: &str = "CANTON_EXCHANGE_DB_PASSWORD";

impl DbArgs {
    pub fn for_url(db: &str) -> DbArgs {
        DbArgs {
            db: db.to_owned(),
            db_password_file: None,
            db_password: None,
        }
    }

    /// The DB URL as shown to people: the password replaced by `***`.
    pub fn shown(&self) -> String {
        redact_url(&self.db)
    }

    /// The password from --db-password-file or the environment, if any.
    fn password(&self) -> Result<Option<String>> {
        if let Some(password) = &self.db_password {
            return Ok(Some(password.clone()));
        }
        if let Some(path) = &self.db_password_file {
            return read_secret_file(path, "DB password").map(Some);
        }
        // The environment's password applies to PostgreSQL URLs only (it may be set for a
        // whole session in which a SQLite file is used too).
        if !self.db.starts_with("postgres") {
            return Ok(None);
        }
        Ok(std::env::var(DB_PASSWORD_ENV)
            .ok()
            .filter(|p| !p.is_empty()))
    }

    /// The URL to connect with: --db plus the password from a file or the environment.
    pub fn url(&self) -> Result<String> {
        match self.password()? {
            Some(password) => with_password(&self.db, &password),
            None => Ok(self.db.clone()),
        }
    }

    pub async fn open(&self) -> Result<Store> {
        let url = self.url()?;
        Store::open(&url)
            .await
            .map_err(|e| self.opening_failed(&url, e))
    }

    /// The error of opening `url`, with every trace of the URL's password removed (the store
    /// and sqlx may quote the URL they were given).
    pub fn opening_failed(&self, url: &str, e: impl Into<anyhow::Error>) -> anyhow::Error {
        let password = self.password().ok().flatten().unwrap_or_default();
        let in_url = url_password(&self.db).unwrap_or_default();
        let message = scrub(
            &format!("{:#}", e.into()),
            &[url, &self.db, &password, in_url],
        );
        anyhow::anyhow!("opening the Integration DB {}: {message}", self.shown())
    }
}

impl DbArgs {
    /// For the commands that only read: writes nothing (no migrations, no file created), so a
    /// read-only role or file suffices. A DB whose schema is behind this binary's is refused
    /// with the command that migrates it.
    pub async fn open_read_only(&self) -> Result<Store> {
        let url = self.url()?;
        Store::open_read_only(&url).await.map_err(|e| {
            let hint = match e {
                StoreError::SchemaOlder { .. } | StoreError::SchemaMissing => {
                    " (reading commands never migrate: run `canton-exchange migrate` with the same --db to migrate it)"
                }
                _ => "",
            };
            self.opening_failed(&url, anyhow::anyhow!("{e}{hint}"))
        })
    }
}

/// A single-threaded runtime: the commands are IO-bound and the machine may be small.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
