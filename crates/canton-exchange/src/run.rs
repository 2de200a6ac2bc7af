//! `canton-exchange run`: the exchange's services in one process: Tx History Ingestion,
//! Withdrawal Automation and Multi-Step Deposit Automation (off with `--no-deposit-automation`),
//! against one node and one Integration DB, until stopped (SIGINT /
//! SIGTERM) or, with `--until-idle`, until nothing is left to do. Settings come from flags or
//! from a config file (`--config`, see `config.rs`); `--only` runs some of the parts, for
//! replicas on PostgreSQL (one ingestion writer and a standby, several automation workers).

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canton_ledger::registry_client::RegistryClient;
use exchange_core::pool::PoolPolicy;
use exchange_core::signing::Signer;
use exchange_core::{Amount, InstrumentId, PartyId};
use exchange_services::Observer;
use exchange_services::deposits::DepositConfig;
use exchange_services::pool::PoolConfig;
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::AutomationConfig;
use tokio::sync::watch;

use crate::db::DbArgs;
use crate::ingest::{IngestOptions, Log};
use crate::ledger::{LedgerArgs, LedgerAuth};

mod services;

use services::prepare;

/// The parts of `run`, each of which can run alone.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    /// Tx History Ingestion (one writer per DB; others wait as standbys).
    Ingestion,
    /// Withdrawal Automation.
    Withdrawals,
    /// Multi-Step Deposit Automation (accepting deposit offers).
    Deposits,
    /// The holding pool job.
    Pool,
}

#[derive(clap::Args, Debug)]
pub struct Cli {
    /// A TOML config file (`docs/config.sample.toml`) instead of the service flags (which are
    /// then not read); any of its keys can be overridden by an environment variable
    /// `CANTON_EXCHANGE__SECTION__KEY`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Run only this part (repeatable): ingestion, withdrawals, deposits, pool. Default: all
    /// (the config's `[service] only` otherwise).
    #[arg(long, value_enum, value_name = "PART")]
    pub only: Vec<Part>,
    /// Stop once ingestion reached the ledger end and no withdrawal is left to act on.
    #[arg(long)]
    pub until_idle: bool,
    /// Log lines on stderr: `human` (default) or `json` (one object per line); the config's
    /// `[service] log_format` otherwise.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<crate::logs::LogFormat>,
    #[command(flatten)]
    pub flags: Box<Args>,
}

