//! `canton-exchange recover db`: the DB-restore runbook, a thin layer over
//! `exchange_services::recover_db::run`: a progress bar on a terminal (plain lines otherwise),
//! Ctrl-C leaves the run resumable, and the report of what the resync found.
//!
//! Ingestion is not run here: the operator restarts `run` (or `ingest`) with the restored DB
//! as usual, with its memo key, so one process owns ingestion and its lease, and this command
//! only watches what it writes. Withdrawals are off from this command's first step, so `run`'s
//! automation submits nothing meanwhile.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use exchange_core::Timestamp;
use exchange_services::recover_db::{Progress, RecoverDbConfig, RecoverDbReport};
use tokio::sync::watch;

use crate::db::{DbArgs, runtime};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// The longest ttl any withdrawal request may have had (`withdraw --ttl-secs`, the API's):
    /// tSafe is at least now + this.
    #[arg(long, default_value_t = 600)]
    ttl_secs: u64,
    /// Why withdrawals are off (shown in refusals while they are).
    #[arg(
        long,
        default_value = "Integration DB restored from a backup: recover db is resyncing"
    )]
    reason: String,
    /// Switch withdrawals on again even while recovered withdrawals sit in suspense
    /// unattributed: their customers may withdraw those funds a second time. Logged.
    #[arg(long)]
    accept_unattributed_risk: bool,
    /// Start a new run even if one is unfinished (its tSafe kept as a floor). Use it when the
    /// restored backup was taken while a `recover db` run was unfinished: otherwise that old
    /// run would be resumed with a tSafe that knows nothing of the requests made after it.
    #[arg(long)]
    restart: bool,
    /// Milliseconds between looks at ingestion's progress.
    #[arg(long, default_value_t = 2000)]
    poll_ms: u64,
}

pub fn run(args: &Args) -> Result<()> {
    let config = RecoverDbConfig {
        ttl: Duration::from_secs(args.ttl_secs),
        poll: Duration::from_millis(args.poll_ms.max(10)),
        reason: args.reason.clone(),
        accept_unattributed_risk: args.accept_unattributed_risk,
        restart: args.restart,
    };
    let report = runtime()?.block_on(async {
        let store = args.db.open().await?;
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            crate::ingest::wait_for_signal().await;
            let _ = stop_tx.send(true);
        });
        let mut display = Display::new();
        let result =
            exchange_services::recover_db::run(&store, Timestamp::now(), &config, stop, &mut |p| {
                display.show(p)
            })
            .await;
        display.finish();
        store.close().await;
        anyhow::Ok(result?)
    })?;
    print_report(&report, &mut std::io::stdout().lock())?;
    if !report.enabled {
        bail!(
            "withdrawals stay disabled: {} recovered withdrawal(s) sit in suspense unattributed; attribute each with `canton-exchange withdrawals attribute ID --account ACC` and run `recover db` again (or pass --accept-unattributed-risk)",
            report.unattributed.len()
        );
    }
    Ok(())
}

/// A bar on a terminal, a line every 10 s otherwise (logs stay readable).
struct Display {
    bar: Option<indicatif::ProgressBar>,
    last_line: Option<Instant>,
}

impl Display {
    fn new() -> Display {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Display {
            bar,
            last_line: None,
        }
    }

    fn show(&mut self, progress: &Progress) {
        let text = match progress {
            Progress::Started { run, resumed } => {
                let how = if *resumed { "resumed" } else { "started" };
                self.say(&format!(
                    "recover db {how} (at {}): withdrawals disabled; tSafe {}",
                    run.started_at, run.t_safe
                ));
                return;
            }
            Progress::Waiting { t_safe, behind } => {
                let list: Vec<String> = behind
                    .iter()
                    .map(|(s, at)| format!("{s} at {at}"))
                    .collect();
                let list = if list.is_empty() {
                    "nothing ingested yet".to_owned()
                } else {
                    list.join(", ")
                };
                format!("waiting for ingestion to pass tSafe {t_safe}: {list}")
            }
            Progress::CaughtUp => {
                self.say("ingestion has passed tSafe on every synchronizer");
                return;
            }
        };
        match &self.bar {
            Some(bar) => bar.set_message(text),
            None => {
                if self
                    .last_line
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
                {
                    eprintln!("{text}");
                    self.last_line = Some(Instant::now());
                }
            }
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_report(report: &RecoverDbReport, out: &mut impl std::io::Write) -> Result<()> {
    writeln!(
        out,
        "tSafe {}; {} withdrawal(s) recovered by the resync",
        report.run.t_safe,
        report.recovered.len()
    )?;
    for w in &report.recovered {
        let whose = match (&w.account, &w.duplicate_of) {
            (_, Some(of)) => format!("second payment of {of}, booked to suspense"),
            (Some(account), None) => format!("attributed to {account}"),
            (None, None) => "in suspense, unattributed".to_owned(),
        };
        writeln!(
            out,
            "  {} {} {} to {}: {whose}",
            w.id, w.amount, w.instrument.id, w.receiver
        )?;
    }
    for (instrument, (customers, suspense)) in &report.funds {
        writeln!(
            out,
            "  {}: {customers} debited to customer accounts, {suspense} to suspense",
            instrument.id
        )?;
    }
    for w in &report.unattributed {
        writeln!(
            out,
            "unattributed: {} {} {}",
            w.id, w.amount, w.instrument.id
        )?;
    }
    if report.enabled {
        writeln!(out, "withdrawals enabled again")?;
    }
    Ok(())
}
