//! `canton-exchange ingest`: Tx History Ingestion for the treasury party, until stopped
//! (SIGINT / SIGTERM, between batches), or with `--once` until the ledger end seen at start.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use exchange_core::PartyId;
use exchange_core::changeset::AccountId;
use exchange_core::ingest::{FoldConfig, SkipRule};
use exchange_services::{IngestConfig, IngestEvent, Ingestor, Observer};
use tokio::sync::watch;

use crate::db::DbArgs;
use crate::keys::MemoKeyArgs;
use crate::ledger::LedgerArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The treasury party.
    #[arg(long, env = "CANTON_EXCHANGE_PARTY")]
    party: String,
    #[command(flatten)]
    ledger: LedgerArgs,
    #[command(flatten)]
    db: DbArgs,
    /// Stop at the ledger end seen at start.
    #[arg(long)]
    once: bool,
    /// If another ingestion is running against this DB, wait and take over when it stops
    /// (a standby) instead of refusing to start.
    #[arg(long)]
    standby: bool,
    #[command(flatten)]
    options: IngestOptions,
    /// Log lines on stderr: `human` or `json` (one object per line).
    #[arg(long, value_enum, default_value = "human", value_name = "FORMAT")]
    log_format: crate::logs::LogFormat,
}

/// How ingestion reads and books (shared by `ingest` and `run`).
#[derive(clap::Args, Clone, Debug)]
pub struct IngestOptions {
    /// Stop at the first anomaly (an unexpected transaction) too, instead of logging it.
    #[arg(long)]
    pub(crate) strict: bool,
    /// Set a transaction that cannot be parsed aside in the quarantine (shown by `status`,
    /// re-processed by `quarantine retry`) and go on, instead of stopping before it.
    #[arg(long, conflicts_with = "strict")]
    pub(crate) quarantine_unparseable: bool,
    /// Skip transactions by known update id instead of by record time: for nodes whose
    /// history was edited locally (ACS imports, party replication, repairs), where record
    /// times are not unique.
    #[arg(long)]
    pub(crate) non_unique_record_times: bool,
    /// A metadata key on withdrawal transfers that names the customer account, so that a
    /// withdrawal lost in a DB restore debits that account when it is recovered.
    #[arg(long)]
    pub(crate) account_meta_key: Option<String>,
    #[command(flatten)]
    pub(crate) memo_key: MemoKeyArgs,
    /// The operator account recovered withdrawals are debited to otherwise.
    #[arg(long, default_value = exchange_core::ingest::SUSPENSE_ACCOUNT)]
    pub(crate) suspense_account: String,
    /// Transactions per committed batch.
    #[arg(long, default_value_t = 1000)]
    pub(crate) batch_size: usize,
    /// Retries of a failing ledger read or DB commit before giving up.
    #[arg(long, default_value_t = 6)]
    pub(crate) max_retries: u32,
    /// The first retry's delay in milliseconds (doubling each time).
    #[arg(long, default_value_t = 2000)]
    pub(crate) retry_delay_ms: u64,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 5)]
    pub(crate) progress_secs: u64,
}

impl IngestOptions {
    /// The ingestion settings for the treasury `party`.
    pub fn config(&self, party: &str) -> Result<IngestConfig> {
        let party = PartyId::new(party)
            .with_context(|| format!("--party {}", canton_ledger::quote::quote(party)))?;
        let mut fold = FoldConfig::new(party);
        if self.non_unique_record_times {
            fold.skip_rule = SkipRule::KnownUpdateId;
        }
        fold.account_meta_key = self.account_meta_key.clone();
        fold.memo_key = self.memo_key.load()?;
        fold.suspense_account =
            AccountId::new(self.suspense_account.clone()).context("--suspense-account is empty")?;
        let mut config = IngestConfig::new(fold);
        config.strict = self.strict;
        config.quarantine_unparseable = self.quarantine_unparseable;
        config.batch_transactions = self.batch_size.max(1);
        config.retry.max_retries = self.max_retries;
        config.retry.initial_delay = Duration::from_millis(self.retry_delay_ms);
        config.progress_every = Duration::from_secs(self.progress_secs.max(1));
        Ok(config)
    }
}

