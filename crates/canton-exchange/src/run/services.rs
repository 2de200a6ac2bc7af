//! The services of `run` and what they are made of: prepared from the settings (a wrong key
//! or registry fails before anything starts), then run until idle (scripts, tests) or until
//! stopped (a signal, or the demo between the parts of its story).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use exchange_core::signing::Signer;
use exchange_core::{PartyId, Timestamp};
use exchange_services::deposits::{DepositAutomation, DepositConfig};
use exchange_services::observe::Both;
use exchange_services::pool::{PoolConfig, PoolJob};
use exchange_services::signer::FileSigner;
use exchange_services::withdraw::{Automation, AutomationConfig, Round};
use exchange_services::{Ingestor, Metrics, Observer, Source};
use exchange_store::{Store, StoreError};
use tokio::sync::watch;

use super::{Args, Only, Part, automation_config, check_key, deposit_config, pools, registries};

/// What the services are made of, checked before anything starts (a wrong key or a bad
/// registry URL fails the start).
pub(super) struct Prepared {
    pub(super) ingest: exchange_services::IngestConfig,
    party: PartyId,
    signer: Arc<dyn Signer + Send + Sync>,
    admins: BTreeMap<PartyId, RegistryClient>,
    config: AutomationConfig,
    deposit_config: Option<DepositConfig>,
    pool_configs: Vec<PoolConfig>,
    source: Source,
    pub(super) ledger: LedgerClient,
    pub(super) metrics: Metrics,
    pool_every: Duration,
}

pub(super) fn prepare(args: &Args, only: &Only) -> Result<Prepared> {
    let mut ingest = args.ingest.config(args.party()?)?;
    ingest.standby = args.standby;
    let party = ingest.fold.treasury.clone();
    let signer = FileSigner::load(args.treasury_key()?).context("--treasury-key")?;
    check_key(&party, &signer)?;
    let admins = registries(args)?;
    let config = automation_config(args, &admins)?;
    let deposit_config = deposit_config(args, &config.worker).filter(|_| only.runs(Part::Deposits));
    let pool_configs = pools(args, &admins)?;
    let metrics = Metrics::new();
    let (source, ledger) = timed_ledger(args.ledger()?.source()?, &metrics)?;
    Ok(Prepared {
        ingest,
        party,
        signer: Arc::new(signer),
        admins,
        config,
        deposit_config,
        pool_configs,
        source,
        ledger,
        metrics,
        pool_every: Duration::from_secs(args.pool_secs),
    })
}

/// The node's client, timing its requests in `metrics`; a recording cannot take withdrawals.
fn timed_ledger(source: Source, metrics: &Metrics) -> Result<(Source, LedgerClient)> {
    let Source::Ledger { client, transport } = source else {
        bail!("--ledger must be a node's Ledger API: a recording cannot take withdrawals");
    };
    let client = client.with_call_observer(metrics.ledger_calls());
    let source = Source::Ledger {
        client: client.clone(),
        transport,
    };
    Ok((source, client))
}

impl Prepared {
    pub(super) fn services(
        self,
        store: &Store,
        only: &Only,
        log: Arc<dyn Observer + Send + Sync>,
    ) -> Services {
        let Prepared {
            ingest,
            party,
            signer,
            admins,
            config,
            deposit_config,
            pool_configs,
            source,
            ledger,
            metrics,
            pool_every,
        } = self;
        let pool = PoolJob::new(store.clone(), party.clone(), pool_configs);
        let deposits = deposit_config.map(|c| {
            DepositAutomation::new(
                store.clone(),
                ledger.clone(),
                signer.clone(),
                party.clone(),
                c,
            )
            .with_metrics(metrics.clone())
        });
        let automation = Automation::new(store.clone(), ledger, admins, signer, party, config)
            .with_metrics(metrics.clone());
        Services {
            only: only.clone(),
            store: store.clone(),
            source,
            ingest,
            automation,
            deposits,
            pool,
            pool_every,
            log: Arc::new(Both(log, metrics)),
        }
    }
}

pub(super) struct Services {
    only: Only,
    store: Store,
    source: Source,
    ingest: exchange_services::IngestConfig,
    automation: Automation,
    deposits: Option<DepositAutomation>,
    pool: PoolJob,
    pool_every: Duration,
    /// Where ingestion's progress and warnings go.
    log: Arc<dyn Observer + Send + Sync>,
}

