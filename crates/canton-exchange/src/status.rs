//! `canton-exchange status`: where ingestion stands and what needs an operator.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Result;
use exchange_core::changeset::{AccountId, DepositState};
use exchange_core::ingest::SUSPENSE_ACCOUNT;
use serde::Serialize;

use crate::db::{DbArgs, Format, runtime};
use crate::ledger::LedgerAuth;

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

impl Args {
    /// The table form for one DB, without a ledger to compare with (the demo prints it).
    pub fn for_db(db: &str) -> Args {
        Args {
            db: DbArgs::for_url(db),
            ledger: None,
            auth: LedgerAuth::default(),
            suspense_account: SUSPENSE_ACCOUNT.to_owned(),
            format: Format::Table,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    treasury_party: Option<String>,
    checkpoint: Option<JsonCheckpoint>,
    /// Record times of the synchronizers, as ingested.
    record_times: BTreeMap<String, String>,
    /// `ledgerEnd - checkpoint.offset` when `--ledger` is given.
    lag: Option<i64>,
    ledger_end: Option<i64>,
    withdrawals: BTreeMap<String, i64>,
    deposits: BTreeMap<String, i64>,
    unknown_account_deposits: i64,
    /// The suspense account's balance per instrument (negative: recovered withdrawals whose
    /// customer is not known yet).
    suspense_balance: BTreeMap<String, String>,
    /// Why the suspense balance could not be computed (a sum beyond Numeric 10); the rest of
    /// the status is still reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    suspense_balance_error: Option<String>,
    /// Withdrawals paid a second time on the ledger (each booked against suspense).
    overpaid_withdrawals: i64,
    /// Transactions held in quarantine (not parseable), oldest first: `quarantine retry`.
    quarantined: Vec<JsonQuarantined>,
    /// Deposit offers still pending whose accept attempts ran out (`accept_failed`).
    failed_deposit_accepts: Vec<JsonFailedAccept>,
    /// Why withdrawals are switched off, when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    withdrawals_disabled: Option<String>,
    /// An unfinished `recover db` run: `{tSafe, phase, startedAt}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    db_recovery: Option<BTreeMap<String, String>>,
    /// Recovered withdrawals in suspense no account bears yet (`withdrawals attribute`).
    unattributed_withdrawals: usize,
    /// The last node-restore recovery (`recover validator`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_recovery: Option<JsonRecovery>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRecovery {
    at: String,
    runbook: String,
    operator: String,
    t_recovery: String,
    synchronizer_id: String,
    last_update_id: String,
    last_offset_before: i64,
    last_offset_after: i64,
    checkpoint_before: i64,
    checkpoint_after: i64,
    off_recovery_source: String,
    participant_id: Option<String>,
    dars_uploaded: Vec<String>,
}

impl From<exchange_store::Recovery> for JsonRecovery {
    fn from(r: exchange_store::Recovery) -> JsonRecovery {
        let d = r.record;
        JsonRecovery {
            at: r.at.to_string(),
            runbook: d.runbook,
            operator: d.operator,
            t_recovery: d.t_recovery.to_string(),
            synchronizer_id: d.synchronizer_id,
            last_update_id: d.last_update_id,
            last_offset_before: d.last_offset_before,
            last_offset_after: d.last_offset_after,
            checkpoint_before: d.checkpoint_before,
            checkpoint_after: d.checkpoint_after,
            off_recovery_source: d.off_recovery_source,
            participant_id: d.participant_id,
            dars_uploaded: d.dars_uploaded,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFailedAccept {
    transfer_instruction: String,
    deposit_id: String,
    account: String,
    instrument: String,
    amount: String,
    attempts: u32,
    error: Option<String>,
    since: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonQuarantined {
    update_id: String,
    offset: i64,
    record_time: String,
    error: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonCheckpoint {
    offset: i64,
    update_id: Option<String>,
    record_time: Option<String>,
    synchronizer_id: Option<String>,
}

pub fn run(args: &Args, out: &mut impl Write) -> Result<()> {
    let status = runtime()?.block_on(async {
        let store = args.db.open_read_only().await?;
        let checkpoint = store.checkpoint().await?;
        let party = store.treasury_party().await?;
        let record_times = store.record_times().await?;
        let withdrawals: BTreeMap<_, _> = store.withdrawal_counts().await?.into_iter().collect();
        let deposits: BTreeMap<_, _> = store.deposit_counts().await?.into_iter().collect();
        let overpaid_withdrawals = store.overpaid_withdrawal_count().await?;
        let quarantined = store
            .quarantine(true)
            .await?
            .into_iter()
            .map(|e| {
                let u = e.quarantined.update;
                JsonQuarantined {
                    update_id: u.update_id.to_string(),
                    offset: u.offset.get(),
                    record_time: u.record_time.to_string(),
                    error: e.quarantined.error,
                }
            })
            .collect();
        let failed_deposit_accepts = store
            .failed_deposit_accepts()
            .await?
            .into_iter()
            .map(|f| JsonFailedAccept {
                transfer_instruction: f.record.instruction.to_string(),
                deposit_id: f.deposit.to_string(),
                account: f.account.to_string(),
                instrument: format!("{}/{}", f.instrument.admin, f.instrument.id),
                amount: f.amount.to_string(),
                attempts: f.record.attempts,
                error: f.record.last_error,
                since: f.record.updated_at.to_string(),
            })
            .collect();
        let (suspense, suspense_balance_error) = match AccountId::new(args.suspense_account.clone())
        {
            Some(a) => match store.balances(&a).await {
                Ok(balances) => (balances, None),
                // Unreadable (beyond Numeric 10, damaged): say so and print the rest, which
                // is what an operator needs to find out why.
                Err(e) => (
                    BTreeMap::new(),
                    Some(format!("account {}: {e}", args.suspense_account)),
                ),
            },
            None => (BTreeMap::new(), None),
        };
        let switch = store.switch(exchange_store::Switch::Withdrawals).await?;
        let withdrawals_disabled = (!switch.enabled).then_some(switch.reason);
        let db_recovery = store
            .db_recovery()
            .await?
            .filter(|r| r.finished_at.is_none())
            .map(|r| {
                BTreeMap::from([
                    ("tSafe".to_owned(), r.t_safe.to_string()),
                    ("phase".to_owned(), r.phase),
                    ("startedAt".to_owned(), r.started_at.to_string()),
                ])
            });
        let unattributed_withdrawals = store.unattributed_withdrawals().await?.len();
        let last_recovery = store.last_recovery().await?.map(JsonRecovery::from);
        store.close().await;
        let ledger_end = match &args.ledger {
            Some(url) => Some(args.auth.at(url).source()?.ledger_end().await?),
            None => None,
        };
        let offset = checkpoint.as_ref().map_or(0, |c| c.offset.get());
        anyhow::Ok(Status {
            treasury_party: party.map(|p| p.to_string()),
            checkpoint: checkpoint.map(|c| {
                let last = c.last_update;
                JsonCheckpoint {
                    offset: c.offset.get(),
                    update_id: last.as_ref().map(|u| u.update_id.to_string()),
                    record_time: last.as_ref().map(|u| u.record_time.to_string()),
                    synchronizer_id: last.as_ref().map(|u| u.synchronizer_id.to_string()),
                }
            }),
            record_times: record_times
                .into_iter()
                .map(|(s, t)| (s.to_string(), t.to_string()))
                .collect(),
            lag: ledger_end.map(|e| (e - offset).max(0)),
            ledger_end,
            unknown_account_deposits: deposits
                .get(DepositState::UnknownAccount.as_str())
                .copied()
                .unwrap_or(0),
            withdrawals,
            deposits,
            suspense_balance: suspense
                .into_iter()
                .map(|(i, a)| (format!("{}/{}", i.admin, i.id), a.to_string()))
                .collect(),
            overpaid_withdrawals,
            quarantined,
            failed_deposit_accepts,
            withdrawals_disabled,
            db_recovery,
            unattributed_withdrawals,
            suspense_balance_error,
            last_recovery,
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

fn write_table(out: &mut impl Write, s: &Status) -> Result<()> {
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
    for (sync, time) in &s.record_times {
        writeln!(out, "record time        {time}  {sync}")?;
    }
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
    write_failed_accepts(out, &s.failed_deposit_accepts)?;
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

fn write_failed_accepts(out: &mut impl Write, failed: &[JsonFailedAccept]) -> Result<()> {
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
        let failed = [JsonFailedAccept {
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
