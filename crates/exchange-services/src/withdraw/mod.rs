//! Withdrawal Automation (`workflows.rst`, 1-step and multi-step withdrawals): stateless over
//! the Integration DB, so it may run as several replicas. Each round claims due withdrawals
//! (`requested`, or `submitted` without an outcome in time; see `exchange_store::claims`),
//! makes one attempt at each ([`attempt`]), and records how it ended. It never decides an
//! outcome the ledger has not shown: ingestion moves a withdrawal to completed, pending
//! acceptance, failed or expired. The only failure decided here is one the ledger cannot
//! contradict: the registry would run a transfer in a way the instrument does not allow, and no
//! attempt ever reached the node.

mod attempt;
mod standard;

pub use standard::transfer_standard;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use canton_ledger::client::LedgerClient;
use canton_ledger::registry_client::RegistryClient;
use exchange_core::signing::Signer;
use exchange_core::withdrawal::{KindRule, WithdrawalState, WithdrawalTransition};
use exchange_core::{InstrumentId, PartyId, Timestamp};
use exchange_store::{AttemptOutcome, ClaimRequest, Claimed, Store, StoreError, Switch};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::sync::watch;

use attempt::Attempt;

use crate::metrics::{self, Metrics};
use crate::rounds::{Rounds, each_concurrently};

#[derive(Clone, Debug)]
pub struct AutomationConfig {
    /// This replica's name in claims (unique per running process).
    pub worker: String,
    /// The Ledger API user the commands are submitted as.
    pub user_id: String,
    /// Instruments whose transfers must be 1-step (`direct`); others may also be offers.
    pub one_step: BTreeSet<InstrumentId>,
    /// How long a claim holds before another replica may take the withdrawal.
    pub claim: Duration,
    /// How long to wait for ingestion to show an executed transfer before trying again.
    pub outcome_timeout: Duration,
    /// How long to wait after an attempt that did not reach the ledger.
    pub retry_delay: Duration,
    /// An offer's `executeBefore`, after the withdrawal was requested (µs).
    pub offer_micros: i64,
    /// `requestedAt` is set this long (µs) before the request: the instrument refuses a
    /// `requestedAt` after the ledger time, and the node's clock may be behind ours (Canton
    /// tolerates 60 s between ledger and record time by default).
    pub clock_skew_micros: i64,
    /// Withdrawals claimed per round.
    pub batch: usize,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// At most this many executions per second (each costs traffic).
    pub executions_per_second: NonZeroU32,
    /// How long a round with nothing to do waits before the next.
    pub idle_poll: Duration,
}

impl AutomationConfig {
    pub fn new(worker: impl Into<String>) -> AutomationConfig {
        AutomationConfig {
            worker: worker.into(),
            user_id: "canton-exchange".into(),
            one_step: BTreeSet::new(),
            claim: Duration::from_secs(60),
            outcome_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_secs(5),
            offer_micros: 24 * 3_600_000_000,
            clock_skew_micros: 60_000_000,
            batch: 64,
            concurrency: 16,
            executions_per_second: NonZeroU32::new(200).expect("non-zero"),
            idle_poll: Duration::from_millis(500),
        }
    }
}

/// What a round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    pub claimed: usize,
    pub executed: usize,
    pub retried: usize,
    pub failed: usize,
}

impl Round {
    fn plus(self, other: Round) -> Round {
        Round {
            claimed: self.claimed + other.claimed,
            executed: self.executed + other.executed,
            retried: self.retried + other.retried,
            failed: self.failed + other.failed,
        }
    }
}

