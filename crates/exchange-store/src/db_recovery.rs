//! The DB-restore runbook's state (`recover db`): its run (tSafe, phase, start), persisted so
//! an interrupted run resumes with the same tSafe; the withdrawals the resync re-created; and
//! an operator's attribution of one booked to suspense. Each step is one DB transaction.

use exchange_core::changeset::{AccountId, JournalCause, JournalEntry};
use exchange_core::withdrawal::{WithdrawalId, WithdrawalPurpose, WithdrawalState};
use exchange_core::{Amount, Timestamp};

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::operator_log::{self, OperatorNote};
use crate::withdrawals::{self, Withdrawal};
use crate::{Store, Switch, accounts, now};

/// A run of the DB-restore runbook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DbRecovery {
    /// Ingestion must pass this record time on every synchronizer before withdrawals resume.
    pub t_safe: Timestamp,
    /// `waiting` (for ingestion to pass tSafe), `resynced`, `done`.
    pub phase: String,
    pub reason: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// The run reports the recovered withdrawals created from here on: when the run before it
    /// (the restored backup's) finished, or the epoch if there was none. Not this run's start:
    /// ingestion may re-create a lost withdrawal before the runbook is started.
    pub recovered_since: Timestamp,
}

/// Recovered withdrawals (re-created by ingestion from the ledger, no request behind them)
/// still owed by nobody: debited to suspense, not refunded, not a second payment.
const UNATTRIBUTED: &str = "purpose = 'customer' AND trec_tgt_us IS NULL AND account_id IS NULL
     AND duplicate_of IS NULL AND state NOT IN ('failed', 'expired')";

async fn read(tx: &mut Tx) -> Result<Option<DbRecovery>> {
    let row = tx
        .query(
            "SELECT t_safe_us, phase, reason, started_at_us, finished_at_us, recovered_since_us
             FROM db_recovery WHERE singleton = 1",
        )
        .fetch_optional()
        .await?;
    row.map(|r| {
        let started_at = r.time("started_at_us")?;
        Ok(DbRecovery {
            t_safe: r.time("t_safe_us")?,
            phase: r.get("phase")?,
            reason: r.get("reason")?,
            started_at,
            finished_at: r.opt_time("finished_at_us")?,
            // A run recorded before the column: its start, as it was then.
            recovered_since: r.opt_time("recovered_since_us")?.unwrap_or(started_at),
        })
    })
    .transpose()
}

impl Store {
    /// The current or last DB-restore run.
    pub async fn db_recovery(&self) -> Result<Option<DbRecovery>> {
        let mut tx = self.pool.read().await?;
        read(&mut tx).await
    }

    /// Starts a DB-restore run, or returns the unfinished one (same tSafe: a second run picks
    /// up where the first stopped). A new run switches withdrawals off with `reason` and takes
    /// tSafe = max(`t_safe_floor`, the latest `trecTgt` of any withdrawal in the DB), in one
    /// transaction.
    ///
    /// `restart`: an unfinished run is not resumed but replaced, its tSafe a floor of the new
    /// one. For a DB restored from a backup taken while a run was unfinished: that run's tSafe
    /// knows nothing of the requests made after it finished.
    pub async fn begin_db_recovery(
        &self,
        t_safe_floor: Timestamp,
        reason: &str,
        restart: bool,
    ) -> Result<DbRecovery> {
        let mut tx = self.pool.write().await?;
        let mut t_safe_floor = t_safe_floor;
        let mut recovered_since = Timestamp::from_micros(0).expect("the epoch");
        if let Some(run) = read(&mut tx).await? {
            // A finished run accounted for what was recovered before it ended; an unfinished
            // one being replaced had not, so its window stays open.
            recovered_since = run.finished_at.unwrap_or(run.recovered_since);
            if run.finished_at.is_none() && restart {
                t_safe_floor = t_safe_floor.max(run.t_safe);
            } else if run.finished_at.is_none() {
                // Switched on by hand meanwhile: off again, the run is not done.
                if crate::catalog::switch_in(&mut tx, Switch::Withdrawals)
                    .await?
                    .enabled
                {
                    crate::catalog::set_switch_in(&mut tx, Switch::Withdrawals, false, &run.reason)
                        .await?;
                    tx.commit().await?;
                }
                return Ok(run);
            }
        }
        let latest: Option<i64> = match tx
            .query("SELECT MAX(trec_tgt_us) AS latest FROM withdrawals")
            .fetch_optional()
            .await?
        {
            Some(row) => row.get("latest")?,
            None => None,
        };
        let t_safe = match latest.and_then(Timestamp::from_micros) {
            Some(latest) if latest > t_safe_floor => latest,
            _ => t_safe_floor,
        };
        let started = now();
        tx.query(
            "INSERT INTO db_recovery (singleton, t_safe_us, phase, reason, started_at_us,
                 finished_at_us, recovered_since_us)
             VALUES (1, $1, 'waiting', $2, $3, NULL, $4)
             ON CONFLICT (singleton) DO UPDATE SET t_safe_us = excluded.t_safe_us,
                 phase = excluded.phase, reason = excluded.reason,
                 started_at_us = excluded.started_at_us, finished_at_us = NULL,
                 recovered_since_us = excluded.recovered_since_us",
        )
        .bind(t_safe.micros())
        .bind(reason.to_owned())
        .bind(started.micros())
        .bind(recovered_since.micros())
        .execute()
        .await?;
        crate::catalog::set_switch_in(&mut tx, Switch::Withdrawals, false, reason).await?;
        operator_log::log(
            &mut tx,
            &OperatorNote {
                action: "recover db: started".into(),
                detail: format!("withdrawals disabled ({reason}); tSafe {t_safe}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(DbRecovery {
            t_safe,
            phase: "waiting".into(),
            reason: reason.to_owned(),
            started_at: started,
            finished_at: None,
            recovered_since,
        })
    }

