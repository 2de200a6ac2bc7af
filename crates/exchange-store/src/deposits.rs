//! Deposits: credited ones, pending offers and those to unknown accounts.

use exchange_core::changeset::{Deposit, DepositId, DepositState, Origin};

use crate::Store;
use crate::db::{Row, Tx, expect_one};
use crate::error::{Result, StoreError};

/// A deposit and the ledger update that last changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositRecord {
    /// `origin` is the update that first recorded it; `state` is the current one.
    pub deposit: Deposit,
    pub updated: Origin,
}

pub(crate) const COLUMNS: &str =
    "deposit_id, state, account_id, instrument_admin, instrument_id, amount,
    sender, transfer_instruction_id, created_update_id, created_record_time_us,
    updated_update_id, updated_record_time_us";

pub(crate) fn from_row(row: &Row) -> Result<DepositRecord> {
    Ok(DepositRecord {
        deposit: Deposit {
            id: row.parse("deposit_id")?,
            account: row.opt_parse("account_id")?,
            instrument: row.instrument()?,
            amount: row.amount("amount")?,
            sender: row.party("sender")?,
            state: row.parse("state")?,
            transfer_instruction: row.opt_parse("transfer_instruction_id")?,
            origin: Origin {
                update_id: row.update("created_update_id")?,
                record_time: row.time("created_record_time_us")?,
            },
        },
        updated: Origin {
            update_id: row.update("updated_update_id")?,
            record_time: row.time("updated_record_time_us")?,
        },
    })
}

pub(crate) async fn update(
    tx: &mut Tx,
    id: &DepositId,
    state: DepositState,
    origin: &Origin,
) -> Result<()> {
    let sql = format!("SELECT {COLUMNS} FROM deposits WHERE deposit_id = $1");
    let row = tx.query(&sql).bind(id.as_str()).fetch_optional().await?;
    let current = row
        .as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("deposit {id}")))?
        .deposit;
    if !current.state.can_transition(state) {
        return Err(StoreError::InvalidTransition {
            what: format!("deposit {id}"),
            from: current.state.as_str(),
            to: state.as_str(),
        });
    }
    let changed = tx
        .query(
            "UPDATE deposits SET state = $2, updated_update_id = $3, updated_record_time_us = $4
             WHERE deposit_id = $1 AND state = $5",
        )
        .bind(id.as_str())
        .bind(state.as_str())
        .bind(origin.update_id.as_str())
        .bind(origin.record_time.micros())
        .bind(current.state.as_str())
        .execute()
        .await?;
    // The credit, if any, is an effect of its own (the journal's unique cause keeps it single).
    expect_one(changed, || {
        StoreError::Conflict(format!("deposit {id} changed concurrently"))
    })
}

impl Store {
    pub async fn deposit(&self, id: &DepositId) -> Result<Option<DepositRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!("SELECT {COLUMNS} FROM deposits WHERE deposit_id = $1");
        let row = tx.query(&sql).bind(id.as_str()).fetch_optional().await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Deposits in `state`, oldest first: `Offered` is the multi-step deposit automation's
    /// queue, `UnknownAccount` the support team's.
    pub async fn deposits_in_state(&self, state: DepositState) -> Result<Vec<DepositRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM deposits WHERE state = $1
             ORDER BY created_record_time_us, deposit_id"
        );
        let rows = tx.query(&sql).bind(state.as_str()).fetch_all().await?;
        rows.iter().map(from_row).collect()
    }
}
