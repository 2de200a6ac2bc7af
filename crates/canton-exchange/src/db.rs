//! Arguments shared by the commands that use the Integration DB.

use anyhow::{Context, Result};
use exchange_store::{Store, StoreError};

/// The README demo's default: a SQLite file in the working directory.
pub const DEFAULT_DB: &str = "sqlite://canton-exchange.db";

#[derive(clap::Args, Clone, Debug)]
pub struct DbArgs {
    /// The Canton Integration DB: `sqlite://FILE` or `postgres://…`.
    #[arg(long, env = "CANTON_EXCHANGE_DB", default_value = DEFAULT_DB)]
    pub db: String,
}

impl DbArgs {
    pub async fn open(&self) -> Result<Store> {
        Store::open(&self.db)
            .await
            .with_context(|| format!("opening the Integration DB {}", self.db))
    }
}

impl DbArgs {
    /// For the commands that only read: writes nothing (no migrations, no file created), so a
    /// read-only role or file suffices. A DB whose schema is behind this binary's is refused
    /// with the command that migrates it.
    pub async fn open_read_only(&self) -> Result<Store> {
        Store::open_read_only(&self.db).await.map_err(|e| {
            let hint = match e {
                StoreError::SchemaOlder { .. } | StoreError::SchemaMissing => {
                    "; reading commands never migrate: run `canton-exchange migrate` with the same --db to migrate it"
                }
                _ => "",
            };
            anyhow::Error::new(e).context(format!("opening the Integration DB to read it{hint}"))
        })
    }
}

#[derive(Clone, Copy, Debug, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

/// A single-threaded runtime: the commands are IO-bound and the machine may be small.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
