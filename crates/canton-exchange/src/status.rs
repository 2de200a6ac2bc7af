//! `canton-exchange status`: where ingestion stands and what needs an operator.

use std::io::Write;

use anyhow::Result;
use exchange_core::ingest::SUSPENSE_ACCOUNT;
use exchange_services::status::{FailedAcceptReport, StatusReport, UntrustedReport};

use crate::db::{DbArgs, runtime};
use crate::ledger::LedgerAuth;
use crate::output::Format;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// The node (or recording), to report the lag behind its ledger end.
    #[arg(long, env = "CANTON_LEDGER_URL")]
    ledger: Option<String>,
    #[command(flatten)]
    auth: LedgerAuth,
    #[arg(long, default_value = SUSPENSE_ACCOUNT)]
    suspense_account: String,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    let status = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let status = exchange_services::status::gather(&store, &args.suspense_account).await;
        store.close().await;
        let status = status?;
        anyhow::Ok(match &args.ledger {
            Some(url) => status.with_ledger_end(args.auth.at(url).source()?.ledger_end().await?),
            None => status,
        })
    })?;
    if let Some(e) = &status.suspense_balance_error {
        eprintln!("warning: suspense balance unavailable: {e}");
    }
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &status)?;
            writeln!(out)?;
        }
        Format::Table => write_table(out, &status)?,
    }
    Ok(())
}

fn write_table(out: &mut impl Write, s: &StatusReport) -> Result<()> {
    write_progress(out, s)?;
    write_counts(out, s)?;
    write_failed_accepts(out, &s.failed_deposit_accepts)?;
    write_untrusted(out, &s.untrusted_v2_events)?;
    write_recovery(out, s)?;
    write_quarantined(out, s)
}

/// Where ingestion stands: the checkpoint, and how far behind the node and the wall clock.
fn write_progress(out: &mut impl Write, s: &StatusReport) -> Result<()> {
    let none = || "-".to_owned();
    writeln!(
        out,
        "treasury party     {}",
        s.treasury_party.clone().unwrap_or_else(none)
    )?;
    match &s.checkpoint {
        Some(c) => {
            writeln!(out, "checkpoint offset  {}", c.offset)?;
            writeln!(
                out,
                "  last update      {}",
                c.update_id.clone().unwrap_or_else(none)
            )?;
            writeln!(
                out,
                "  record time      {}",
                c.record_time.clone().unwrap_or_else(none)
            )?;
            writeln!(
                out,
                "  synchronizer     {}",
                c.synchronizer_id.clone().unwrap_or_else(none)
            )?;
        }
        None => writeln!(out, "checkpoint         none (nothing ingested yet)")?,
    }
    if let (Some(end), Some(lag)) = (s.ledger_end, s.lag) {
        writeln!(out, "ledger end         {end} (lag {lag})")?;
    }
    if let Some(behind) = s.record_time_lag_seconds {
        writeln!(
            out,
            "behind wall clock  {behind} s (since the last ingested record time)"
        )?;
    }
    for (sync, time) in &s.record_times {
        writeln!(out, "record time        {time}  {sync}")?;
    }
    Ok(())
}

/// Withdrawals and deposits per state, and what is booked to suspense.
fn write_counts(out: &mut impl Write, s: &StatusReport) -> Result<()> {
    writeln!(out, "withdrawals")?;
    if s.withdrawals.is_empty() {
        writeln!(out, "  none")?;
    }
    for (state, n) in &s.withdrawals {
        writeln!(out, "  {state:<20} {n}")?;
    }
    writeln!(out, "deposits")?;
    if s.deposits.is_empty() {
        writeln!(out, "  none")?;
    }
    for (state, n) in &s.deposits {
        writeln!(out, "  {state:<20} {n}")?;
    }
    writeln!(
        out,
        "unknown-account deposits  {}",
        s.unknown_account_deposits
    )?;
    if let Some(e) = &s.suspense_balance_error {
        writeln!(out, "suspense balance          unavailable: {e}")?;
    } else if s.suspense_balance.is_empty() {
        writeln!(out, "suspense balance          0")?;
    }
    for (instrument, amount) in &s.suspense_balance {
        writeln!(out, "suspense balance          {amount} {instrument}")?;
    }
    if s.overpaid_withdrawals > 0 {
        writeln!(
            out,
            "overpaid withdrawals      {} (paid twice on the ledger; booked against suspense)",
            s.overpaid_withdrawals
        )?;
    }
    Ok(())
}

