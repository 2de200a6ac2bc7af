//! Work claims of the withdrawal automation (migration 0009), so that it keeps no state of its
//! own and several replicas can share the queue: a replica claims due withdrawals for a while,
//! acts on each, and records how the attempt ended, which frees the claim. A replica that dies
//! mid-attempt loses its claims when they time out. On PostgreSQL the claim skips rows another
//! replica is claiming (`FOR UPDATE SKIP LOCKED`); SQLite has one writer, and so one replica.
//!
//! Claims only schedule work. What keeps a withdrawal from being paid twice is the ledger: every
//! attempt spends the same reserved inputs, so at most one transfer can commit.

use exchange_core::changeset::ChangeSet;
use exchange_core::ingest::transition_effects;
use exchange_core::withdrawal::{WithdrawalId, WithdrawalState, WithdrawalTransition};
use exchange_core::{ContractId, Timestamp};

use crate::db::{Backend, Row, Tx};
use crate::error::{Result, StoreError};
use crate::withdrawals::{COLUMNS, Withdrawal, from_row};
use crate::{Store, ingest, known};

/// A withdrawal a replica claimed, with what an attempt needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    pub withdrawal: Withdrawal,
    /// The active holdings reserved for it: exactly these are its transfer's inputs.
    pub inputs: Vec<ContractId>,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts that reached `execute` (the node accepted a signed transaction).
    pub executions: u32,
}

/// How an attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// The node accepted the signed transaction for sequencing: a `requested` withdrawal becomes
    /// `submitted` (ingestion may already have moved it further; then nothing changes).
    pub executed: bool,
    /// When to try again if the ledger has not settled it by then.
    pub retry_at: Timestamp,
    /// Why it did not go through, for operators (`None` clears the last one).
    pub error: Option<String>,
    /// With an execution: the `executeBefore` it was signed with. The latest one is kept, so
    /// an offer is judged expired only once every execution's bound has passed.
    pub execute_before: Option<Timestamp>,
}

/// How a replica claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimRequest<'a> {
    pub worker: &'a str,
    pub now: Timestamp,
    /// The claim lapses after this long, so a dead replica's work goes to another.
    pub claim_micros: i64,
    pub limit: usize,
}

