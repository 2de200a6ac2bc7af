//! `canton-exchange recover validator` (alias `node-restore`): the node-restore runbook, each
//! step numbered as in the guide.

use anyhow::{Context, Result};
use canton_ledger::admin_client::AdminClient;
use exchange_services::filter::treasury_format_for;
use exchange_services::recover::{
    GivenOffset, OffRecoveryBy, RecordTimes, Recovered, Runbook, validator_restore,
};

use crate::db::{DbArgs, runtime};
use crate::ledger::{LedgerArgs, token};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// After restoring the validator node from a backup: check ingestion and automation are
    /// stopped, read tRecovery, confirm the restored node has caught up, upload again the
    /// .dars it lost, find offRecovery and re-point the checkpoint there (recorded in the DB).
    #[command(alias = "node-restore")]
    Validator(ValidatorArgs),
    /// After restoring the Integration DB from a backup: withdrawals off, wait until ingestion
    /// (run separately) has passed tSafe, list the recovered withdrawals, withdrawals on again.
    Db(crate::recover_db::Args),
}

#[derive(clap::Args, Debug)]
pub struct ValidatorArgs {
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    db: DbArgs,
    /// `HOST:PORT` (or `http://` / `https://HOST:PORT`) of the restored node's Admin API
    /// (gRPC): offRecovery is asked of PartyManagementService.GetHighestOffsetByTimestamp as
    /// the runbook says. `https://` uses TLS (system roots, or --admin-ca-file).
    #[arg(long, env = "CANTON_ADMIN_API", conflicts_with = "offset")]
    admin_api: Option<String>,
    /// A PEM file with the CA certificate(s) to trust for an `https://` Admin API, instead of
    /// the system's roots.
    #[arg(long, env = "CANTON_ADMIN_CA_FILE", requires = "admin_api")]
    admin_ca_file: Option<std::path::PathBuf>,
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
    /// Print every step and value (the .dars that would be uploaded, offRecovery) without
    /// changing anything, neither the DB nor the node.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(command: &Command) -> Result<()> {
    let args = match command {
        Command::Validator(args) => args,
        Command::Db(args) => return crate::recover_db::run(args),
    };
    let source = args.ledger.source()?;
    let admin_token = token(&args.admin_token, &args.admin_token_file, "Admin API token")?;
    let operator = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    runtime()?.block_on(async {
        let store = args.db.open().await?;
        let party = store.treasury_party().await?.ok_or_else(|| {
            anyhow::anyhow!(
                "the DB has no treasury party: nothing was ingested, nothing to recover"
            )
        })?;
        // The V2 views only where the node has the V2 packages, as ingestion reads.
        let format = treasury_format_for(&source, party.as_str()).await?;
        let admin = match args.admin_api.as_deref() {
            Some(address) => Some(admin_client(args, address, admin_token.clone())?),
            None => None,
        };
        let record_times = if args.non_unique_record_times {
            RecordTimes::NonUnique
        } else {
            RecordTimes::Unique
        };
        let off_recovery = match (&admin, args.offset) {
            (Some(admin), _) => OffRecoveryBy::Admin(admin, record_times),
            (None, Some(offset)) => OffRecoveryBy::Given(GivenOffset {
                offset,
                skip_updates_after_last_ingested: args.skip_updates_after_last_ingested,
            }),
            (None, None) => OffRecoveryBy::LastIngested,
        };
        let runbook = Runbook {
            store: &store,
            source: &source,
            format: &format,
            off_recovery,
            dry_run: args.dry_run,
            operator: &operator,
        };
        let recovered = validator_restore(&runbook, &mut |step, text| {
            println!("step {step}: {text}");
        })
        .await;
        store.close().await;
        finish(&recovered?);
        Ok(())
    })
}

const MAX_CA_FILE_BYTES: u64 = 1 << 20;

/// The Admin API client: TLS for `https://`, trusting `--admin-ca-file` if given.
fn admin_client(args: &ValidatorArgs, address: &str, token: Option<String>) -> Result<AdminClient> {
    let client = AdminClient::with_limits(address, token, args.ledger.net.limits());
    let Some(path) = &args.admin_ca_file else {
        return Ok(client);
    };
    if !client.uses_tls() {
        anyhow::bail!(
            "--admin-ca-file is for TLS: give the Admin API as https://{}",
            client.address()
        );
    }
    let what = || format!("--admin-ca-file {}", path.display());
    // A CA bundle is small; a larger file is not one.
    let size = std::fs::metadata(path).with_context(what)?.len();
    if size > MAX_CA_FILE_BYTES {
        anyhow::bail!("{}: {size} bytes is not a CA certificate file", what());
    }
    let pem = std::fs::read(path).with_context(what)?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        anyhow::bail!("{}: no PEM certificate in it", what());
    }
    Ok(client.with_ca_pem(pem))
}

fn finish(r: &Recovered) {
    let last = r.after.last_update.as_ref().expect("set by the runbook");
    if r.after.offset > last.offset {
        eprintln!(
            "WARNING: offsets {}..={} (after the last ingested update) will never be ingested; recorded in the operator log",
            last.offset.get() + 1,
            r.after.offset
        );
    }
    if r.dry_run {
        println!("dry run: nothing changed; run again without --dry-run to recover");
    } else {
        println!(
            "step 7: restart ingestion and automation (`canton-exchange run …`, or `canton-exchange ingest …`); it resumes after offset {}",
            r.after.offset
        );
    }
}
