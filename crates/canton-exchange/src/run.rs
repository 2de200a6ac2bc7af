//! `canton-exchange run`: the exchange's services in one process: Tx History Ingestion,
//! Withdrawal Automation and Multi-Step Deposit Automation (off with `--no-deposit-automation`),
//! against one node and one Integration DB, until stopped (SIGINT /
//! SIGTERM) or, with `--until-idle`, until nothing is left to do.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use exchange_core::pool::PoolPolicy;
use exchange_core::signing::Signer;
use exchange_core::{Amount, InstrumentId, PartyId, Timestamp};
use exchange_services::deposits::{DepositAutomation, DepositConfig};
use exchange_services::pool::{PoolConfig, PoolJob};
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::{Automation, AutomationConfig};
use exchange_services::{Ingestor, Source};
use exchange_store::{Store, StoreError};
use tokio::sync::watch;

use crate::db::DbArgs;
use crate::ingest::{IngestOptions, Log};
use crate::ledger::LedgerArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The treasury party: an external party whose key is --treasury-key.
    #[arg(long, env = "CANTON_EXCHANGE_PARTY")]
    party: String,
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    db: DbArgs,
    /// The treasury's Ed25519 key file (mode 0600; `canton-exchange keys generate`).
    #[arg(long, env = "CANTON_EXCHANGE_TREASURY_KEY")]
    treasury_key: PathBuf,
    /// A token admin's Registry API: `ADMIN=URL`, once per admin whose tokens are withdrawn.
    #[arg(long = "registry", value_name = "ADMIN=URL")]
    registries: Vec<String>,
    /// Instruments (`ADMIN/ID`, or `ID` for every admin's) whose transfers must be 1-step;
    /// a withdrawal the registry would make an offer of fails (refunded).
    #[arg(long = "one-step", value_name = "INSTRUMENT", default_value = "Amulet")]
    one_step: Vec<String>,
    /// A holding pool to keep: `INSTRUMENT:K:TARGET:DUST` (INSTRUMENT as for --one-step): keep
    /// K holdings worth TARGET or more and merge those below DUST, by self-transfers.
    #[arg(long = "pool", value_name = "INSTRUMENT:K:TARGET:DUST")]
    pools: Vec<String>,
    /// Seconds between passes of the pool job.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pool_secs: u64,
    /// Stop once ingestion reached the ledger end and no withdrawal is left to act on.
    #[arg(long)]
    until_idle: bool,
    /// This replica's name in work claims (default: host name and process id).
    #[arg(long)]
    worker: Option<String>,
    /// The Ledger API user commands are submitted as.
    #[arg(long, default_value = "canton-exchange")]
    user_id: String,
    /// Executions per second at most (each costs traffic).
    #[arg(long, default_value_t = NonZeroU32::new(200).expect("non-zero"))]
    executions_per_second: NonZeroU32,
    /// Withdrawal attempts in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// Seconds to wait for an executed transfer to show up before trying again.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    outcome_timeout_secs: u64,
    /// Seconds before retrying an attempt that did not reach the ledger.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    retry_secs: u64,
    /// Hours an offer (multi-step withdrawal) stays open for its receiver.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=8760))]
    offer_hours: u64,
    /// Do not accept deposit offers (multi-step deposits): they stay pending for another
    /// replica, an operator or their sender.
    #[arg(long)]
    no_deposit_automation: bool,
    /// Accept attempts per deposit offer; after the last one an offer still pending is
    /// reported as `accept_failed` (see `status`).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    deposit_max_attempts: u32,
    #[command(flatten)]
    ingest: IngestOptions,
    #[command(flatten)]
    api: crate::api::ApiArgs,
}

fn registries(args: &Args) -> Result<BTreeMap<PartyId, RegistryClient>> {
    let mut out = BTreeMap::new();
    for entry in &args.registries {
        let (admin, url) = entry
            .split_once('=')
            .with_context(|| format!("--registry {entry:?}: expected ADMIN=URL"))?;
        let admin = PartyId::new(admin).with_context(|| format!("--registry {entry:?}"))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--registry {entry:?}: the URL must start with http:// or https://");
        }
        out.insert(admin, RegistryClient::new(url, args.ledger.net.limits()));
    }
    Ok(out)
}

fn one_step(
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

fn pools(args: &Args, admins: &BTreeMap<PartyId, RegistryClient>) -> Result<Vec<PoolConfig>> {
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
            max_inputs: exchange_core::selection::SelectionPolicy::default().max_inputs,
        };
        policy
            .check()
            .map_err(|e| anyhow::anyhow!("--pool {entry:?}: {e}"))?;
        for instrument in instruments(instrument, admins)? {
            out.push(PoolConfig {
                instrument,
                policy,
                ttl: Duration::from_secs(3600),
            });
        }
    }
    Ok(out)
}

/// The key must be the treasury's: an external party's namespace is its key's fingerprint.
fn check_key(party: &PartyId, signer: &FileSigner) -> Result<()> {
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
    config.registry_limits = args.ledger.net.limits();
    Some(config)
}

