//! Work claims of the multi-step deposit automation (migration 0015), so that it keeps no state
//! of its own and several replicas can share the queue, as `claims` does for withdrawals. The
//! queue is every open offer: an incoming transfer instruction still pending, whose deposit is
//! `offered` (its memo is a known account) and whose instrument is onboarded. A replica claims
//! due offers for a while, makes one accept attempt at each and records how it ended, which frees
//! the claim; a replica that dies mid-attempt loses its claims when they time out. On PostgreSQL
//! a claim skips rows another replica is claiming (`FOR UPDATE SKIP LOCKED`).
//!
//! Nothing here decides a deposit's fate: ingestion credits an accepted offer and cancels a
//! withdrawn or expired one, and reads none of this table, so an `accept_failed` mark never
//! stands in its way. What keeps an offer from being accepted twice is the ledger: accepting
//! consumes the instruction.

use exchange_core::changeset::{AccountId, DepositId, TransferInstruction};
use exchange_core::{Amount, ContractId, InstrumentId, PartyId, Timestamp};

use crate::db::{Row, Tx};
use crate::error::{Result, StoreError};
use crate::{Store, instructions};

/// The automation's state for one offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptState {
    /// Being worked on (or waiting for its next attempt, or for ingestion to show the outcome).
    Accepting,
    /// The attempts ran out while the offer stayed pending: an operator's to look at.
    AcceptFailed,
}

impl AcceptState {
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptState::Accepting => "accepting",
            AcceptState::AcceptFailed => "accept_failed",
        }
    }

    fn parse(text: &str) -> Result<AcceptState> {
        match text {
            "accepting" => Ok(AcceptState::Accepting),
            "accept_failed" => Ok(AcceptState::AcceptFailed),
            other => Err(StoreError::Corrupt(format!(
                "deposit accept state {other:?}"
            ))),
        }
    }
}

/// An offer a replica claimed, with what an attempt needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedOffer {
    /// The pending transfer instruction, as ingestion recorded it.
    pub instruction: TransferInstruction,
    pub deposit: DepositId,
    pub account: AccountId,
    /// The onboarded token's Registry API.
    pub registry_url: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Attempts that reached `execute`.
    pub executions: u32,
}

/// What one claim handed out, and which offers it gave up on (now `accept_failed`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OfferClaims {
    pub offers: Vec<ClaimedOffer>,
    /// Each offer given up on, with its last error.
    pub gave_up: Vec<(ContractId, Option<String>)>,
}

/// How a replica claims offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferClaimRequest<'a> {
    pub worker: &'a str,
    pub now: Timestamp,
    /// The claim lapses after this long, so a dead replica's work goes to another.
    pub claim_micros: i64,
    pub limit: usize,
    /// Attempts per offer at most; an offer still open once the last one's retry time passed is
    /// marked `accept_failed`.
    pub max_attempts: u32,
}

/// How an accept attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptOutcome {
    /// The node accepted the signed transaction for sequencing.
    pub executed: bool,
    /// When to try again if the offer is still pending by then.
    pub retry_at: Timestamp,
    /// Why it did not go through, for operators (`None` clears the last one).
    pub error: Option<String>,
}

/// The automation's notes on one offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptRecord {
    pub instruction: ContractId,
    pub state: AcceptState,
    pub attempts: u32,
    pub executions: u32,
    pub last_error: Option<String>,
    pub updated_at: Timestamp,
}

/// An offer whose accept attempts ran out and that is still open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedAccept {
    pub record: AcceptRecord,
    pub deposit: DepositId,
    pub account: AccountId,
    pub sender: PartyId,
    pub instrument: InstrumentId,
    pub amount: Amount,
}

/// The open offers joined with their deposit and token; `i.contract_id` is the offer.
const OPEN_OFFERS: &str = "transfer_instructions i
    JOIN deposits d ON d.transfer_instruction_id = i.contract_id AND d.state = 'offered'
    JOIN tokens t ON t.instrument_admin = i.instrument_admin AND t.instrument_id = i.instrument_id
    WHERE i.direction = 'incoming' AND i.state = 'pending'";

const RECORD_COLUMNS: &str = "a.instruction_id, a.state, a.attempts, a.executions, a.last_error,
    a.updated_at_us";

fn count(row: &Row, column: &str) -> Result<u32> {
    let n: i64 = row.get(column)?;
    u32::try_from(n).map_err(|_| StoreError::Corrupt(format!("{column} = {n}")))
}

fn record_from_row(row: &Row) -> Result<AcceptRecord> {
    Ok(AcceptRecord {
        instruction: row.contract("instruction_id")?,
        state: AcceptState::parse(&row.get::<String>("state")?)?,
        attempts: count(row, "attempts")?,
        executions: count(row, "executions")?,
        last_error: row.get("last_error")?,
        updated_at: row.time("updated_at_us")?,
    })
}

