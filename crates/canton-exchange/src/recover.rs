//! `canton-exchange recover node-restore`: the node-restore runbook's re-pointing step.

use anyhow::Result;
use canton_ledger::admin_client::AdminClient;
use exchange_services::filter::treasury_format;
use exchange_services::recover::{GivenOffset, RecordTimes, node_restore, node_restore_via_admin};

use crate::db::{DbArgs, runtime};
use crate::ledger::{LedgerArgs, token};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// After restoring the validator node from a backup (ingestion stopped): confirm the
    /// restored node has the last ingested transaction, find offRecovery for its record time
    /// and synchronizer, and re-point the checkpoint there.
    NodeRestore(NodeRestoreArgs),
    /// After restoring the Integration DB from a backup: withdrawals off, wait until ingestion
    /// (run separately) has passed tSafe, list the recovered withdrawals, withdrawals on again.
    Db(crate::recover_db::Args),
}

#[derive(clap::Args, Debug)]
pub struct NodeRestoreArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    db: DbArgs,
    /// `HOST:PORT` of the restored node's Admin API (gRPC, plaintext): offRecovery is asked of
    /// PartyManagementService.GetHighestOffsetByTimestamp as the runbook says.
    #[arg(long, env = "CANTON_ADMIN_API", conflicts_with = "offset")]
    admin_api: Option<String>,
    /// A bearer token for the Admin API.
    #[arg(long, env = "CANTON_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// A file holding the Admin API bearer token (its first line); used instead of
    /// --admin-token.
    #[arg(long, env = "CANTON_ADMIN_TOKEN_FILE")]
    admin_token_file: Option<std::path::PathBuf>,
    /// The runbook's variant for nodes whose history was edited locally (ACS imports, party
    /// replication, repairs): look up tRecovery - 1 µs; ingest with the same flag afterwards.
    #[arg(long, requires = "admin_api")]
    non_unique_record_times: bool,
    /// offRecovery, if you queried it yourself; without this or --admin-api the restored
    /// node's offset of the last ingested transaction is used. At most that offset: a later
    /// one would skip updates nobody ingested (refused unless overridden below).
    #[arg(long)]
    offset: Option<i64>,
    /// DANGER: accept an --offset beyond the node's offset of the last ingested update. Every
    /// update in between is skipped for good (deposits in it are never credited). Recorded in
    /// the DB's operator log.
    #[arg(long, requires = "offset")]
    skip_updates_after_last_ingested: bool,
}

pub fn run(command: &Command) -> Result<()> {
    let args = match command {
        Command::NodeRestore(args) => args,
        Command::Db(args) => return crate::recover_db::run(args),
    };
    let source = args.ledger.source()?;
    let admin_token = token(&args.admin_token, &args.admin_token_file, "Admin API token")?;
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let party = store.treasury_party().await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the DB has no treasury party: nothing was ingested, nothing to recover"
            )
        })?;
        let format = treasury_format(party.as_str());
        let recovered = match &args.admin_api {
            Some(address) => {
                let admin = AdminClient::with_limits(
                    address,
                    admin_token.clone(),
                    args.ledger.net.limits(),
                );
                let record_times = if args.non_unique_record_times {
                    RecordTimes::NonUnique
                } else {
                    RecordTimes::Unique
                };
                node_restore_via_admin(&store, &source, &format, &admin, record_times).await
            }
            None => {
                let given = args.offset.map(|offset| GivenOffset {
                    offset,
                    skip_updates_after_last_ingested: args.skip_updates_after_last_ingested,
                });
                node_restore(&store, &source, &format, given).await
            }
        };
        store.close().await;
        let r = recovered?;
        let last = r.after.last_update.as_ref().expect("set by the runbook");
        println!("tRecovery          {}", last.record_time);
        println!("synchronizerId     {}", last.synchronizer_id);
        println!(
            "last ingested      {} (at offset {} on this node)",
            last.update_id, last.offset
        );
        match &r.admin {
            Some(lookup) => println!(
                "offRecovery        {} (GetHighestOffsetByTimestamp at {}{})",
                lookup.off_recovery,
                lookup.timestamp,
                if lookup.forced { ", force=true" } else { "" }
            ),
            None if args.offset.is_some() => {
                println!("offRecovery        {} (given)", r.after.offset)
            }
            None => println!(
                "offRecovery        {} (the last ingested update's offset; no --admin-api)",
                r.after.offset
            ),
        }
        println!(
            "checkpoint offset  {} -> {}",
            r.before.offset, r.after.offset
        );
        if r.after.offset > last.offset {
            eprintln!(
                "WARNING: offsets {}..={} (after the last ingested update) will never be ingested; recorded in the operator log",
                last.offset.get() + 1,
                r.after.offset
            );
        }
        println!("now restart ingestion: canton-exchange ingest …");
        Ok(())
    })
}
