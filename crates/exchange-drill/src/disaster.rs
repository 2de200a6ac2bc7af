//! Disasters and their recoveries. Each recovery is the exchange's own runbook, called as the
//! CLI calls it:
//!
//! - node restore: the sandbox restored from a node backup up to 30 days old (sandbox time),
//!   then `recover validator` (`validator_restore`) through the node's Admin API; with ACS
//!   imports on the node, the guide's variant for non-unique record times;
//! - DB restore: the Integration DB replaced by an earlier backup (SQLite's online backup, or
//!   `pg_dump`/`pg_restore` on PostgreSQL; see [`crate::db`]), then `recover db`
//!   (`recover_db::run`) while ingestion resyncs; if the backup predates a node restore, its
//!   checkpoint names the old offsets and ingestion says so: `recover validator` then too;
//! - crash: one service's future dropped mid-flight, the process "restarted" (a new DB pool).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use canton_ledger::admin_client::AdminClient;
use canton_sandbox::BackupId;
use exchange_core::Timestamp;
use exchange_services::IngestError;
use exchange_services::filter::treasury_format;
use exchange_services::recover::{
    OffRecoveryBy, RecordTimes, RecoverError, Runbook, validator_restore,
};
use exchange_services::recover_db::{self, Progress, RecoverDbConfig};
use serde::Serialize;
use tokio::sync::watch;

use crate::DrillError;
use crate::clock::{self, BACKUP_MAX_AGE, WITHDRAWAL_TTL};
use crate::exchange::{CLAIM, Exchange};
use crate::rng::Rng;
use crate::traffic::Traffic;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisasterKind {
    ValidatorRestore,
    /// A node restore with ACS imports on the node: the non-unique-record-time variant.
    ValidatorRestoreNonUnique,
    DbRestore,
    Crash,
}

impl DisasterKind {
    pub fn name(self) -> &'static str {
        match self {
            DisasterKind::ValidatorRestore => "validator-restore",
            DisasterKind::ValidatorRestoreNonUnique => "validator-restore-non-unique",
            DisasterKind::DbRestore => "db-restore",
            DisasterKind::Crash => "crash",
        }
    }
}

/// One disaster and its recovery.
#[derive(Clone, Debug, Serialize)]
pub struct Disaster {
    pub step: usize,
    pub kind: DisasterKind,
    /// From the disaster to the exchange working again (the runbook, its waits).
    pub recovery_ms: u64,
    pub detail: String,
}

/// A node snapshot: its sandbox time, the step it was taken at, and how many ACS imports the
/// node had had by then.
#[derive(Clone)]
struct NodeBackup {
    id: BackupId,
    at: Timestamp,
    step: usize,
    imports: u32,
}

/// Backups taken so far: node snapshots, DB backups (their files, and the step of each).
#[derive(Default)]
pub struct Backups {
    node: Vec<NodeBackup>,
    db: Vec<(PathBuf, usize)>,
}

impl Backups {
    pub fn node_backup(&mut self, x: &Exchange, step: usize, imports: u32) {
        self.node.push(NodeBackup {
            id: x.sandbox.backup(),
            at: clock::ledger_time(&x.sandbox),
            step,
            imports,
        });
    }

    pub async fn db_backup(&mut self, x: &Exchange, step: usize) -> Result<(), DrillError> {
        let path = x.db.backup(&x.store, step).await?;
        self.db.push((path, step));
        Ok(())
    }

    /// Node backups a restore may use: at most 30 days old, and taken after the last ACS
    /// import (participant-local data a restore would lose). An import does not move the
    /// clock, so it is counted, not timed.
    fn eligible(&self, now: Timestamp, imports: u32) -> Vec<usize> {
        (0..self.node.len())
            .filter(|&i| {
                let b = &self.node[i];
                now.micros() - b.at.micros() <= BACKUP_MAX_AGE && b.imports == imports
            })
            .collect()
    }
}

/// A recovery that failed: the drill cannot go on, and this is a violation.
pub struct RecoveryFailed(pub String);

impl From<DrillError> for RecoveryFailed {
    fn from(e: DrillError) -> Self {
        RecoveryFailed(e.to_string())
    }
}