#[derive(clap::Args, Clone, Debug)]
pub struct Args {
    /// The treasury party: an external party whose key is --treasury-key.
    #[arg(
        long,
        env = "CANTON_EXCHANGE_PARTY",
        required_unless_present = "config"
    )]
    pub(crate) party: Option<String>,
    /// `http://host:port` or `https://host:port` of the node's JSON Ledger API.
    #[arg(
        long = "ledger",
        env = "CANTON_LEDGER_URL",
        required_unless_present = "config"
    )]
    pub(crate) ledger_url: Option<String>,
    #[command(flatten)]
    pub(crate) ledger_auth: LedgerAuth,
    /// Read updates as HTTP pages instead of the websocket (where websockets are blocked).
    #[arg(long)]
    pub(crate) http_pages: bool,
    #[command(flatten)]
    pub(crate) db: DbArgs,
    /// The treasury's Ed25519 key file (mode 0600; `canton-exchange keys generate`).
    #[arg(
        long,
        env = "CANTON_EXCHANGE_TREASURY_KEY",
        required_unless_present = "config"
    )]
    pub(crate) treasury_key: Option<PathBuf>,
    /// A token admin's Registry API: `ADMIN=URL`, once per admin whose tokens are withdrawn.
    #[arg(long = "registry", value_name = "ADMIN=URL")]
    pub(crate) registries: Vec<String>,
    /// A PEM file of the CA(s) the registries' certificates must chain to (`https://`);
    /// without it, the system's trusted roots.
    #[arg(long, value_name = "FILE")]
    pub(crate) registry_ca_file: Option<PathBuf>,
    /// Instruments (`ADMIN/ID`, or `ID` for every admin's) whose transfers must be 1-step;
    /// a withdrawal the registry would make an offer of fails (refunded).
    #[arg(long = "one-step", value_name = "INSTRUMENT", default_value = "Amulet")]
    pub(crate) one_step: Vec<String>,
    /// A holding pool to keep: `INSTRUMENT:K:TARGET:DUST` (INSTRUMENT as for --one-step): keep
    /// K holdings worth TARGET or more and merge those below DUST, by self-transfers.
    #[arg(long = "pool", value_name = "INSTRUMENT:K:TARGET:DUST")]
    pub(crate) pools: Vec<String>,
    /// The most holdings one pool merge takes as inputs.
    #[arg(long, default_value_t = exchange_core::selection::SelectionPolicy::default().max_inputs,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2..=100))]
    pub(crate) max_inputs: usize,
    /// Seconds a pool merge's prepared transaction stays valid.
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..))]
    pub(crate) pool_ttl_secs: u64,
    /// Seconds between passes of the pool job.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) pool_secs: u64,
    /// This replica's name in work claims (default: host name and process id).
    #[arg(long)]
    pub(crate) worker: Option<String>,
    /// The Ledger API user commands are submitted as.
    #[arg(long, default_value = "canton-exchange")]
    pub(crate) user_id: String,
    /// Executions per second at most (each costs traffic).
    #[arg(long, default_value_t = NonZeroU32::new(200).expect("non-zero"))]
    pub(crate) executions_per_second: NonZeroU32,
    /// Withdrawal attempts in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) concurrency: u64,
    /// Seconds to wait for an executed transfer to show up before trying again.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) outcome_timeout_secs: u64,
    /// Seconds before retrying an attempt that did not reach the ledger.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) retry_secs: u64,
    /// Hours an offer (multi-step withdrawal) stays open for its receiver.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8760))]
    pub(crate) offer_hours: u64,
    /// Do not accept deposit offers (multi-step deposits): they stay pending for another
    /// replica, an operator or their sender.
    #[arg(long)]
    pub(crate) no_deposit_automation: bool,
    /// Accept attempts per deposit offer; after the last one an offer still pending is
    /// reported as `accept_failed` (see `status`).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) deposit_max_attempts: u32,
    /// If another ingestion holds this DB, wait and take over when it stops (a standby)
    /// instead of failing.
    #[arg(long)]
    pub(crate) standby: bool,
    #[command(flatten)]
    pub(crate) ingest: IngestOptions,
    #[command(flatten)]
    pub(crate) api: crate::api::ApiArgs,
}

impl Args {
    /// The settings `run` needs, present (clap requires them unless `--config` is given).
    fn required<'a, T: ?Sized>(value: Option<&'a T>, flag: &str) -> Result<&'a T> {
        value.with_context(|| format!("{flag} is required (or --config FILE)"))
    }

    pub(crate) fn party(&self) -> Result<&str> {
        Args::required(self.party.as_deref(), "--party")
    }

    pub(crate) fn treasury_key(&self) -> Result<&std::path::Path> {
        Args::required(self.treasury_key.as_deref(), "--treasury-key")
    }

    /// The node: its URL with the credentials, CA and limits flags.
    pub(crate) fn ledger(&self) -> Result<LedgerArgs> {
        let url = Args::required(self.ledger_url.as_deref(), "--ledger")?;
        let mut ledger = self.ledger_auth.at(url);
        ledger.http_pages = self.http_pages;
        Ok(ledger)
    }
}

