//! `canton-exchange quarantine`: transactions ingestion could not parse and set aside
//! (`ingest --quarantine-unparseable`): list them, and re-process them once the cause is fixed.

use std::io::Write;

use anyhow::{Context, Result};
use exchange_core::changeset::AccountId;
use exchange_core::ingest::FoldConfig;
use exchange_services::quarantine::retry;
use serde::Serialize;

use crate::db::{DbArgs, runtime};
use crate::ledger::LedgerAuth;
use crate::output::Format;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// The quarantined transactions (held and released), oldest first. Reads only.
    List(ListArgs),
    /// Parse and apply the held transactions again, each once, on the DB as it is now (its
    /// deposits credited, holdings mirrored). Stop ingestion first. Writes.
    Retry(RetryArgs),
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(clap::Args, Debug)]
pub struct RetryArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Read each transaction again from this node (`http://…`) or recording (`file:PATH`),
    /// instead of the copy kept in the DB: for causes on the node's side.
    #[arg(long)]
    ledger: Option<String>,
    #[command(flatten)]
    auth: LedgerAuth,
    /// Only this update.
    #[arg(long)]
    update_id: Option<String>,
    /// As given to `ingest`: the metadata key naming a recovered withdrawal's account.
    #[arg(long)]
    account_meta_key: Option<String>,
    // As given to `ingest`: the withdrawal memo key.
    #[command(flatten)]
    memo_key: crate::keys::MemoKeyArgs,
    /// As given to `ingest`: the operator account recovered withdrawals are debited to.
    #[arg(long, default_value = exchange_core::ingest::SUSPENSE_ACCOUNT)]
    suspense_account: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    update_id: String,
    offset: i64,
    record_time: String,
    synchronizer_id: String,
    state: &'static str,
    error: String,
    quarantined_at: String,
}

pub fn run(command: &Command, out: &mut impl Write) -> Result<()> {
    match command {
        Command::List(args) => list(args, out),
        Command::Retry(args) => retry_held(args, out),
    }
}

fn list(args: &ListArgs, out: &mut impl Write) -> Result<()> {
    let entries = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let entries = store.quarantine(false).await;
        // Untrusted V2 events are held back, not quarantined: said here so that an operator
        // looking for what ingestion set aside sees them too.
        let untrusted = store.untrusted_events(0).await;
        store.close().await;
        anyhow::Ok((entries?, untrusted?.0))
    })?;
    let (entries, untrusted) = entries;
    let entries: Vec<Entry> = entries
        .into_iter()
        .map(|e| {
            let u = e.quarantined.update;
            Entry {
                update_id: u.update_id.to_string(),
                offset: u.offset.get(),
                record_time: u.record_time.to_string(),
                synchronizer_id: u.synchronizer_id.to_string(),
                state: if e.released { "released" } else { "held" },
                error: e.quarantined.error,
                quarantined_at: e.quarantined_at.to_string(),
            }
        })
        .collect();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &entries)?;
            writeln!(out)?;
        }
        Format::Table => {
            for e in &entries {
                writeln!(
                    out,
                    "{:<8} offset {:<8} {}  {}\n         {}",
                    e.state, e.offset, e.record_time, e.update_id, e.error
                )?;
            }
            let held = entries.iter().filter(|e| e.state == "held").count();
            writeln!(out, "{held} held, {} released", entries.len() - held)?;
            if untrusted > 0 {
                writeln!(
                    out,
                    "{untrusted} untrusted V2 events held back (never credited, not quarantined; \
                     `status` lists them)"
                )?;
            }
        }
    }
    Ok(())
}

fn retry_held(args: &RetryArgs, out: &mut impl Write) -> Result<()> {
    let source = args
        .ledger
        .as_ref()
        .map(|url| args.auth.at(url).source())
        .transpose()?;
    let memo_key = args.memo_key.load()?;
    let retried = runtime()?.block_on(async {
        let store = args.db.open().await?;
        let party = store
            .treasury_party()
            .await?
            .context("the DB has no treasury party: nothing was ingested")?;
        let mut config = FoldConfig::new(party);
        config.account_meta_key = args.account_meta_key.clone();
        config.memo_key = memo_key;
        config.suspense_account =
            AccountId::new(args.suspense_account.clone()).context("--suspense-account is empty")?;
        let retried = retry(&store, &config, source.as_ref(), args.update_id.as_deref()).await;
        store.close().await;
        anyhow::Ok(retried?)
    })?;
    for id in &retried.released {
        writeln!(out, "released  {id}")?;
    }
    for a in &retried.anomalies {
        eprintln!("warning: {a}");
    }
    for (id, why) in &retried.still_held {
        writeln!(out, "held      {id}: {why}")?;
    }
    writeln!(
        out,
        "{} released, {} still held",
        retried.released.len(),
        retried.still_held.len()
    )?;
    if retried.still_held.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} transactions are still held", retried.still_held.len())
    }
}