/// Starts bookkeeping for open offers not seen before.
async fn enqueue_new(tx: &mut Tx, now: Timestamp) -> Result<()> {
    let sql = format!(
        "INSERT INTO deposit_accepts (instruction_id, state, created_at_us, updated_at_us)
         SELECT i.contract_id, 'accepting', $1, $1 FROM {OPEN_OFFERS}
           AND NOT EXISTS (SELECT 1 FROM deposit_accepts x WHERE x.instruction_id = i.contract_id)
         ON CONFLICT (instruction_id) DO NOTHING"
    );
    tx.query(&sql).bind(now.micros()).execute().await?;
    Ok(())
}

/// Offers still open after their last attempt's retry time become `accept_failed`.
async fn give_up_exhausted(
    tx: &mut Tx,
    request: &OfferClaimRequest<'_>,
) -> Result<Vec<(ContractId, Option<String>)>> {
    let sql = format!(
        "UPDATE deposit_accepts SET state = 'accept_failed', updated_at_us = $1,
             last_error = COALESCE(last_error,
                 'executed, but the ledger showed no outcome before the outcome timeout')
         WHERE state = 'accepting' AND attempts >= $2 AND next_attempt_us <= $1
           AND COALESCE(claimed_until_us, 0) <= $1
           AND EXISTS (SELECT 1 FROM {OPEN_OFFERS}
                       AND i.contract_id = deposit_accepts.instruction_id)
         RETURNING instruction_id, last_error"
    );
    let rows = tx
        .query(&sql)
        .bind(request.now.micros())
        .bind(i64::from(request.max_attempts))
        .fetch_all()
        .await?;
    let mut gave_up = rows
        .iter()
        .map(|row| Ok((row.contract("instruction_id")?, row.get("last_error")?)))
        .collect::<Result<Vec<_>>>()?;
    gave_up.sort();
    Ok(gave_up)
}

