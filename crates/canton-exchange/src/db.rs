//! Arguments shared by the commands that use the Integration DB.

use anyhow::{Context, Result};
use exchange_store::Store;

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
