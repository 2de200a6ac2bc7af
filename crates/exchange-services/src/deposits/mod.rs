//! Multi-Step Deposit Automation (`workflows.rst`, multi-step deposits): accepts the transfer
//! offers customers make to the treasury. Stateless over the Integration DB, so it may run as
//! several replicas. Each round claims due open offers (pending incoming instructions whose memo
//! is a known account and whose token is onboarded; see `exchange_store::deposit_accepts`),
//! makes one accept attempt at each ([`attempt`]) and records how it ended.
//!
//! It never credits anything nor decides an offer's fate: ingestion credits the deposit when the
//! accept commits, and cancels it when the sender withdraws it or it expires. An offer still
//! pending after the outcome timeout is tried again from the registry call; after the last of
//! `max_attempts` the store marks it `accept_failed` for an operator. Offers to unknown accounts
//! and of tokens not onboarded are left alone (support sees them; the sender may withdraw them).

mod attempt;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use canton_ledger::client::{LedgerClient, Limits};
use canton_ledger::registry_client::RegistryClient;
use exchange_core::signing::Signer;
use exchange_core::{PartyId, Timestamp};
use exchange_store::{AcceptOutcome, ClaimedOffer, OfferClaimRequest, Store, StoreError};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;

use attempt::Attempt;

use crate::metrics::{Metrics, Outcome};
use crate::rounds::{Rounds, each_concurrently};

#[derive(Clone, Debug)]
pub struct DepositConfig {
    /// This replica's name in claims (unique per running process).
    pub worker: String,
    /// The Ledger API user the commands are submitted as.
    pub user_id: String,
    /// How long a claim holds before another replica may take the offer.
    pub claim: Duration,
    /// How long to wait for ingestion to show an executed accept before trying again.
    pub outcome_timeout: Duration,
    /// How long to wait after an attempt that did not reach the ledger.
    pub retry_delay: Duration,
    /// Attempts per offer; after the last one an offer still pending is `accept_failed`.
    pub max_attempts: u32,
    /// Offers claimed per round.
    pub batch: usize,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// At most this many executions per second (each costs traffic).
    pub executions_per_second: NonZeroU32,
    /// How long a round with nothing to do waits before the next.
    pub idle_poll: Duration,
    /// Bounds of the registry calls.
    pub registry_limits: Limits,
}

impl DepositConfig {
    pub fn new(worker: impl Into<String>) -> DepositConfig {
        DepositConfig {
            worker: worker.into(),
            user_id: "canton-exchange".into(),
            claim: Duration::from_secs(60),
            outcome_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(5),
            max_attempts: 10,
            batch: 64,
            concurrency: 16,
            executions_per_second: NonZeroU32::new(200).expect("non-zero"),
            idle_poll: Duration::from_millis(500),
            registry_limits: Limits::default(),
        }
    }
}

/// What a round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DepositRound {
    pub claimed: usize,
    /// Offers marked `accept_failed` this round.
    pub gave_up: usize,
    pub executed: usize,
    pub retried: usize,
}

impl DepositRound {
    fn plus(self, other: DepositRound) -> DepositRound {
        DepositRound {
            claimed: self.claimed + other.claimed,
            gave_up: self.gave_up + other.gave_up,
            executed: self.executed + other.executed,
            retried: self.retried + other.retried,
        }
    }
}