async fn claim_rows(
    tx: &mut Tx,
    request: &OfferClaimRequest<'_>,
) -> Result<Vec<(String, u32, u32)>> {
    let (skip_locked, until) = crate::claims::claim_terms(tx, request.now, request.claim_micros)?;
    let sql = format!(
        "UPDATE deposit_accepts SET claimed_by = $1, claimed_until_us = $2,
             attempts = attempts + 1, updated_at_us = $3
         WHERE instruction_id IN (
             SELECT instruction_id FROM deposit_accepts
             WHERE state = 'accepting' AND attempts < $4 AND next_attempt_us <= $3
               AND COALESCE(claimed_until_us, 0) <= $3
               AND EXISTS (SELECT 1 FROM {OPEN_OFFERS}
                           AND i.contract_id = deposit_accepts.instruction_id)
             ORDER BY next_attempt_us, instruction_id
             LIMIT $5 {skip_locked})
         RETURNING instruction_id, attempts, executions"
    );
    let rows = tx
        .query(&sql)
        .bind(request.worker)
        .bind(until.micros())
        .bind(request.now.micros())
        .bind(i64::from(request.max_attempts))
        .bind(i64::try_from(request.limit).unwrap_or(i64::MAX))
        .fetch_all()
        .await?;
    let mut claimed = rows
        .iter()
        .map(|row| {
            Ok((
                row.get::<String>("instruction_id")?,
                count(row, "attempts")?,
                count(row, "executions")?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    claimed.sort();
    Ok(claimed)
}

/// The offer, its deposit and token, as a claim hands them out.
async fn offer(tx: &mut Tx, id: &str, attempts: u32, executions: u32) -> Result<ClaimedOffer> {
    let sql = format!(
        "SELECT i.contract_id, i.direction, i.state, i.sender, i.receiver, i.instrument_admin,
             i.instrument_id, i.amount, i.reason, i.created_update_id, i.created_record_time_us,
             i.updated_update_id, i.updated_record_time_us, i.execute_before_us,
             i.synchronizer_id, i.read_from, d.deposit_id, d.account_id, t.registry_url
         FROM {OPEN_OFFERS} AND i.contract_id = $1"
    );
    let row = tx
        .query(&sql)
        .bind(id)
        .fetch_optional()
        .await?
        .ok_or_else(|| StoreError::Corrupt(format!("claimed offer {id} is not open")))?;
    Ok(ClaimedOffer {
        instruction: instructions::from_row(&row)?,
        deposit: row.parse("deposit_id")?,
        account: row.parse("account_id")?,
        registry_url: row.get("registry_url")?,
        attempts,
        executions,
    })
}

impl Store {
    /// Claims up to `limit` due open offers for `worker` (see the module docs), first marking
    /// `accept_failed` those whose attempts ran out.
    pub async fn claim_deposit_offers(
        &self,
        request: &OfferClaimRequest<'_>,
    ) -> Result<OfferClaims> {
        crate::error::retrying(|| self.claim_deposit_offers_once(request)).await
    }

    async fn claim_deposit_offers_once(
        &self,
        request: &OfferClaimRequest<'_>,
    ) -> Result<OfferClaims> {
        let mut tx = self.pool.write().await?;
        enqueue_new(&mut tx, request.now).await?;
        let gave_up = give_up_exhausted(&mut tx, request).await?;
        let rows = claim_rows(&mut tx, request).await?;
        let mut offers = Vec::with_capacity(rows.len());
        for (id, attempts, executions) in rows {
            offers.push(offer(&mut tx, &id, attempts, executions).await?);
        }
        tx.commit().await?;
        Ok(OfferClaims { offers, gave_up })
    }

    /// Records how `worker`'s accept attempt on `instruction` ended and frees the claim.
    /// Refused with [`StoreError::Conflict`] if the claim lapsed and another replica holds it.
    pub async fn finish_deposit_accept(
        &self,
        instruction: &ContractId,
        worker: &str,
        outcome: &AcceptOutcome,
    ) -> Result<()> {
        crate::error::retrying(|| async {
            let mut tx = self.pool.write().await?;
            let changed = tx
                .query(
                    "UPDATE deposit_accepts SET claimed_by = NULL, claimed_until_us = NULL,
                         next_attempt_us = $3, last_error = $4, executions = executions + $5,
                         updated_at_us = $6
                     WHERE instruction_id = $1 AND claimed_by = $2",
                )
                .bind(instruction.as_str())
                .bind(worker)
                .bind(outcome.retry_at.micros())
                .bind(outcome.error.clone())
                .bind(i64::from(outcome.executed))
                .bind(crate::now().micros())
                .execute()
                .await?;
            if changed != 1 {
                return Err(StoreError::Conflict(format!(
                    "deposit offer {instruction} is no longer claimed by {worker}"
                )));
            }
            tx.commit().await
        })
        .await
    }

    /// The automation's notes on one offer, if it ever worked on it.
    pub async fn deposit_accept(&self, instruction: &ContractId) -> Result<Option<AcceptRecord>> {
        let mut tx = self.pool.read().await?;
        let sql =
            format!("SELECT {RECORD_COLUMNS} FROM deposit_accepts a WHERE a.instruction_id = $1");
        let row = tx
            .query(&sql)
            .bind(instruction.as_str())
            .fetch_optional()
            .await?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Offers still open whose accept attempts ran out, oldest first: for operators. One that
    /// ingestion settled since (accepted elsewhere, withdrawn, expired) is no longer listed.
    pub async fn failed_deposit_accepts(&self) -> Result<Vec<FailedAccept>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {RECORD_COLUMNS}, d.deposit_id, d.account_id, i.sender, i.instrument_admin,
                 i.instrument_id, i.amount
             FROM deposit_accepts a, {OPEN_OFFERS}
               AND i.contract_id = a.instruction_id AND a.state = 'accept_failed'
             ORDER BY a.updated_at_us, a.instruction_id"
        );
        let rows = tx.query(&sql).fetch_all().await?;
        rows.iter()
            .map(|row| {
                Ok(FailedAccept {
                    record: record_from_row(row)?,
                    deposit: row.parse("deposit_id")?,
                    account: row.parse("account_id")?,
                    sender: row.party("sender")?,
                    instrument: row.instrument()?,
                    amount: row.amount("amount")?,
                })
            })
            .collect()
    }

    /// Open offers the automation may still act on (not `accept_failed`). Zero means it is idle.
    pub async fn deposit_offers_in_progress(&self) -> Result<u64> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {OPEN_OFFERS} AND NOT EXISTS (
                 SELECT 1 FROM deposit_accepts a
                 WHERE a.instruction_id = i.contract_id AND a.state = 'accept_failed')"
        );
        let n: i64 = match tx.query(&sql).fetch_optional().await? {
            Some(row) => row.get("n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// An operator's retry of an `accept_failed` offer that is still open: its attempts start
    /// over.
    pub async fn retry_deposit_accept(&self, instruction: &ContractId) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let sql = format!(
            "UPDATE deposit_accepts SET state = 'accepting', attempts = 0, next_attempt_us = 0,
                 updated_at_us = $2
             WHERE instruction_id = $1 AND state = 'accept_failed'
               AND EXISTS (SELECT 1 FROM {OPEN_OFFERS}
                           AND i.contract_id = deposit_accepts.instruction_id)"
        );
        let changed = tx
            .query(&sql)
            .bind(instruction.as_str())
            .bind(crate::now().micros())
            .execute()
            .await?;
        if changed != 1 {
            return Err(StoreError::NotFound(format!(
                "open deposit offer {instruction} in accept_failed"
            )));
        }
        tx.commit().await
    }
}