/// Withdrawals switched off, an unfinished `recover db`, what it left in suspense, and the
/// last recovery runbook.
fn write_recovery(out: &mut impl Write, s: &StatusReport) -> Result<()> {
    if let Some(reason) = &s.withdrawals_disabled {
        writeln!(out, "withdrawals DISABLED      {reason}")?;
    }
    if let Some(run) = &s.db_recovery {
        let get = |k: &str| run.get(k).map_or("?", String::as_str);
        writeln!(
            out,
            "recover db unfinished     phase {}, tSafe {} (started {}): run `recover db` again",
            get("phase"),
            get("tSafe"),
            get("startedAt")
        )?;
    }
    if s.unattributed_withdrawals > 0 {
        writeln!(
            out,
            "unattributed withdrawals  {} (recovered, in suspense: `withdrawals attribute`)",
            s.unattributed_withdrawals
        )?;
    }
    if let Some(r) = &s.last_recovery {
        writeln!(
            out,
            "last recovery      {} by {} at {}: tRecovery {} on {}; checkpoint {} -> {}; offRecovery from {}; .dars uploaded again: {}",
            r.runbook,
            r.operator,
            r.at,
            r.t_recovery,
            r.synchronizer_id,
            r.checkpoint_before,
            r.checkpoint_after,
            r.off_recovery_source,
            if r.dars_uploaded.is_empty() {
                "none".to_owned()
            } else {
                r.dars_uploaded.join(", ")
            }
        )?;
    }
    Ok(())
}

fn write_quarantined(out: &mut impl Write, s: &StatusReport) -> Result<()> {
    writeln!(out, "quarantined updates       {}", s.quarantined.len())?;
    for q in &s.quarantined {
        writeln!(
            out,
            "  {} (offset {}, {}): {}",
            q.update_id, q.offset, q.record_time, q.error
        )?;
    }
    if !s.quarantined.is_empty() {
        writeln!(
            out,
            "  fix the cause, then: canton-exchange quarantine retry (with ingestion stopped)"
        )?;
    }
    Ok(())
}

fn write_untrusted(out: &mut impl Write, u: &UntrustedReport) -> Result<()> {
    writeln!(out, "untrusted V2 events       {}", u.count)?;
    if u.count == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "  held back, never credited (anyone can log one naming an admin); latest first:"
    )?;
    for e in &u.latest {
        writeln!(
            out,
            "  {} node {} ({}): {}",
            e.update_id, e.node_id, e.record_time, e.reason
        )?;
    }
    Ok(())
}

fn write_failed_accepts(out: &mut impl Write, failed: &[FailedAcceptReport]) -> Result<()> {
    writeln!(out, "deposit offers accept_failed  {}", failed.len())?;
    for f in failed {
        writeln!(
            out,
            "  {} {} to {} (deposit {}, offer {}, {} attempts, since {}): {}",
            f.amount,
            f.instrument,
            f.account,
            f.deposit_id,
            f.transfer_instruction,
            f.attempts,
            f.since,
            f.error.as_deref().unwrap_or("-")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_whose_accepts_failed_are_listed_with_their_error() {
        let failed = [FailedAcceptReport {
            transfer_instruction: "00ab".into(),
            deposit_id: "u1#2".into(),
            account: "acct-7".into(),
            instrument: "admin::1220/SBX".into(),
            amount: "4.5".into(),
            attempts: 10,
            error: Some("registry: connection refused".into()),
            since: "2026-01-01T00:00:00Z".into(),
        }];
        let mut out = Vec::new();
        write_failed_accepts(&mut out, &failed).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("deposit offers accept_failed  1\n"),
            "{text}"
        );
        assert!(
            text.contains("4.5 admin::1220/SBX to acct-7 (deposit u1#2, offer 00ab, 10 attempts"),
            "{text}"
        );
        assert!(
            text.ends_with("): registry: connection refused\n"),
            "{text}"
        );
    }
}