impl Services {
    fn ingestor(&self, once: bool) -> Ingestor {
        let mut config = self.ingest.clone();
        config.once = once;
        Ingestor::new(
            self.store.clone(),
            self.source.clone(),
            config,
            self.log.clone(),
        )
    }

    /// Rounds of ingestion to the ledger end and automation, until a round finds nothing to
    /// do: for scripts and tests.
    pub(super) async fn until_idle(&self) -> Result<()> {
        let (_stop_tx, stop) = watch::channel(false);
        let only = &self.only;
        loop {
            if only.runs(Part::Ingestion) {
                self.ingestor(true).run(stop.clone()).await?;
            }
            let placed = match only.runs(Part::Pool) {
                true => self.pool.run_once().await?,
                false => 0,
            };
            let round = match only.runs(Part::Withdrawals) {
                true => self.automation.run_round().await?,
                false => Round::default(),
            };
            let accepts = match &self.deposits {
                Some(deposits) => deposits.run_round().await?.claimed,
                None => 0,
            };
            let open = match only.runs(Part::Withdrawals) {
                true => self.store.withdrawals_in_progress(Timestamp::now()).await?,
                false => 0,
            };
            let offers = match &self.deposits {
                Some(_) => self.store.deposit_offers_in_progress().await?,
                None => 0,
            };
            if placed == 0 && round.claimed == 0 && accepts == 0 && open == 0 && offers == 0 {
                if only.runs(Part::Ingestion) {
                    self.ingestor(true).run(stop.clone()).await?;
                }
                tracing::info!("idle: nothing left to do");
                return Ok(());
            }
            if round.claimed == 0 && accepts == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The deposit automation's rounds until `stop`, if it is on.
    async fn accept_offers(&self, stop: watch::Receiver<bool>) -> Result<(), StoreError> {
        if let Some(deposits) = &self.deposits {
            deposits.run(stop).await;
        }
        Ok(())
    }

    /// The withdrawal automation until `stop`, if it runs here.
    async fn withdrawals(&self, stop: watch::Receiver<bool>) -> Result<(), StoreError> {
        if self.only.runs(Part::Withdrawals) {
            self.automation.run(stop).await;
        }
        Ok(())
    }

    /// Tailing ingestion until `stop`, if it runs here; else waits for `stop`.
    async fn ingestion(&self, mut stop: watch::Receiver<bool>) -> Result<()> {
        if self.only.runs(Part::Ingestion) {
            self.ingestor(false).run(stop).await?;
            return Ok(());
        }
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
        Ok(())
    }

    /// Pool passes every `pool_every` until `stop`. A pass that fails (the DB is down or busy)
    /// decided nothing, so, like the automations, the job logs it and tries again at the next
    /// pass instead of stopping the service.
    async fn pool_passes(&self, mut stop: watch::Receiver<bool>) -> Result<(), StoreError> {
        if !self.only.runs(Part::Pool) {
            return Ok(());
        }
        while !*stop.borrow() {
            if let Err(e) = self.pool.run_once().await {
                tracing::error!("pool job: {e}; retrying at the next pass");
            }
            tokio::select! {
                _ = stop.changed() => {}
                _ = tokio::time::sleep(self.pool_every) => {}
            }
        }
        Ok(())
    }

    /// Ingestion (tailing) and automation side by side until a signal; when either stops (an
    /// error), the other is stopped too.
    pub(super) async fn until_stopped(&self, stop: watch::Receiver<bool>) -> Result<()> {
        // Either part ending (an error) stops the other: a stop of our own, following the
        // caller's.
        let (stop_tx, own_stop) = watch::channel(false);
        let mut outer = stop;
        let forward = async {
            while !*outer.borrow() {
                if outer.changed().await.is_err() {
                    break;
                }
            }
            let _ = stop_tx.send(true);
            std::future::pending::<()>().await
        };
        let stop = own_stop;
        let ingesting = self.ingestion(stop.clone());
        let automating = async {
            // The first error of either ends both.
            tokio::try_join!(
                self.withdrawals(stop.clone()),
                self.accept_offers(stop.clone()),
                self.pool_passes(stop.clone())
            )
            .map(|_| ())
        };
        let work = async {
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
        };
        tokio::select! {
            done = work => done,
            () = forward => Ok(()),
        }
    }
}
