//! The Prometheus metrics of a running exchange (`/metrics`): one [`Metrics`] per process,
//! built by `run` and handed to ingestion (as an [`Observer`]), the automations, the ledger and
//! registry clients (as [`CallObserver`]s) and the API. No global registry.
//!
//! Two kinds of series. What the Integration DB knows (the checkpoint, its record time,
//! withdrawals per state) is read from the store at each scrape ([`Metrics::refresh`]), so
//! every replica reports the same truth whichever parts it runs. What happens in this process
//! (batches, attempts, calls, requests) is counted as it happens.
//!
//! Labels are fixed words (states, outcomes, operation names, route templates), never an
//! account, a party, an amount or an id: a scrape shows no customer data.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use canton_ledger::call_timer::CallObserver;
use exchange_core::Timestamp;
use exchange_core::withdrawal::WithdrawalState;
use exchange_store::{Store, StoreError};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::observe::{IngestEvent, Observer};

/// The `Content-Type` of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// No labels: a series that is absent until its value is known (a family of at most one).
type NoLabels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;
type Optional<G> = Family<NoLabels, G>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: String,
}

/// How a withdrawal or deposit accept attempt ended (the `outcome` label of
/// `canton_exchange_withdrawal_attempts_total` and `canton_exchange_deposit_accepts_total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Executed: the node took the signed transaction for sequencing.
    Executed,
    /// Executed, but the answer went missing: the outcome is read from the ledger.
    Uncertain,
    /// Did not reach the ledger; tried again later.
    Retry,
    /// Failed for good: a withdrawal before reaching the ledger (refunded); a deposit offer
    /// whose accept attempts ran out (`accept_failed`, for an operator).
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Executed => "executed",
            Outcome::Uncertain => "uncertain",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
        }
    }
}

struct Families {
    checkpoint_offset: Optional<Gauge>,
    record_time: Optional<FloatGauge>,
    ledger_end: Optional<Gauge>,
    lag_offsets: Optional<Gauge>,
    lag_seconds: Optional<FloatGauge>,
    batch_transactions: Histogram,
    batch_commit_seconds: Histogram,
    updates_ingested: Counter,
    ingestion_retries: Counter,
    withdrawals: Family<StateLabel, Gauge>,
    withdrawal_attempts: Family<OutcomeLabel, Counter>,
    withdrawal_retries: Counter,
    deposit_accepts: Family<OutcomeLabel, Counter>,
    ledger_calls: Histograms<CallLabels>,
    registry_calls: Histograms<CallLabels>,
    api_requests: Family<RequestLabels, Counter>,
}

struct Inner {
    registry: Registry,
    families: Families,
    /// The node's ledger end as last seen (`i64::MIN`: never), for the lag.
    ledger_end: AtomicI64,
}

/// The metrics of this process; clones share them.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

