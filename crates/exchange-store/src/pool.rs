//! The holding pool's side of the DB: the holdings the pool job plans with
//! ([`Store::pool_candidates`]) and the self-transfers it places ([`Store::place_pool_transfer`]),
//! recorded as withdrawals without an account so that the withdrawal automation carries them
//! out unchanged and ingestion completes or expires them like any other.

use std::collections::{BTreeSet, HashMap};

use exchange_core::pool::{POOL_ID_PREFIX, PoolOrder};
use exchange_core::selection::Candidate;
use exchange_core::withdrawal::{WithdrawalPurpose, WithdrawalState};
use exchange_core::{Amount, InstrumentId, Timestamp};

use crate::db::{Num, Tx};
use crate::error::{Result, StoreError};
use crate::holdings::{self, HoldingRecord};
use crate::withdrawals::{self, Withdrawal};
use crate::{Store, now};

fn candidate(record: HoldingRecord) -> Candidate {
    Candidate {
        contract_id: record.holding.contract_id,
        amount: record.holding.amount,
        lock: record.holding.lock,
        reserved: record.reserved_by.is_some(),
    }
}

/// Refuses an order that cannot be a pool transfer, before the DB is touched.
fn check_order(order: &PoolOrder) -> Result<()> {
    let t = &order.transfer;
    let invalid = |why: String| {
        Err(StoreError::Invalid(format!(
            "pool transfer {}: {why}",
            order.id
        )))
    };
    if !order.id.as_str().starts_with(POOL_ID_PREFIX) {
        return invalid(format!("its id must start with {POOL_ID_PREFIX:?}"));
    }
    if order.ttl_micros <= 0 {
        return invalid(format!("non-positive ttl ({} µs)", order.ttl_micros));
    }
    if !t.amount.is_positive() || t.amount > t.total {
        return invalid(format!(
            "its amount {} must be positive and at most its inputs' total {}",
            t.amount, t.total
        ));
    }
    let distinct: BTreeSet<_> = t.inputs.iter().collect();
    if t.inputs.is_empty() || distinct.len() != t.inputs.len() {
        return invalid("it needs distinct inputs".to_owned());
    }
    Ok(())
}

/// Checks, on rows locked for this transaction, that every planned input is still an active,
/// free, unlocked holding of the instrument and that they add up to the planned total: the
/// plan was made from an earlier read, and a withdrawal may have reserved an input since.
async fn check_inputs(tx: &mut Tx, order: &PoolOrder, at: Timestamp) -> Result<()> {
    let held: HashMap<_, Candidate> = holdings::candidates_for_update(tx, &order.instrument)
        .await?
        .into_iter()
        .map(candidate)
        .map(|c| (c.contract_id.clone(), c))
        .collect();
    let mut total = 0_i128;
    for id in &order.transfer.inputs {
        let why = match held.get(id) {
            None => "no longer an active holding of the instrument",
            Some(c) if c.reserved => "reserved by a withdrawal since the plan",
            Some(c) if c.is_locked_at(at) => "locked",
            Some(c) => {
                total += c.amount.units();
                continue;
            }
        };
        return Err(StoreError::Conflict(format!(
            "pool transfer {}: input {id} is {why}",
            order.id
        )));
    }
    if total != order.transfer.total.units() {
        return Err(StoreError::Invalid(format!(
            "pool transfer {}: its inputs add up to {}, not the planned {}",
            order.id,
            Amount::from_units(total).unwrap_or(Amount::MAX),
            order.transfer.total
        )));
    }
    Ok(())
}

impl Store {
    /// The active holdings of `instrument` (its issuer's), with whether a withdrawal reserves them: what
    /// `exchange_core::pool::plan` plans with.
    pub async fn pool_candidates(&self, instrument: &InstrumentId) -> Result<Vec<Candidate>> {
        let records = self.active_holdings(instrument).await?;
        Ok(records
            .into_iter()
            .filter(|r| r.holding.recognized())
            .map(candidate)
            .collect())
    }

    /// Places one planned pool self-transfer in one transaction: refuses unless withdrawals
    /// are enabled and every input is still active, free and unlocked (locked for the
    /// transaction, so no withdrawal can take one meanwhile); records it as a `requested`
    /// withdrawal of `transfer.amount` to the treasury, with no account (so no debit) and
    /// `trecTgt = now + ttl`, and reserves its inputs.
    pub async fn place_pool_transfer(&self, order: &PoolOrder) -> Result<Withdrawal> {
        crate::error::retrying(|| self.place_pool_transfer_once(order)).await
    }

    async fn place_pool_transfer_once(&self, order: &PoolOrder) -> Result<Withdrawal> {
        check_order(order)?;
        let mut tx = self.pool.write().await?;
        withdrawals::check_enabled(&mut tx).await?;
        let at = now();
        let trec_tgt = at.checked_add_micros(order.ttl_micros).ok_or_else(|| {
            StoreError::Invalid(format!("ttl {} µs is too long", order.ttl_micros))
        })?;
        check_inputs(&mut tx, order, at).await?;
        tx.query(
            "INSERT INTO withdrawals (withdrawal_id, state, account_id, instrument_admin,
                                      instrument_id, amount, receiver, trec_tgt_us,
                                      synchronizer_id, created_at_us, updated_at_us, purpose)
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, $9, $10)",
        )
        .bind(order.id.as_str())
        .bind(WithdrawalState::Requested.as_str())
        .bind(order.instrument.admin.as_str())
        .bind(order.instrument.id.as_str())
        .bind(Num(order.transfer.amount))
        .bind(order.treasury.as_str())
        .bind(trec_tgt.micros())
        .bind(order.synchronizer.as_ref().map(|s| s.as_str()))
        .bind(at.micros())
        .bind(WithdrawalPurpose::Pool.as_str())
        .execute()
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("withdrawal {} already exists", order.id))
            }
            other => other,
        })?;
        for input in &order.transfer.inputs {
            holdings::reserve_selected(&mut tx, input, &order.id).await?;
        }
        let placed = withdrawals::load(&mut tx, &order.id).await?;
        tx.commit().await?;
        Ok(placed)
    }
}