pub(crate) fn registries(args: &Args) -> Result<BTreeMap<PartyId, RegistryClient>> {
    let mut out = BTreeMap::new();
    for entry in &args.registries {
        let (admin, url) = entry
            .split_once('=')
            .with_context(|| format!("--registry {entry:?}: expected ADMIN=URL"))?;
        let admin = PartyId::new(admin).with_context(|| format!("--registry {entry:?}"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--registry {entry:?}: the URL must start with http:// or https://");
        }
        let trust = crate::ledger::trust(&args.registry_ca_file, "registry")?;
        let client = RegistryClient::with_trust(url, trust, args.ledger_auth.net.limits())
            .with_context(|| format!("--registry {entry:?}"))?;
        out.insert(admin, client);
    }
    Ok(out)
}

pub(crate) fn one_step(
    args: &Args,
    admins: &BTreeMap<PartyId, RegistryClient>,
) -> Result<BTreeSet<InstrumentId>> {
    let mut out = BTreeSet::new();
    for entry in &args.one_step {
        out.extend(instruments(entry, admins).with_context(|| format!("--one-step {entry:?}"))?);
    }
    Ok(out)
}

/// `ADMIN/ID` names one instrument, `ID` that id of every registry's admin.
fn instruments(
    entry: &str,
    admins: &BTreeMap<PartyId, RegistryClient>,
) -> Result<Vec<InstrumentId>> {
    Ok(match entry.rsplit_once('/') {
        Some((admin, id)) => {
            let admin = PartyId::new(admin).with_context(|| format!("{entry:?}"))?;
            vec![InstrumentId {
                admin,
                id: id.into(),
            }]
        }
        None => admins
            .keys()
            .map(|admin| InstrumentId {
                admin: admin.clone(),
                id: entry.to_owned(),
            })
            .collect(),
    })
}

pub(crate) fn pools(
    args: &Args,
    admins: &BTreeMap<PartyId, RegistryClient>,
) -> Result<Vec<PoolConfig>> {
    let mut out = Vec::new();
    for entry in &args.pools {
        let parts: Vec<&str> = entry.rsplitn(4, ':').collect();
        let [dust, target, k, instrument] = parts[..] else {
            bail!("--pool {entry:?}: expected INSTRUMENT:K:TARGET:DUST");
        };
        let amount = |what: &str, text: &str| -> Result<Amount> {
            text.parse()
                .map_err(|e| anyhow::anyhow!("--pool {entry:?}: {what} {text:?}: {e}"))
        };
        let policy = PoolPolicy {
            k: k.parse()
                .with_context(|| format!("--pool {entry:?}: K {k:?}"))?,
            target: amount("TARGET", target)?,
            dust: amount("DUST", dust)?,
            max_inputs: args.max_inputs,
        };
        policy
            .check()
            .map_err(|e| anyhow::anyhow!("--pool {entry:?}: {e}"))?;
        for instrument in instruments(instrument, admins)? {
            out.push(PoolConfig {
                instrument,
                policy,
                ttl: Duration::from_secs(args.pool_ttl_secs),
            });
        }
    }
    Ok(out)
}

/// The key must be the treasury's: an external party's namespace is its key's fingerprint.
pub(crate) fn check_key(party: &PartyId, signer: &FileSigner) -> Result<()> {
    let fingerprint = signer.public_key().fingerprint();
    let namespace = party.as_str().rsplit_once("::").map(|(_, n)| n);
    if namespace != Some(fingerprint.as_str()) {
        bail!(
            "--treasury-key is not the key of {party}: its fingerprint is {fingerprint}, the party's namespace {}",
            namespace.unwrap_or("(none)")
        );
    }
    Ok(())
}

fn worker_name(args: &Args) -> String {
    args.worker.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    })
}

fn automation_config(
    args: &Args,
    admins: &BTreeMap<PartyId, RegistryClient>,
) -> Result<AutomationConfig> {
    let mut config = AutomationConfig::new(worker_name(args));
    config.user_id = args.user_id.clone();
    config.one_step = one_step(args, admins)?;
    config.executions_per_second = args.executions_per_second;
    config.concurrency = usize::try_from(args.concurrency).unwrap_or(16);
    config.outcome_timeout = Duration::from_secs(args.outcome_timeout_secs);
    config.retry_delay = Duration::from_secs(args.retry_secs);
    config.offer_micros = i64::try_from(args.offer_hours).unwrap_or(24) * 3_600_000_000;
    Ok(config)
}

