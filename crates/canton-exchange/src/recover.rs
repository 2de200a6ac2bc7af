//! `canton-exchange recover node-restore`: the node-restore runbook's re-pointing step.

use anyhow::Result;
use exchange_services::filter::treasury_format;
use exchange_services::recover::node_restore;

use crate::db::{DbArgs, runtime};
use crate::ledger::LedgerArgs;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// After restoring the validator node from a backup (ingestion stopped): find offRecovery
    /// on the restored node for the last ingested transaction and re-point the checkpoint.
    NodeRestore(NodeRestoreArgs),
}

#[derive(clap::Args, Debug)]
pub struct NodeRestoreArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    db: DbArgs,
    /// offRecovery from the Admin API's GetHighestOffsetByTimestamp, if you queried it; by
    /// default the restored node's offset of the last ingested transaction is used.
    #[arg(long)]
    offset: Option<i64>,
}

pub fn run(command: &Command) -> Result<()> {
    let Command::NodeRestore(args) = command;
    let source = args.ledger.source()?;
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let party = store.treasury_party().await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the DB has no treasury party: nothing was ingested, nothing to recover"
            )
        })?;
        let format = treasury_format(party.as_str());
        let recovered = node_restore(&store, &source, &format, args.offset).await;
        store.close().await;
        let r = recovered?;
        let last = r.after.last_update.as_ref().expect("set by the runbook");
        println!("tRecovery          {}", last.record_time);
        println!("synchronizerId     {}", last.synchronizer_id);
        println!("last ingested      {}", last.update_id);
        println!(
            "checkpoint offset  {} -> {} (the update is at offset {} on this node)",
            r.before.offset, r.after.offset, last.offset
        );
        println!("now restart ingestion: canton-exchange ingest …");
        Ok(())
    })
}