pub struct DepositAutomation {
    store: Store,
    ledger: LedgerClient,
    signer: Arc<dyn Signer + Send + Sync>,
    treasury: PartyId,
    /// The treasury key's fingerprint, which its signatures name.
    fingerprint: String,
    config: DepositConfig,
    rate: DefaultDirectRateLimiter,
    /// One client per registry URL (the onboarded tokens name them; they may change).
    registries: Mutex<BTreeMap<String, RegistryClient>>,
    metrics: Metrics,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl DepositAutomation {
    pub fn new(
        store: Store,
        ledger: LedgerClient,
        signer: Arc<dyn Signer + Send + Sync>,
        treasury: PartyId,
        config: DepositConfig,
    ) -> DepositAutomation {
        let fingerprint = signer.public_key().fingerprint();
        let rate = RateLimiter::direct(Quota::per_second(config.executions_per_second));
        DepositAutomation {
            store,
            ledger,
            signer,
            treasury,
            fingerprint,
            config,
            rate,
            registries: Mutex::new(BTreeMap::new()),
            metrics: Metrics::default(),
        }
    }

    /// Counts accept attempts by outcome in `metrics` (and the registries' latencies).
    pub fn with_metrics(mut self, metrics: Metrics) -> DepositAutomation {
        self.metrics = metrics;
        self
    }

    fn registry(&self, url: &str) -> RegistryClient {
        let mut clients = self.registries.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(url.to_owned())
            .or_insert_with(|| {
                RegistryClient::new(url, self.config.registry_limits)
                    .with_call_observer(self.metrics.registry_calls())
            })
            .clone()
    }

    /// One round: claim what is due, attempt each (at most `concurrency` at once), record.
    pub async fn run_round(&self) -> Result<DepositRound, StoreError> {
        let request = OfferClaimRequest {
            worker: &self.config.worker,
            now: Timestamp::now(),
            claim_micros: micros(self.config.claim),
            limit: self.config.batch,
            max_attempts: self.config.max_attempts,
        };
        let claims = self.store.claim_deposit_offers(&request).await?;
        for (offer, error) in &claims.gave_up {
            let error = error.as_deref().unwrap_or("-");
            tracing::error!(%offer, "deposit offer accept_failed after its last attempt: {error}");
            self.metrics.deposit_accept(Outcome::Failed);
        }
        let claimed = claims.offers;
        let tallies = each_concurrently(&claimed, self.config.concurrency, |c| async move {
            let attempt = self.attempt(c).await;
            self.record(c, attempt).await
        })
        .await?;
        Ok(tallies.into_iter().fold(
            DepositRound {
                claimed: claimed.len(),
                gave_up: claims.gave_up.len(),
                ..DepositRound::default()
            },
            DepositRound::plus,
        ))
    }

    /// Records how an accept attempt ended; what it adds to the round.
    async fn record(
        &self,
        claimed: &ClaimedOffer,
        attempt: Attempt,
    ) -> Result<DepositRound, StoreError> {
        let mut round = DepositRound::default();
        let offer = &claimed.instruction.contract_id;
        let deposit = &claimed.deposit;
        let now = Timestamp::now();
        let later = |d: Duration| now.checked_add_micros(micros(d)).unwrap_or(now);
        let attempt_no = claimed.attempts;
        let outcome = match attempt {
            Attempt::Executed { note } => {
                round.executed += 1;
                let counted = match &note {
                    None => {
                        tracing::info!(%offer, %deposit, attempt = attempt_no, "accept executed");
                        Outcome::Executed
                    }
                    Some(why) => {
                        tracing::warn!(%offer, %deposit, attempt = attempt_no, "{why}");
                        Outcome::Uncertain
                    }
                };
                self.metrics.deposit_accept(counted);
                AcceptOutcome {
                    executed: true,
                    retry_at: later(self.config.outcome_timeout),
                    error: note,
                }
            }
            Attempt::Retry(why) => {
                round.retried += 1;
                tracing::warn!(%offer, %deposit, attempt = attempt_no, "accept: {why}");
                self.metrics.deposit_accept(Outcome::Retry);
                AcceptOutcome {
                    executed: false,
                    retry_at: later(self.config.retry_delay),
                    error: Some(why),
                }
            }
        };
        if attempt_no >= self.config.max_attempts {
            tracing::warn!(
                %offer, %deposit,
                "last accept attempt: unless the ledger settles the offer, it is accept_failed"
            );
        }
        match self
            .store
            .finish_deposit_accept(offer, &self.config.worker, &outcome)
            .await
        {
            Ok(()) => Ok(round),
            // Our claim lapsed and another replica took it over: its bookkeeping holds.
            Err(StoreError::Conflict(why)) => {
                tracing::warn!(%offer, "{why}");
                Ok(round)
            }
            Err(e) => Err(e),
        }
    }

    /// Rounds until `stop`; a round with nothing claimed waits `idle_poll` first, one that hit a
    /// DB error `retry_delay`.
    pub async fn run(&self, stop: watch::Receiver<bool>) {
        let rounds = Rounds {
            name: "deposit automation",
            retry_delay: self.config.retry_delay,
            idle_poll: self.config.idle_poll,
        };
        rounds
            .run(stop, || async { Ok(self.run_round().await?.claimed) })
            .await
    }
}