    /// Records that ingestion has passed tSafe everywhere.
    pub async fn set_db_recovery_phase(&self, phase: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let changed = tx
            .query(
                "UPDATE db_recovery SET phase = $1 WHERE singleton = 1 AND finished_at_us IS NULL",
            )
            .bind(phase.to_owned())
            .execute()
            .await?;
        crate::db::expect_one(changed, || {
            StoreError::NotFound("an unfinished DB recovery".into())
        })?;
        tx.commit().await
    }

    /// Withdrawals ingestion re-created from the ledger (no request behind them) since `since`
    /// (a run's `recovered_since`).
    pub async fn recovered_withdrawals(&self, since: Timestamp) -> Result<Vec<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {} FROM withdrawals WHERE trec_tgt_us IS NULL AND purpose = 'customer'
                 AND created_at_us >= $1 ORDER BY created_at_us, withdrawal_id",
            withdrawals::COLUMNS
        );
        let rows = tx.query(&sql).bind(since.micros()).fetch_all().await?;
        rows.iter().map(withdrawals::from_row).collect()
    }

    /// Recovered withdrawals booked to suspense that no customer account bears yet: while any
    /// exists, its customer still shows the funds and could withdraw them again.
    pub async fn unattributed_withdrawals(&self) -> Result<Vec<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {} FROM withdrawals WHERE {UNATTRIBUTED} ORDER BY created_at_us, withdrawal_id",
            withdrawals::COLUMNS
        );
        let rows = tx.query(&sql).fetch_all().await?;
        rows.iter().map(withdrawals::from_row).collect()
    }

    /// Ends the run and switches withdrawals back on, refused while a recovered withdrawal is
    /// unattributed unless the operator accepts that risk (logged with the withdrawals'
    /// ids). One transaction: nothing is enabled if the check fails.
    pub async fn finish_db_recovery(&self, accept_unattributed_risk: bool) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let run = read(&mut tx)
            .await?
            .filter(|r| r.finished_at.is_none())
            .ok_or_else(|| StoreError::NotFound("an unfinished DB recovery".into()))?;
        let sql = format!("SELECT withdrawal_id FROM withdrawals WHERE {UNATTRIBUTED}");
        let open: Vec<String> = tx
            .query(&sql)
            .fetch_all()
            .await?
            .iter()
            .map(|r| r.get("withdrawal_id"))
            .collect::<Result<_>>()?;
        if !open.is_empty() {
            if !accept_unattributed_risk {
                return Err(StoreError::Invalid(format!(
                    "{} recovered withdrawal(s) sit in suspense unattributed ({}): attribute each to its account first",
                    open.len(),
                    open.join(", ")
                )));
            }
            operator_log::log(
                &mut tx,
                &OperatorNote {
                    action: "recover db: accepted unattributed withdrawals".into(),
                    detail: open.join(", "),
                },
            )
            .await?;
        }
        tx.query("UPDATE db_recovery SET phase = 'done', finished_at_us = $1 WHERE singleton = 1")
            .bind(now().micros())
            .execute()
            .await?;
        crate::catalog::set_switch_in(&mut tx, Switch::Withdrawals, true, "recover db finished")
            .await?;
        operator_log::log(
            &mut tx,
            &OperatorNote {
                action: "recover db: finished".into(),
                detail: format!("withdrawals enabled; tSafe was {}", run.t_safe),
            },
        )
        .await?;
        tx.commit().await
    }

    /// An operator switches withdrawals on or off, saying why; logged in the same transaction.
    /// Switching them on is refused while a `recover db` run is unfinished
    /// ([`StoreError::RecoveryUnfinished`]): only finishing it may, after its checks.
    pub async fn switch_withdrawals(&self, enabled: bool, reason: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        if enabled && let Some(run) = read(&mut tx).await?.filter(|r| r.finished_at.is_none()) {
            return Err(StoreError::RecoveryUnfinished(format!(
                "a `recover db` run (phase {}) is unfinished: finishing it switches withdrawals back on",
                run.phase
            )));
        }
        crate::catalog::set_switch_in(&mut tx, Switch::Withdrawals, enabled, reason).await?;
        let action = if enabled {
            "withdrawals enabled"
        } else {
            "withdrawals disabled"
        };
        operator_log::log(
            &mut tx,
            &OperatorNote {
                action: action.into(),
                detail: reason.to_owned(),
            },
        )
        .await?;
        tx.commit().await
    }

    /// Attributes a recovered withdrawal booked to suspense to `account`, in one transaction:
    /// its debit moves from suspense to the account (two journal entries), and the withdrawal
    /// records the account (so a later refund goes there). Refused for anything but an
    /// unattributed recovered withdrawal, or an unknown account.
    pub async fn attribute_withdrawal(
        &self,
        id: &WithdrawalId,
        account: &AccountId,
        suspense: &AccountId,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        // Locked (PostgreSQL) so that a refund ingestion is writing meanwhile is seen: once
        // refunded, the funds are back where they were and there is nothing to attribute.
        let w = withdrawals::load_for_update(&mut tx, id).await?;
        let refunded = tx
            .query("SELECT 1 AS x FROM journal WHERE cause_kind = 'withdrawal_refund' AND cause_ref = $1")
            .bind(id.as_str())
            .fetch_optional()
            .await?
            .is_some();
        let unattributed = w.purpose == WithdrawalPurpose::Customer
            && w.trec_tgt.is_none()
            && w.account.is_none()
            && w.duplicate_of.is_none()
            && !matches!(w.state, WithdrawalState::Failed | WithdrawalState::Expired)
            && !refunded;
        if !unattributed {
            return Err(StoreError::Invalid(format!(
                "withdrawal {id} is not a recovered withdrawal waiting in suspense"
            )));
        }
        let exists = tx
            .query("SELECT 1 AS x FROM accounts WHERE account_id = $1")
            .bind(account.as_str())
            .fetch_optional()
            .await?
            .is_some();
        if account == suspense || !exists {
            return Err(StoreError::NotFound(format!("customer account {account}")));
        }
        let moved = |to: &AccountId, amount: Amount| JournalEntry {
            account: to.clone(),
            instrument: w.instrument.clone(),
            amount,
            cause: JournalCause::Adjustment(format!("attribute {id} {to}")),
            origin: None,
        };
        accounts::book(&mut tx, &moved(suspense, w.amount)).await?;
        accounts::book(&mut tx, &moved(account, -w.amount)).await?;
        tx.query(
            "UPDATE withdrawals SET account_id = $1, updated_at_us = $2 WHERE withdrawal_id = $3",
        )
        .bind(account.as_str())
        .bind(now().micros())
        .bind(id.as_str())
        .execute()
        .await?;
        operator_log::log(
            &mut tx,
            &OperatorNote {
                action: "withdrawal attributed".into(),
                detail: format!("{id} ({} {}) to {account}", w.amount, w.instrument.id),
            },
        )
        .await?;
        tx.commit().await
    }
}