/// Logs what ingestion reports, one event each.
pub(crate) struct Log;

impl Observer for Log {
    fn event(&self, event: &IngestEvent) {
        match event {
            IngestEvent::Started { from, to: Some(to) } => {
                tracing::info!(
                    from,
                    to,
                    "ingesting after offset {from} up to the ledger end {to}"
                )
            }
            IngestEvent::Started { from, to: None } => {
                tracing::info!(from, "ingesting after offset {from}, tailing the ledger")
            }
            IngestEvent::Committed { .. } => {}
            IngestEvent::Progress {
                offset,
                ledger_end,
                transactions,
                per_second,
            } => {
                let lag = ledger_end.map(|e| (e - offset).max(0));
                let shown = match (ledger_end, lag) {
                    (Some(e), Some(l)) => format!(", ledger end {e}, lag {l}"),
                    _ => String::new(),
                };
                tracing::info!(
                    offset,
                    ledger_end,
                    lag,
                    transactions,
                    "progress: offset {offset}{shown}, {transactions} transactions, {per_second:.0} tx/s"
                );
            }
            IngestEvent::Anomaly(a) => tracing::warn!("{a}"),
            IngestEvent::HeldBack(a) => tracing::warn!("not credited: {a}"),
            IngestEvent::Recognized { holdings, deposits } => tracing::info!(
                holdings,
                deposits,
                "onboarded tokens: {holdings} held-back holdings now count, {deposits} deposits judged again"
            ),
            IngestEvent::Unparseable {
                update_id,
                error,
                quarantined: true,
            } => tracing::warn!(
                update_id,
                "update {update_id} cannot be parsed ({error}): quarantined, see `canton-exchange quarantine list`"
            ),
            IngestEvent::Unparseable {
                update_id,
                error,
                quarantined: false,
            } => tracing::error!(update_id, "update {update_id} cannot be parsed: {error}"),
            IngestEvent::Retrying {
                what,
                attempt,
                delay,
            } => tracing::warn!(attempt, "retry {attempt} in {delay:?}: {what}"),
            IngestEvent::Standby { lease } => {
                tracing::info!(
                    "standby: another ingestion holds the {lease}; taking over when it stops"
                )
            }
            IngestEvent::TookOver => tracing::info!("the other ingestion stopped: taking over"),
        }
    }
}

pub fn run(args: &Args) -> Result<()> {
    crate::logs::init(args.log_format);
    let mut config = args.options.config(&args.party)?;
    config.once = args.once;
    config.standby = args.standby;
    let source = args.ledger.source()?;

    // Two workers: the reader decodes the next batch's JSON while this one commits.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let store = args.db.open().await?;
        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping after the current batch");
            let _ = stop_tx.send(true);
        });
        let ingestor = Ingestor::new(store.clone(), source, config, Arc::new(Log));
        let summary = ingestor.run(stop_rx).await;
        store.close().await;
        let summary = summary?;
        println!(
            "ingested {} transactions ({} already ingested, skipped) in {} batches; checkpoint offset {}; {} anomalies",
            summary.ingested, summary.skipped, summary.batches, summary.offset, summary.anomalies
        );
        let t = &summary.timings;
        tracing::info!(
            "time: waiting for the ledger {:.1} s, reading the DB {:.1} s, parsing {:.1} s, folding {:.1} s, waiting for commits {:.1} s (committing {:.1} s, overlapped with the rest)",
            t.waiting.as_secs_f64(),
            t.loading.as_secs_f64(),
            t.parsing.as_secs_f64(),
            t.folding.as_secs_f64(),
            t.commit_wait.as_secs_f64(),
            t.committing.as_secs_f64()
        );
        Ok(())
    })
}

pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