/// Step 1 of the node-restore runbook refuses while an automation claim is live: a crashed
/// replica's claims lapse after [`CLAIM`] (a restarted process does not own them).
async fn wait_for_claims(x: &Exchange) -> Result<(), DrillError> {
    let until = Instant::now() + CLAIM * 5;
    while Instant::now() < until {
        if x.store.live_claims(Timestamp::now()).await?.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// `recover validator` against the node's Admin API.
async fn recover_validator(x: &Exchange, non_unique: bool) -> Result<String, RecoveryFailed> {
    wait_for_claims(x).await?;
    let source = x.source();
    let format = treasury_format(&x.treasury);
    let admin = AdminClient::new(&x.sandbox.admin_api_url(), None);
    let times = if non_unique {
        RecordTimes::NonUnique
    } else {
        RecordTimes::Unique
    };
    let runbook = Runbook {
        store: &x.store,
        source: &source,
        format: &format,
        off_recovery: OffRecoveryBy::Admin(&admin, times),
        dry_run: false,
        operator: "drill",
    };
    let mut said = Vec::new();
    match validator_restore(&runbook, &mut |step, text| {
        said.push(format!("{step}: {text}"))
    })
    .await
    {
        Ok(r) => Ok(format!(
            "checkpoint {} -> {}",
            r.before.offset.get(),
            r.after.offset.get()
        )),
        // Nothing ingested before the disaster: nothing to re-point, ingestion starts from
        // the restored node's beginning as it would have anyway.
        Err(RecoverError::NothingIngested) => {
            Ok("nothing ingested yet: nothing to re-point".into())
        }
        Err(e) => Err(RecoveryFailed(format!(
            "recover validator failed: {e} (it said: {})",
            said.join(" | ")
        ))),
    }
}

/// The node restored from a random eligible backup, then `recover validator`.
pub async fn node_restore(
    x: &mut Exchange,
    traffic: &mut Traffic,
    backups: &mut Backups,
    rng: &mut Rng,
    step: usize,
) -> Result<Disaster, RecoveryFailed> {
    let imports = || traffic.counts.acs_imports;
    let mut eligible = backups.eligible(clock::ledger_time(&x.sandbox), imports());
    if eligible.is_empty() {
        // Every backup is too old (or predates an import): the operator's next backup, then
        // a little traffic that the restore will lose and the node replay.
        backups.node_backup(x, step, imports());
        for _ in 0..3 {
            traffic.step(x, rng).await?;
            x.tick(false).await?;
        }
        eligible = backups.eligible(clock::ledger_time(&x.sandbox), traffic.counts.acs_imports);
        if eligible.is_empty() {
            // That traffic imported into the ACS again: a backup after it.
            backups.node_backup(x, step, traffic.counts.acs_imports);
            eligible = vec![backups.node.len() - 1];
        }
    }
    // Half the time the oldest a restore may use (the most lost, the most replayed).
    let pick = if rng.percent(50) {
        eligible[0]
    } else {
        eligible[rng.index(eligible.len())]
    };
    let NodeBackup {
        id,
        at: taken,
        step: from_step,
        ..
    } = backups.node[pick].clone();
    let age_days =
        (clock::ledger_time(&x.sandbox).micros() - taken.micros()) as f64 / clock::DAY as f64;
    let non_unique = traffic.book.own_funds.values().any(|a| !a.is_zero());
    let started = Instant::now();
    let report = x
        .sandbox
        .try_restore(&id)
        .map_err(|e| RecoveryFailed(format!("restore: {e}")))?;
    let said = recover_validator(x, non_unique).await?;
    x.tick(false).await?;
    Ok(Disaster {
        step,
        kind: if non_unique {
            DisasterKind::ValidatorRestoreNonUnique
        } else {
            DisasterKind::ValidatorRestore
        },
        recovery_ms: started.elapsed().as_millis() as u64,
        detail: format!(
            "backup of step {from_step} ({age_days:.1} days old), {} transactions replayed; {said}",
            report.redelivered
        ),
    })
}

/// The Integration DB replaced by a random earlier backup, then `recover db` while ingestion
/// resyncs (with `recover validator` first if the backup's checkpoint predates a node restore).
pub async fn db_restore(
    x: &mut Exchange,
    traffic: &mut Traffic,
    backups: &Backups,
    rng: &mut Rng,
    step: usize,
) -> Result<Disaster, RecoveryFailed> {
    // Half the time the oldest backup (the most requests lost), else any.
    let pick = if rng.percent(50) {
        0
    } else {
        rng.index(backups.db.len())
    };
    let Some((from, from_step)) = backups.db.get(pick).cloned() else {
        return Err(RecoveryFailed("no DB backup to restore".into()));
    };
    let started = Instant::now();
    x.store =
        x.db.restore(&x.store, &from)
            .await
            .map_err(|e| RecoveryFailed(format!("db restore: {e}")))?;
    let non_unique = traffic.book.own_funds.values().any(|a| !a.is_zero());

    let store = x.store.clone();
    let t_safe: Arc<Mutex<Option<Timestamp>>> = Arc::default();
    let done = AtomicBool::new(false);
    let (_stop_tx, stop) = watch::channel(false);
    let config = RecoverDbConfig {
        ttl: Duration::from_micros(WITHDRAWAL_TTL as u64),
        poll: Duration::from_millis(10),
        ..RecoverDbConfig::default()
    };
    let seen = t_safe.clone();
    let run = async {
        let r = recover_db::run(&store, Timestamp::now(), &config, stop, &mut |p| {
            if let Progress::Started { run, .. } = p {
                *seen.lock().expect("not poisoned") = Some(run.t_safe);
            }
        })
        .await;
        done.store(true, Ordering::SeqCst);
        r
    };
    let drive = resync(x, traffic, &t_safe, &done, non_unique);
    let (report, driven) = tokio::join!(run, drive);
    let repointed = driven?;
    let report = report.map_err(|e| RecoveryFailed(format!("recover db failed: {e}")))?;
    if !report.enabled {
        return Err(RecoveryFailed(format!(
            "recover db left withdrawals off: {} recovered withdrawal(s) unattributed",
            report.unattributed.len()
        )));
    }
    x.tick(false).await?;
    Ok(Disaster {
        step,
        kind: DisasterKind::DbRestore,
        recovery_ms: started.elapsed().as_millis() as u64,
        detail: format!(
            "backup of step {from_step}; tSafe {}; {} withdrawal(s) recovered{}",
            report.run.t_safe,
            report.recovered.len(),
            if repointed {
                "; the backup predates a node restore: recover validator too"
            } else {
                ""
            }
        ),
    })
}

/// Ingestion during `recover db`: once tSafe is known the node's clock passes it (a real
/// synchronizer's time would), one deposit is sequenced after it, and ingestion catches up.
/// Returns whether `recover validator` had to re-point the restored checkpoint first.
async fn resync(
    x: &mut Exchange,
    traffic: &mut Traffic,
    t_safe: &Mutex<Option<Timestamp>>,
    done: &AtomicBool,
    non_unique: bool,
) -> Result<bool, RecoveryFailed> {
    let mut passed = false;
    let mut repointed = false;
    while !done.load(Ordering::SeqCst) {
        let known = *t_safe.lock().expect("not poisoned");
        if let (Some(t), false) = (known, passed) {
            if let Some(after) = t.checked_add_micros(1) {
                clock::move_to(&x.sandbox, after);
            }
            traffic.deposit(x, 0, exchange_core::Amount::from_whole(1))?;
            passed = true;
        }
        match x.ingest().await {
            Ok(_) => {}
            Err(DrillError::Ingest(IngestError::Identity(_))) if !repointed => {
                recover_validator(x, non_unique).await?;
                repointed = true;
            }
            Err(e) => return Err(e.into()),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(repointed)
}

/// One service dropped mid-flight after a random few milliseconds, then restarted: either the
/// whole process (a new DB pool) or the service alone in the same process (the same pool, as
/// a supervisor restarting a failed task). The crashed replica's claims lapse on their own.
pub async fn crash(
    x: &mut Exchange,
    rng: &mut Rng,
    step: usize,
) -> Result<Disaster, RecoveryFailed> {
    let budget = Duration::from_micros(rng.between(200, 30_000) as u64);
    let which = rng.below(4);
    let in_process = rng.percent(50);
    let component = match which {
        0 => "ingestion",
        1 => "withdrawal automation",
        2 => "deposit automation",
        _ => "pool job and withdrawal automation",
    };
    let started = Instant::now();
    let finished = match which {
        0 => tokio::time::timeout(budget, x.ingest()).await.is_ok(),
        1 => tokio::time::timeout(budget, x.automation().run_round())
            .await
            .is_ok(),
        2 => tokio::time::timeout(budget, x.deposit_automation().run_round())
            .await
            .is_ok(),
        _ => tokio::time::timeout(budget, async {
            x.pool_job().run_once().await?;
            x.automation().run_round().await
        })
        .await
        .is_ok(),
    };
    if !in_process {
        x.reopen().await?;
    }
    x.tick(false).await?;
    Ok(Disaster {
        step,
        kind: DisasterKind::Crash,
        recovery_ms: started.elapsed().as_millis() as u64,
        detail: format!(
            "{component} dropped after {} µs{}, {} restarted",
            budget.as_micros(),
            if finished { " (it had finished)" } else { "" },
            if in_process {
                "the service"
            } else {
                "the process"
            }
        ),
    })
}
