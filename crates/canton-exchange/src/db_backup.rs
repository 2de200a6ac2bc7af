//! `canton-exchange db backup` / `db restore`: the embedded SQLite DB's backups, a thin layer
//! over `Store::backup_to` and `exchange_store::restore_sqlite`. PostgreSQL is refused with the
//! tools to use instead (`pg_dump` / `pg_restore`); either way `recover db` follows a restore.

use std::path::PathBuf;

use anyhow::{Result, bail};
use exchange_store::{POSTGRES_BACKUPS, StoreError};

use crate::db::{DbArgs, runtime};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Write a consistent copy of the SQLite Integration DB to FILE (0600), safe while the
    /// service runs. Reads the DB only.
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The backup file to write (created under a temporary name, then renamed).
        #[arg(long)]
        out: PathBuf,
        /// Replace FILE if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Replace the SQLite Integration DB with a backup. Refuses while anything has the DB open
    /// (stop `run`, `ingest` and every other command first) and keeps the replaced file as
    /// `<db>.replaced-<seconds>`. Then run `canton-exchange recover db`.
    Restore {
        #[command(flatten)]
        db: DbArgs,
        /// The backup file (written by `db backup`).
        #[arg(long)]
        from: PathBuf,
    },
}

pub fn run(command: &Command, out: &mut impl std::io::Write) -> Result<()> {
    match command {
        Command::Backup {
            db,
            out: file,
            force,
        } => {
            refuse_postgres(db)?;
            let size = runtime()?.block_on(async {
                let store = db.open_read_only().await?;
                let written = store.backup_to(file, *force).await;
                store.close().await;
                written.map_err(|e| match e {
                    StoreError::Conflict(why) => {
                        anyhow::anyhow!("{why}: pass --force to replace it")
                    }
                    other => other.into(),
                })
            })?;
            writeln!(
                out,
                "backed up {} to {} ({size} bytes)",
                db.shown(),
                file.display()
            )?;
        }
        Command::Restore { db, from } => {
            refuse_postgres(db)?;
            let url = db.url()?;
            let restored = runtime()?
                .block_on(exchange_store::restore_sqlite(&url, from))
                .map_err(|e| anyhow::anyhow!("restoring {}: {e}", db.shown()))?;
            writeln!(
                out,
                "restored {} from {}",
                restored.db.display(),
                from.display()
            )?;
            if let Some(replaced) = restored.replaced {
                writeln!(out, "the replaced DB was kept as {}", replaced.display())?;
            }
            writeln!(
                out,
                "next: `canton-exchange recover db` (withdrawals stay off until it has resynced)"
            )?;
        }
    }
    Ok(())
}

fn refuse_postgres(db: &DbArgs) -> Result<()> {
    if db.db.starts_with("postgres") {
        bail!("{POSTGRES_BACKUPS}");
    }
    Ok(())
}