pub struct Automation {
    store: Store,
    ledger: LedgerClient,
    registries: BTreeMap<PartyId, RegistryClient>,
    signer: Arc<dyn Signer + Send + Sync>,
    treasury: PartyId,
    /// The treasury key's fingerprint, which its signatures name.
    fingerprint: String,
    config: AutomationConfig,
    rate: DefaultDirectRateLimiter,
    /// Whether the last look found withdrawals switched off, so the change is logged once.
    paused: std::sync::atomic::AtomicBool,
    metrics: Metrics,
    /// The standard each instrument is paid with, as its registry said.
    standards: standard::Standards,
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Automation {
    pub fn new(
        store: Store,
        ledger: LedgerClient,
        registries: BTreeMap<PartyId, RegistryClient>,
        signer: Arc<dyn Signer + Send + Sync>,
        treasury: PartyId,
        config: AutomationConfig,
    ) -> Automation {
        let fingerprint = signer.public_key().fingerprint();
        let rate = RateLimiter::direct(Quota::per_second(config.executions_per_second));
        Automation {
            store,
            ledger,
            registries,
            signer,
            treasury,
            fingerprint,
            config,
            rate,
            paused: std::sync::atomic::AtomicBool::new(false),
            metrics: Metrics::default(),
            standards: standard::Standards::default(),
        }
    }

    /// Counts attempts by outcome in `metrics` (and the registries' latencies).
    pub fn with_metrics(mut self, metrics: Metrics) -> Automation {
        for client in self.registries.values_mut() {
            *client = client.clone().with_call_observer(metrics.registry_calls());
        }
        self.metrics = metrics;
        self
    }

    /// Why nothing may be submitted now: the operator switched withdrawals off (e.g. during a
    /// DB restore, when the DB may have forgotten what was already paid). Asked before each
    /// prepare and each execute, not only per round, so a switch turned off mid-round stops
    /// what has not been sent yet. Withdrawals already executed settle through ingestion as
    /// usual. A failing read counts as off: nothing is sent without knowing.
    pub(crate) async fn withdrawals_off(&self) -> Option<String> {
        use std::sync::atomic::Ordering;
        let off = match self.store.switch(Switch::Withdrawals).await {
            Ok(state) if state.enabled => None,
            Ok(state) => Some(format!("withdrawals are disabled: {}", state.reason)),
            Err(e) => Some(format!("the withdrawals switch could not be read: {e}")),
        };
        let was = self.paused.swap(off.is_some(), Ordering::Relaxed);
        match (&off, was) {
            (Some(why), false) => {
                tracing::warn!("withdrawal automation paused, submitting nothing: {why}")
            }
            (None, true) => {
                tracing::info!("withdrawals enabled again: withdrawal automation resumes")
            }
            _ => {}
        }
        off
    }

    fn kind_rule(&self, claimed: &Claimed) -> KindRule {
        let w = &claimed.withdrawal;
        if w.receiver == self.treasury {
            KindRule::SelfTransfer
        } else if self.config.one_step.contains(&w.instrument) {
            KindRule::Direct
        } else {
            KindRule::DirectOrOffer
        }
    }

    /// One round: claim what is due, attempt each (at most `concurrency` at once), record.
    pub async fn run_round(&self) -> Result<Round, StoreError> {
        if self.withdrawals_off().await.is_some() {
            return Ok(Round::default());
        }
        let request = ClaimRequest {
            worker: &self.config.worker,
            now: Timestamp::now(),
            claim_micros: micros(self.config.claim),
            limit: self.config.batch,
        };
        let claimed = self.store.claim_withdrawals(&request).await?;
        let tallies = each_concurrently(&claimed, self.config.concurrency, |c| async move {
            let attempt = self.attempt(c).await;
            self.record(c, attempt).await
        })
        .await?;
        Ok(tallies.into_iter().fold(
            Round {
                claimed: claimed.len(),
                ..Round::default()
            },
            Round::plus,
        ))
    }

    /// Records how an attempt ended; what it adds to the round.
    async fn record(&self, claimed: &Claimed, attempt: Attempt) -> Result<Round, StoreError> {
        let mut round = Round::default();
        let id = &claimed.withdrawal.id;
        let now = Timestamp::now();
        let later = |d: Duration| now.checked_add_micros(micros(d)).unwrap_or(now);
        let outcome = match &attempt {
            Attempt::Executed {
                note,
                execute_before,
            } => {
                round.executed += 1;
                let counted = match note {
                    None => {
                        tracing::info!(withdrawal = %id, attempt = claimed.attempts, "executed");
                        metrics::Outcome::Executed
                    }
                    Some(why) => {
                        tracing::warn!(withdrawal = %id, attempt = claimed.attempts, "{why}");
                        metrics::Outcome::Uncertain
                    }
                };
                self.metrics.withdrawal_attempt(counted, claimed.attempts);
                AttemptOutcome {
                    executed: true,
                    retry_at: later(self.config.outcome_timeout),
                    error: note.clone(),
                    execute_before: Some(*execute_before),
                }
            }
            Attempt::Retry(why) | Attempt::Fail(why) => {
                tracing::warn!(withdrawal = %id, attempt = claimed.attempts, "{why}");
                let counted = match attempt {
                    Attempt::Fail(_) => metrics::Outcome::Failed,
                    _ => metrics::Outcome::Retry,
                };
                self.metrics.withdrawal_attempt(counted, claimed.attempts);
                AttemptOutcome {
                    executed: false,
                    retry_at: later(self.config.retry_delay),
                    error: Some(why.clone()),
                    execute_before: None,
                }
            }
        };
        match self
            .store
            .finish_attempt(id, &self.config.worker, &outcome)
            .await
        {
            Ok(()) => {}
            // Our claim lapsed and another replica took it over: its bookkeeping holds.
            Err(StoreError::Conflict(why)) => tracing::warn!(withdrawal = %id, "{why}"),
            Err(e) => return Err(e),
        }
        match attempt {
            Attempt::Fail(reason) => {
                round.failed += 1;
                let failed = WithdrawalTransition {
                    id: id.clone(),
                    to: WithdrawalState::Failed,
                    reason: Some(reason),
                    origin: None,
                    transfer_instruction: None,
                };
                match self.store.transition_withdrawal(&failed).await {
                    Ok(()) => {}
                    // Ingestion settled it meanwhile: its outcome stands.
                    Err(e @ (StoreError::InvalidTransition { .. } | StoreError::Conflict(_))) => {
                        tracing::warn!(withdrawal = %id, "not failed: {e}");
                    }
                    Err(e) => return Err(e),
                }
            }
            Attempt::Retry(_) => round.retried += 1,
            Attempt::Executed { .. } => {}
        }
        Ok(round)
    }

    /// Rounds until `stop`; a round with nothing claimed waits `idle_poll` first, one that hit a
    /// DB error `retry_delay`.
    pub async fn run(&self, stop: watch::Receiver<bool>) {
        let rounds = Rounds {
            name: "withdrawal automation",
            retry_delay: self.config.retry_delay,
            idle_poll: self.config.idle_poll,
        };
        rounds
            .run(stop, || async { Ok(self.run_round().await?.claimed) })
            .await
    }
}
