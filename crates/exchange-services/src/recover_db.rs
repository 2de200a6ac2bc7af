//! The guide's DB-restore runbook (disaster-recovery.rst, "Restoring the Integration DB from a
//! backup"), as a library function the CLI (`recover db`) and the drills call:
//!
//! 1. withdrawals are switched off (the reason recorded): requests are refused and the
//!    automation stops submitting; withdrawals already submitted still settle;
//! 2. tSafe = max(latest `trecTgt` in the restored DB, now + ttl): no withdrawal requested
//!    before the restore, recorded or lost, can commit after it;
//! 3. wait until ingestion has ingested a record time beyond tSafe on every synchronizer;
//!    meanwhile it re-creates every lost withdrawal it finds as `recovered` (attributed through
//!    its sealed memo, or booked to suspense);
//! 4. list what the resync found, and switch withdrawals back on, unless a recovered
//!    withdrawal still sits in suspense unattributed (its customer could withdraw the funds
//!    again): then an operator attributes it first, or accepts that risk explicitly.
//!
//! The run (tSafe, phase, start) lives in the DB, so an interrupted run resumes with the same
//! tSafe. Ingestion runs separately (`run` or `ingest`), as always: this only reads what it
//! wrote.

use std::collections::BTreeMap;
use std::time::Duration;

use exchange_core::{Amount, InstrumentId, SynchronizerId, Timestamp};
use exchange_store::{DbRecovery, Store, StoreError, Withdrawal};
use tokio::sync::watch;

#[derive(Clone, Debug)]
pub struct RecoverDbConfig {
    /// The longest ttl any withdrawal request may have been given (`trecTgt = now + ttl`).
    pub ttl: Duration,
    /// How often ingestion's progress is looked at.
    pub poll: Duration,
    /// Recorded with the switch, shown in refusals.
    pub reason: String,
    /// Re-enable withdrawals even with recovered withdrawals unattributed (logged).
    pub accept_unattributed_risk: bool,
    /// Start a new run even if one is unfinished (its tSafe kept as a floor): after restoring
    /// a backup that was taken while a run was unfinished.
    pub restart: bool,
}

impl Default for RecoverDbConfig {
    fn default() -> Self {
        RecoverDbConfig {
            ttl: Duration::from_secs(600),
            poll: Duration::from_secs(2),
            reason: "Integration DB restored from a backup: recover db is resyncing".into(),
            accept_unattributed_risk: false,
            restart: false,
        }
    }
}

/// What the runbook is doing, for a progress display.
#[derive(Clone, Debug)]
pub enum Progress {
    /// Withdrawals are off; `resumed`: an interrupted run is picked up (same tSafe).
    Started { run: DbRecovery, resumed: bool },
    /// Ingestion has not passed tSafe on these synchronizers yet (with their ingested record
    /// time); empty: nothing was ingested at all yet.
    Waiting {
        t_safe: Timestamp,
        behind: Vec<(SynchronizerId, Timestamp)>,
    },
    /// Ingestion has passed tSafe everywhere.
    CaughtUp,
}

/// What a run found and did.
#[derive(Clone, Debug)]
pub struct RecoverDbReport {
    pub run: DbRecovery,
    pub resumed: bool,
    /// Withdrawals ingestion re-created from the ledger since the previous run finished (the
    /// resync, including what ingestion found before this run started).
    pub recovered: Vec<Withdrawal>,
    /// Per instrument: (debited to customer accounts, debited to suspense) by those.
    pub funds: BTreeMap<InstrumentId, (Amount, Amount)>,
    /// Recovered withdrawals in suspense no account bears yet (any run's).
    pub unattributed: Vec<Withdrawal>,
    /// Whether withdrawals are on again.
    pub enabled: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverDbError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "interrupted while waiting for ingestion; run `recover db` again to resume (tSafe {0})"
    )]
    Stopped(Timestamp),
    #[error("amount overflow summing recovered withdrawals")]
    Overflow,
}

/// Walks the runbook (see the module doc). `now` is the clock that made the `trecTgt` of
/// the requests a restore may have lost: the exchange's own (`Timestamp::now()`), since the
/// store sets `trecTgt = now + ttl` with it. The ledger enforces each transfer's
/// `maxRecordTime = trecTgt − 1µs` in its own record time, so once ingested record time passes
/// tSafe, whatever the node's clock (a sandbox's advanced one, a real synchronizer's), no lost
/// withdrawal can still commit. Waiting on record time, not on wall time, is what makes this
/// hold on both.
pub async fn run(
    store: &Store,
    now: Timestamp,
    config: &RecoverDbConfig,
    mut stop: watch::Receiver<bool>,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<RecoverDbReport, RecoverDbError> {
    let ttl = i64::try_from(config.ttl.as_micros()).unwrap_or(i64::MAX);
    let floor = now.checked_add_micros(ttl).unwrap_or(now);
    let resumed = !config.restart
        && store
            .db_recovery()
            .await?
            .is_some_and(|r| r.finished_at.is_none());
    let run = store
        .begin_db_recovery(floor, &config.reason, config.restart)
        .await?;
    progress(&Progress::Started {
        run: run.clone(),
        resumed,
    });
    if run.phase == "waiting" {
        loop {
            let times = store.record_times().await?;
            // Every synchronizer ingestion has seen (offset checkpoints report each connected
            // one's time, so a quiet one advances too); before anything was ingested there is
            // nothing to compare: waiting.
            let behind: Vec<(SynchronizerId, Timestamp)> = times
                .iter()
                .filter(|(_, at)| **at <= run.t_safe)
                .map(|(s, at)| (s.clone(), *at))
                .collect();
            if !times.is_empty() && behind.is_empty() {
                break;
            }
            progress(&Progress::Waiting {
                t_safe: run.t_safe,
                behind,
            });
            if *stop.borrow() {
                return Err(RecoverDbError::Stopped(run.t_safe));
            }
            tokio::select! {
                _ = stop.changed() => return Err(RecoverDbError::Stopped(run.t_safe)),
                _ = tokio::time::sleep(config.poll) => {}
            }
        }
        store.set_db_recovery_phase("resynced").await?;
    }
    progress(&Progress::CaughtUp);
    // Counted by what the resync recovered, not by the clock: ingestion may have re-created a
    // lost withdrawal before this run started.
    let recovered = store.recovered_withdrawals(run.recovered_since).await?;
    let funds = funds(&recovered)?;
    let unattributed = store.unattributed_withdrawals().await?;
    let enabled = if unattributed.is_empty() || config.accept_unattributed_risk {
        store
            .finish_db_recovery(config.accept_unattributed_risk)
            .await?;
        true
    } else {
        false
    };
    Ok(RecoverDbReport {
        run: store.db_recovery().await?.unwrap_or(run),
        resumed,
        recovered,
        funds,
        unattributed,
        enabled,
    })
}

fn funds(
    recovered: &[Withdrawal],
) -> Result<BTreeMap<InstrumentId, (Amount, Amount)>, RecoverDbError> {
    let mut funds: BTreeMap<InstrumentId, (Amount, Amount)> = BTreeMap::new();
    for w in recovered.iter().filter(|w| w.duplicate_of.is_none()) {
        let entry = funds
            .entry(w.instrument.clone())
            .or_insert((Amount::ZERO, Amount::ZERO));
        let slot = if w.account.is_some() {
            &mut entry.0
        } else {
            &mut entry.1
        };
        *slot = slot
            .checked_add(w.amount)
            .map_err(|_| RecoverDbError::Overflow)?;
    }
    Ok(funds)
}