pub fn run(args: &Args) -> Result<()> {
    crate::logs::init();
    let ingest = args.ingest.config(&args.party)?;
    let party = ingest.fold.treasury.clone();
    let signer = FileSigner::load(&args.treasury_key).context("--treasury-key")?;
    check_key(&party, &signer)?;
    let admins = registries(args)?;
    let config = automation_config(args, &admins)?;
    let deposit_config = deposit_config(args, &config.worker);
    let pool_configs = pools(args, &admins)?;
    let source = args.ledger.source()?;
    let Source::Ledger { client, .. } = &source else {
        bail!("--ledger must be a node's Ledger API: a recording cannot take withdrawals");
    };
    let ledger: LedgerClient = client.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.db.open().await?;
        let api = args.api.start(&store, &ingest).await?;
        let signer: Arc<dyn Signer + Send + Sync> = Arc::new(signer);
        let pool = PoolJob::new(store.clone(), party.clone(), pool_configs);
        let deposits = deposit_config.map(|c| {
            DepositAutomation::new(
                store.clone(),
                ledger.clone(),
                signer.clone(),
                party.clone(),
                c,
            )
        });
        let automation = Automation::new(store.clone(), ledger, admins, signer, party, config);
        let services = Services {
            store: store.clone(),
            source,
            ingest,
            automation,
            deposits,
            pool,
            pool_every: Duration::from_secs(args.pool_secs),
        };
        let result = if args.until_idle {
            services.until_idle().await
        } else {
            services.until_stopped().await
        };
        if let Some(api) = api {
            api.stop().await?;
        }
        store.close().await;
        result
    })
}

struct Services {
    store: Store,
    source: Source,
    ingest: exchange_services::IngestConfig,
    automation: Automation,
    deposits: Option<DepositAutomation>,
    pool: PoolJob,
    pool_every: Duration,
}

impl Services {
    fn ingestor(&self, once: bool) -> Ingestor {
        let mut config = self.ingest.clone();
        config.once = once;
        Ingestor::new(
            self.store.clone(),
            self.source.clone(),
            config,
            Arc::new(Log),
        )
    }

    /// Rounds of ingestion to the ledger end and automation, until a round finds nothing to
    /// do: for scripts and tests.
    async fn until_idle(&self) -> Result<()> {
        let (_stop_tx, stop) = watch::channel(false);
        loop {
            self.ingestor(true).run(stop.clone()).await?;
            let placed = self.pool.run_once().await?;
            let round = self.automation.run_round().await?;
            let accepts = match &self.deposits {
                Some(deposits) => deposits.run_round().await?.claimed,
                None => 0,
            };
            let open = self.store.withdrawals_in_progress(Timestamp::now()).await?;
            let offers = match &self.deposits {
                Some(_) => self.store.deposit_offers_in_progress().await?,
                None => 0,
            };
            if placed == 0 && round.claimed == 0 && accepts == 0 && open == 0 && offers == 0 {
                self.ingestor(true).run(stop.clone()).await?;
                eprintln!("idle: nothing left to do");
                return Ok(());
            }
            if round.claimed == 0 && accepts == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The deposit automation's rounds until `stop`, if it is on.
    async fn accept_offers(&self, stop: watch::Receiver<bool>) -> Result<(), StoreError> {
        match &self.deposits {
            Some(deposits) => deposits.run(stop).await,
            None => Ok(()),
        }
    }

    /// Pool passes every `pool_every` until `stop`.
    async fn pool_passes(&self, mut stop: watch::Receiver<bool>) -> Result<(), StoreError> {
        while !*stop.borrow() {
            self.pool.run_once().await?;
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.pool_every) => {}
            }
        }
        Ok(())
    }

    /// Ingestion (tailing) and automation side by side until a signal; when either stops (an
    /// error), the other is stopped too.
    async fn until_stopped(&self) -> Result<()> {
        let (stop_tx, stop) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let on_signal = stop_tx.clone();
        tokio::spawn(async move {
            crate::ingest::wait_for_signal().await;
            eprintln!("stopping");
            let _ = on_signal.send(true);
        });
        let ingestor = self.ingestor(false);
        let ingesting = ingestor.run(stop.clone());
        let automating = async {
            // The first error of either ends both.
            tokio::try_join!(
                self.automation.run(stop.clone()),
                self.accept_offers(stop.clone()),
                self.pool_passes(stop.clone())
            )
            .map(|_| ())
        };
        tokio::pin!(ingesting, automating);
        tokio::select! {
            ingested = &mut ingesting => {
                let _ = stop_tx.send(true);
                let automated = automating.await;
                ingested?;
                automated?;
            }
            automated = &mut automating => {
                let _ = stop_tx.send(true);
                let ingested = ingesting.await;
                automated?;
                ingested?;
            }
        }
        Ok(())
    }
}