/// What every claim query needs: the row-lock clause that lets replicas pass over each
/// other's rows (PostgreSQL; SQLite's write transaction holds the whole DB), and until when a
/// claim made `now` holds.
pub(crate) fn claim_terms(
    tx: &Tx,
    now: Timestamp,
    claim_micros: i64,
) -> Result<(&'static str, Timestamp)> {
    let skip_locked = match tx.backend() {
        Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let until = now
        .checked_add_micros(claim_micros)
        .ok_or_else(|| StoreError::Invalid("claim timeout too long".into()))?;
    Ok((skip_locked, until))
}

async fn claim_rows(
    tx: &mut Tx,
    request: &ClaimRequest<'_>,
) -> Result<Vec<(Withdrawal, u32, u32)>> {
    let (skip_locked, until) = claim_terms(tx, request.now, request.claim_micros)?;
    // Due: in flight, before its target record time (after it, no transfer can commit and
    // ingestion expires it), not asked to wait, and not claimed by a live replica.
    let sql = format!(
        "UPDATE withdrawals SET claimed_by = $1, claimed_until_us = $2, attempts = attempts + 1
         WHERE withdrawal_id IN (
             SELECT withdrawal_id FROM withdrawals
             WHERE state IN ($3, $4) AND trec_tgt_us > $5
               AND COALESCE(next_attempt_us, 0) <= $5
               AND COALESCE(claimed_until_us, 0) <= $5
             ORDER BY created_at_us, withdrawal_id
             LIMIT $6 {skip_locked})
         RETURNING {COLUMNS}, attempts, executions"
    );
    let rows = tx
        .query(&sql)
        .bind(request.worker)
        .bind(until.micros())
        .bind(WithdrawalState::Requested.as_str())
        .bind(WithdrawalState::Submitted.as_str())
        .bind(request.now.micros())
        .bind(i64::try_from(request.limit).unwrap_or(i64::MAX))
        .fetch_all()
        .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok((
                from_row(row)?,
                count(row, "attempts")?,
                count(row, "executions")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort_by(|(a, ..), (b, ..)| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(claimed)
}

fn count(row: &Row, column: &str) -> Result<u32> {
    let n: i64 = row.get(column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} = {n}")))
}

async fn reserved_inputs(tx: &mut Tx, id: &WithdrawalId) -> Result<Vec<ContractId>> {
    let rows = tx
        .query(
            "SELECT contract_id FROM holdings
             WHERE reserved_by = $1 AND archived_update_id IS NULL ORDER BY contract_id",
        )
        .bind(id.as_str())
        .fetch_all()
        .await?;
    rows.iter().map(|row| row.contract("contract_id")).collect()
}

impl Store {
    /// Claims up to `limit` due withdrawals for `worker` (see the module docs), oldest first,
    /// each with its reserved inputs.
    pub async fn claim_withdrawals(&self, request: &ClaimRequest<'_>) -> Result<Vec<Claimed>> {
        crate::error::retrying(|| self.claim_withdrawals_once(request)).await
    }

    async fn claim_withdrawals_once(&self, request: &ClaimRequest<'_>) -> Result<Vec<Claimed>> {
        let mut tx = self.pool.write().await?;
        let rows = claim_rows(&mut tx, request).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for (withdrawal, attempts, executions) in rows {
            let inputs = reserved_inputs(&mut tx, &withdrawal.id).await?;
            claimed.push(Claimed {
                withdrawal,
                inputs,
                attempts,
                executions,
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records how `worker`'s attempt on `id` ended and frees the claim. An execution moves a
    /// `requested` withdrawal to `submitted` in the same transaction (core's transition rule; a
    /// withdrawal ingestion already settled stays as it is). Refused with
    /// [`StoreError::Conflict`] if the claim lapsed and another replica holds it now: its
    /// bookkeeping wins, and the ledger keeps the two attempts from both paying.
    pub async fn finish_attempt(
        &self,
        id: &WithdrawalId,
        worker: &str,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        crate::error::retrying(|| self.finish_attempt_once(id, worker, outcome)).await
    }

    async fn finish_attempt_once(
        &self,
        id: &WithdrawalId,
        worker: &str,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let changed = tx
            .query(
                "UPDATE withdrawals SET claimed_by = NULL, claimed_until_us = NULL,
                     next_attempt_us = $3, last_error = $4, executions = executions + $5,
                     execute_before_us = CASE
                         WHEN $6 IS NOT NULL AND (execute_before_us IS NULL OR execute_before_us < $6)
                         THEN $6 ELSE execute_before_us END
                 WHERE withdrawal_id = $1 AND claimed_by = $2",
            )
            .bind(id.as_str())
            .bind(worker)
            .bind(outcome.retry_at.micros())
            .bind(outcome.error.clone())
            .bind(i64::from(outcome.executed))
            .bind(outcome.execute_before.map(Timestamp::micros))
            .execute()
            .await?;
        if changed != 1 {
            return Err(StoreError::Conflict(format!(
                "withdrawal {id} is no longer claimed by {worker}"
            )));
        }
        if outcome.executed {
            let current = known::known_withdrawal(&mut tx, id).await?;
            if current.state == WithdrawalState::Requested {
                let submitted = WithdrawalTransition {
                    id: id.clone(),
                    to: WithdrawalState::Submitted,
                    reason: None,
                    origin: None,
                    transfer_instruction: None,
                };
                let effects = transition_effects(&current, submitted)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                let changes = ChangeSet {
                    effects,
                    ..ChangeSet::default()
                };
                ingest::apply(&mut tx, &changes).await?;
            }
        }
        tx.commit().await
    }

    /// Withdrawals the automation may still act on at `now`: in flight (`requested`,
    /// `submitted`) before their target record time. Zero means it is idle; what remains waits
    /// on the ledger (offers on their receivers, expiries on ingestion).
    pub async fn withdrawals_in_progress(&self, now: Timestamp) -> Result<u64> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query(
                "SELECT COUNT(*) AS n FROM withdrawals WHERE state IN ($1, $2) AND trec_tgt_us > $3",
            )
            .bind(WithdrawalState::Requested.as_str())
            .bind(WithdrawalState::Submitted.as_str())
            .bind(now.micros())
            .fetch_optional()
            .await?;
        let n: i64 = match row {
            Some(row) => row.get("n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// The automation's notes on a withdrawal: attempts, executions and the last error.
    pub async fn attempt_notes(&self, id: &WithdrawalId) -> Result<(u32, u32, Option<String>)> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query(
                "SELECT attempts, executions, last_error FROM withdrawals WHERE withdrawal_id = $1",
            )
            .bind(id.as_str())
            .fetch_optional()
            .await?
            .ok_or_else(|| StoreError::UnknownWithdrawal(id.clone()))?;
        Ok((
            count(&row, "attempts")?,
            count(&row, "executions")?,
            row.get("last_error")?,
        ))
    }
}