fn latencies() -> Histogram {
    // 5 ms to ~20 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

impl Families {
    fn new() -> Families {
        Families {
            checkpoint_offset: Family::default(),
            record_time: Family::default(),
            ledger_end: Family::default(),
            lag_offsets: Family::default(),
            lag_seconds: Family::default(),
            // 1 to 16384 transactions.
            batch_transactions: Histogram::new(exponential_buckets(1.0, 4.0, 8)),
            // 1 ms to ~16 s.
            batch_commit_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            updates_ingested: Counter::default(),
            ingestion_retries: Counter::default(),
            withdrawals: Family::default(),
            withdrawal_attempts: Family::default(),
            withdrawal_retries: Counter::default(),
            deposit_accepts: Family::default(),
            ledger_calls: Family::new_with_constructor(latencies),
            registry_calls: Family::new_with_constructor(latencies),
            api_requests: Family::default(),
        }
    }

    fn register(&self, r: &mut Registry) {
        self.register_ingestion(r);
        self.register_services(r);
    }

    fn register_ingestion(&self, r: &mut Registry) {
        let f = self;
        r.register(
            "ingestion_checkpoint_offset",
            "The offset ingestion committed up to (the Integration DB's checkpoint)",
            f.checkpoint_offset.clone(),
        );
        r.register(
            "ingestion_record_time_seconds",
            "Record time of the last ingested transaction (unix seconds)",
            f.record_time.clone(),
        );
        r.register(
            "ledger_end_offset",
            "The node's ledger end as last seen by this process",
            f.ledger_end.clone(),
        );
        r.register(
            "ingestion_lag_offsets",
            "Ledger end minus the checkpoint offset",
            f.lag_offsets.clone(),
        );
        r.register(
            "ingestion_lag_seconds",
            "Wall-clock time minus the last ingested record time (grows while the ledger is idle)",
            f.lag_seconds.clone(),
        );
        r.register(
            "ingestion_batch_transactions",
            "Transactions per committed ingestion batch",
            f.batch_transactions.clone(),
        );
        r.register(
            "ingestion_batch_commit_seconds",
            "Time to commit one ingestion batch to the Integration DB",
            f.batch_commit_seconds.clone(),
        );
        r.register(
            "ingestion_updates",
            "Transactions ingested (not counting those skipped as already ingested)",
            f.updates_ingested.clone(),
        );
        r.register(
            "ingestion_retries",
            "Retries of failed ledger reads and DB commits by ingestion",
            f.ingestion_retries.clone(),
        );
    }

    fn register_services(&self, r: &mut Registry) {
        let f = self;
        r.register(
            "withdrawals",
            "Withdrawals per state in the Integration DB",
            f.withdrawals.clone(),
        );
        r.register(
            "withdrawal_attempts",
            "Withdrawal submission attempts by outcome: executed, uncertain (the answer was lost; the ledger tells), retry, failed",
            f.withdrawal_attempts.clone(),
        );
        r.register(
            "withdrawal_retries",
            "Withdrawal attempts after a withdrawal's first",
            f.withdrawal_retries.clone(),
        );
        r.register(
            "deposit_accepts",
            "Deposit offer accept attempts by outcome: executed, uncertain, retry; failed: offers given up after their last attempt",
            f.deposit_accepts.clone(),
        );
        r.register(
            "ledger_call_seconds",
            "Latency of JSON Ledger API requests by operation and outcome (ok, error)",
            f.ledger_calls.clone(),
        );
        r.register(
            "registry_call_seconds",
            "Latency of token Registry API requests by operation and outcome (ok, error)",
            f.registry_calls.clone(),
        );
        r.register(
            "api_requests",
            "REST API requests by route template and HTTP status",
            f.api_requests.clone(),
        );
    }
}

/// Sets an optional series, or removes it while its value is unknown.
fn set_int(family: &Optional<Gauge>, value: Option<i64>) {
    match value {
        Some(v) => _ = family.get_or_create(&Vec::new()).set(v),
        None => family.clear(),
    }
}

fn set_float(family: &Optional<FloatGauge>, value: Option<f64>) {
    match value {
        Some(v) => _ = family.get_or_create(&Vec::new()).set(v),
        None => family.clear(),
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("canton_exchange");
        let families = Families::new();
        families.register(&mut registry);
        Metrics(Arc::new(Inner {
            registry,
            families,
            ledger_end: AtomicI64::new(i64::MIN),
        }))
    }

    fn f(&self) -> &Families {
        &self.0.families
    }

    /// The node's ledger end, as seen by whoever asks the node (a cached value for the
    /// status's lag).
    pub fn set_ledger_end(&self, offset: i64) {
        self.0.ledger_end.store(offset, Ordering::Relaxed);
        set_int(&self.f().ledger_end, Some(offset));
    }

    /// The ledger end last seen, if any.
    pub fn ledger_end(&self) -> Option<i64> {
        Some(self.0.ledger_end.load(Ordering::Relaxed)).filter(|&e| e != i64::MIN)
    }

    /// A withdrawal attempt ended; `attempt` is its number (1 for the first).
    pub fn withdrawal_attempt(&self, outcome: Outcome, attempt: u32) {
        let label = OutcomeLabel {
            outcome: outcome.as_str().to_owned(),
        };
        self.f().withdrawal_attempts.get_or_create(&label).inc();
        if attempt > 1 {
            self.f().withdrawal_retries.inc();
        }
    }

    /// A deposit accept attempt ended (`executed`, `uncertain` or `retry`), or an offer was
    /// given up (`failed`).
    pub fn deposit_accept(&self, outcome: Outcome) {
        let label = OutcomeLabel {
            outcome: outcome.as_str().to_owned(),
        };
        self.f().deposit_accepts.get_or_create(&label).inc();
    }

    /// The API answered a request to `route` (the route's template, e.g.
    /// `/v1/withdrawals/{withdrawalId}`, never the path asked for) with `status`.
    pub fn api_request(&self, route: &str, status: u16) {
        let label = RequestLabels {
            route: route.to_owned(),
            status: status.to_string(),
        };
        self.f().api_requests.get_or_create(&label).inc();
    }

    /// The observer of the JSON Ledger API client's requests.
    pub fn ledger_calls(&self) -> Arc<dyn CallObserver> {
        Arc::new(Calls {
            family: self.f().ledger_calls.clone(),
            prefix: "",
        })
    }

    /// The observer of the registry clients' requests (their names lose `registry `).
    pub fn registry_calls(&self) -> Arc<dyn CallObserver> {
        Arc::new(Calls {
            family: self.f().registry_calls.clone(),
            prefix: "registry ",
        })
    }

    /// Reads what the Integration DB knows into the gauges: the checkpoint, its record time,
    /// the lags and the withdrawals per state (states without any at 0).
    pub async fn refresh(&self, store: &Store) -> Result<(), StoreError> {
        let checkpoint = store.checkpoint().await?;
        let counts = store.withdrawal_counts().await?;
        let f = self.f();
        for state in WithdrawalState::ALL {
            let n = counts
                .iter()
                .find(|(s, _)| s == state.as_str())
                .map_or(0, |(_, n)| *n);
            let label = StateLabel {
                state: state.as_str().to_owned(),
            };
            f.withdrawals.get_or_create(&label).set(n);
        }
        let offset = checkpoint.as_ref().map(|c| c.offset.get());
        let record_time = checkpoint
            .as_ref()
            .and_then(|c| c.last_update.as_ref())
            .map(|u| u.record_time);
        set_int(&f.checkpoint_offset, offset);
        set_float(&f.record_time, record_time.map(unix_seconds));
        let lag = self
            .ledger_end()
            .map(|end| (end - offset.unwrap_or(0)).max(0));
        set_int(&f.lag_offsets, lag);
        let behind = record_time.map(|t| seconds_between(t, Timestamp::now()));
        set_float(&f.lag_seconds, behind);
        Ok(())
    }

    /// The text exposition format of every series.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.0.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

fn unix_seconds(t: Timestamp) -> f64 {
    t.micros() as f64 / 1e6
}

/// `later - earlier` in seconds, 0 if `later` is not later (clocks apart).
pub fn seconds_between(earlier: Timestamp, later: Timestamp) -> f64 {
    (later.micros().saturating_sub(earlier.micros())).max(0) as f64 / 1e6
}

struct Calls {
    family: Histograms<CallLabels>,
    prefix: &'static str,
}

impl CallObserver for Calls {
    fn observe(&self, what: &'static str, elapsed: Duration, ok: bool) {
        let operation = what.strip_prefix(self.prefix).unwrap_or(what);
        let label = CallLabels {
            operation: operation.replace(' ', "_"),
            outcome: if ok { "ok" } else { "error" }.to_owned(),
        };
        self.family
            .get_or_create(&label)
            .observe(elapsed.as_secs_f64());
    }
}

/// Ingestion's events: batches, their commit time, the ledger end it saw, its retries.
impl Observer for Metrics {
    fn event(&self, event: &IngestEvent) {
        let f = self.f();
        match event {
            IngestEvent::Committed {
                offset,
                transactions,
                skipped,
                committing,
            } => {
                f.batch_transactions.observe(*transactions as f64);
                f.batch_commit_seconds.observe(committing.as_secs_f64());
                f.updates_ingested
                    .inc_by(transactions.saturating_sub(*skipped) as u64);
                set_int(&f.checkpoint_offset, Some(*offset));
            }
            IngestEvent::Started { to: Some(end), .. } => self.set_ledger_end(*end),
            IngestEvent::Progress {
                ledger_end: Some(end),
                ..
            } => self.set_ledger_end(*end),
            IngestEvent::Retrying { .. } => {
                f.ingestion_retries.inc();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn ingestion_events_fill_the_batch_series() {
        let metrics = Metrics::new();
        let committed = |offset, transactions, skipped, ms| IngestEvent::Committed {
            offset,
            transactions,
            skipped,
            committing: Duration::from_millis(ms),
        };
        metrics.event(&IngestEvent::Started {
            from: 0,
            to: Some(40),
        });
        metrics.event(&committed(10, 10, 2, 3));
        metrics.event(&committed(30, 20, 0, 300));
        metrics.event(&IngestEvent::Retrying {
            what: "commit".into(),
            attempt: 1,
            delay: Duration::ZERO,
        });
        let text = metrics.encode();
        let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}"));
        assert_eq!(get("canton_exchange_ingestion_updates_total"), 28.0);
        assert_eq!(get("canton_exchange_ingestion_retries_total"), 1.0);
        assert_eq!(get("canton_exchange_ingestion_checkpoint_offset{}"), 30.0);
        assert_eq!(get("canton_exchange_ledger_end_offset{}"), 40.0);
        assert_eq!(metrics.ledger_end(), Some(40));
        let batches = "canton_exchange_ingestion_batch_transactions";
        assert_eq!(get(&format!("{batches}_count")), 2.0);
        assert_eq!(get(&format!("{batches}_sum")), 30.0);
        assert_eq!(get(&format!("{batches}_bucket{{le=\"16.0\"}}")), 1.0);
        let commits = "canton_exchange_ingestion_batch_commit_seconds";
        assert_eq!(get(&format!("{commits}_count")), 2.0);
        assert_eq!(get(&format!("{commits}_bucket{{le=\"0.004\"}}")), 1.0);
        assert_eq!(get(&format!("{commits}_bucket{{le=\"0.512\"}}")), 2.0);
    }

    #[test]
    fn attempts_and_calls_are_counted_by_outcome_and_operation() {
        let metrics = Metrics::new();
        metrics.withdrawal_attempt(Outcome::Retry, 1);
        metrics.withdrawal_attempt(Outcome::Executed, 2);
        metrics.withdrawal_attempt(Outcome::Executed, 1);
        metrics.deposit_accept(Outcome::Uncertain);
        metrics.registry_calls().observe(
            "registry transfer factory",
            Duration::from_millis(20),
            true,
        );
        let ledger = metrics.ledger_calls();
        ledger.observe("execute", Duration::from_millis(7), false);
        ledger.observe("ledger end", Duration::from_millis(1), true);
        let text = metrics.encode();
        let get = |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}"));
        let attempts = "canton_exchange_withdrawal_attempts_total";
        assert_eq!(get(&format!("{attempts}{{outcome=\"executed\"}}")), 2.0);
        assert_eq!(get(&format!("{attempts}{{outcome=\"retry\"}}")), 1.0);
        assert_eq!(get("canton_exchange_withdrawal_retries_total"), 1.0);
        assert_eq!(
            get("canton_exchange_deposit_accepts_total{outcome=\"uncertain\"}"),
            1.0
        );
        let registry = "canton_exchange_registry_call_seconds";
        assert_eq!(
            get(&format!(
                "{registry}_count{{operation=\"transfer_factory\",outcome=\"ok\"}}"
            )),
            1.0
        );
        let ledger = "canton_exchange_ledger_call_seconds";
        assert_eq!(
            get(&format!(
                "{ledger}_count{{operation=\"execute\",outcome=\"error\"}}"
            )),
            1.0
        );
        assert_eq!(
            get(&format!(
                "{ledger}_bucket{{le=\"0.005\",operation=\"ledger_end\",outcome=\"ok\"}}"
            )),
            1.0
        );
    }

    #[test]
    fn unknown_values_are_absent_not_zero() {
        let text = Metrics::new().encode();
        assert!(
            !text.contains("canton_exchange_ledger_end_offset{"),
            "{text}"
        );
        assert!(
            !text.contains("canton_exchange_ingestion_lag_offsets{"),
            "{text}"
        );
        assert_eq!(Metrics::new().ledger_end(), None);
    }

    #[test]
    fn seconds_between_never_goes_negative() {
        let t = |micros| Timestamp::from_micros(micros).unwrap();
        assert_eq!(seconds_between(t(1_000_000), t(3_500_000)), 2.5);
        assert_eq!(seconds_between(t(3_500_000), t(1_000_000)), 0.0);
    }
}