/// The deposit automation shares the withdrawal automation's timing and rate settings.
fn deposit_config(args: &Args, worker: &str) -> Option<DepositConfig> {
    if args.no_deposit_automation {
        return None;
    }
    let mut config = DepositConfig::new(worker);
    config.user_id = args.user_id.clone();
    config.executions_per_second = args.executions_per_second;
    config.concurrency = usize::try_from(args.concurrency).unwrap_or(16);
    config.outcome_timeout = Duration::from_secs(args.outcome_timeout_secs);
    config.retry_delay = Duration::from_secs(args.retry_secs);
    config.max_attempts = args.deposit_max_attempts;
    config.registry_limits = args.ledger_auth.net.limits();
    Some(config)
}

/// `run` with the flags, or with the config file's settings.
pub fn run_cli(cli: &Cli) -> Result<()> {
    let flags = &cli.flags;
    if cli.config.is_some()
        && (flags.party.is_some() || flags.ledger_url.is_some() || flags.treasury_key.is_some())
    {
        bail!(
            "--config replaces the service flags (--party, --ledger, --treasury-key…): put those settings in the file, or override them with CANTON_EXCHANGE__SECTION__KEY"
        )
    }
    let config = cli
        .config
        .as_deref()
        .map(crate::config::Config::load)
        .transpose()?;
    let format = cli
        .log_format
        .or_else(|| config.as_ref().and_then(|c| c.service.log_format))
        .unwrap_or_default();
    crate::logs::init(format);
    let (args, mut only) = match &config {
        Some(config) => config.run_args()?,
        None => (Args::clone(flags), Vec::new()),
    };
    if !cli.only.is_empty() {
        only = cli.only.clone();
    }
    run(&args, &Only::new(only), cli.until_idle)
}

/// Which parts run: all when none is named.
#[derive(Clone, Debug)]
pub struct Only(BTreeSet<Part>);

impl Only {
    pub fn new(parts: Vec<Part>) -> Only {
        Only(parts.into_iter().collect())
    }

    pub fn runs(&self, part: Part) -> bool {
        self.0.is_empty() || self.0.contains(&part)
    }
}

pub fn run(args: &Args, only: &Only, until_idle: bool) -> Result<()> {
    let prepared = prepare(args, only)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.db.open().await?;
        let api = args
            .api
            .start(
                &store,
                &prepared.ingest,
                &prepared.ledger,
                &prepared.metrics,
            )
            .await?;
        let services = prepared.services(&store, only, Arc::new(Log));
        let result = if until_idle {
            services.until_idle().await
        } else {
            let (stop_tx, stop) = watch::channel(false);
            tokio::spawn(async move {
                crate::ingest::wait_for_signal().await;
                tracing::info!("stopping");
                let _ = stop_tx.send(true);
            });
            services.until_stopped(stop).await
        };
        if let Some(api) = api {
            api.stop().await?;
        }
        store.close().await;
        result
    })
}

/// The services of `run` in the caller's runtime, with the API on `listen` under `auth`
/// (tokens the caller made), until `stop`: for `demo`, which drives them through the API and
/// stops them for restores as an operator stops the service. Ingestion reports to `log`.
pub(crate) async fn serve_until(
    args: &Args,
    auth: exchange_api::ApiAuth,
    listen: std::net::SocketAddr,
    stop: watch::Receiver<bool>,
    log: Arc<dyn Observer + Send + Sync>,
) -> Result<()> {
    let prepared = prepare(args, &Only::new(Vec::new()))?;
    let store = args.db.open().await?;
    let api = crate::api::serve(
        listen,
        auth,
        &store,
        &prepared.ingest,
        &prepared.ledger,
        &prepared.metrics,
    )
    .await?;
    let result = prepared
        .services(&store, &Only::new(Vec::new()), log)
        .until_stopped(stop)
        .await;
    let stopped = api.stop().await;
    store.close().await;
    result.and(stopped)
}
