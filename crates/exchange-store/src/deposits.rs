//! Deposits: credited ones, pending offers and those to unknown accounts.

use exchange_core::InstrumentId;
use exchange_core::changeset::{Deposit, DepositId, DepositState, Holding, Origin};
use exchange_core::held_back::HeldDeposit;

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
    updated_update_id, updated_record_time_us, held_back";

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
            held_back: crate::ingest::held_back_from(row)?,
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
    held_back: Option<String>,
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
            "UPDATE deposits SET state = $2, updated_update_id = $3, updated_record_time_us = $4,
                 held_back = $6
             WHERE deposit_id = $1 AND state = $5",
        )
        .bind(id.as_str())
        .bind(state.as_str())
        .bind(origin.update_id.as_str())
        .bind(origin.record_time.micros())
        .bind(current.state.as_str())
        .bind(held_back)
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

impl Store {
    /// What is held back of the `instruments` (held-back active holdings, unrecognized
    /// deposits with whether their account exists and their offer is still pending): what
    /// ingestion judges again once tokens are onboarded.
    pub async fn held_back_of(
        &self,
        instruments: &[InstrumentId],
    ) -> Result<(Vec<Holding>, Vec<HeldDeposit>)> {
        let wanted = |i: &InstrumentId| instruments.contains(i);
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {} FROM holdings WHERE held_back IS NOT NULL AND archived_update_id IS NULL
             ORDER BY contract_id",
            crate::holdings::COLUMNS
        );
        let mut holdings = Vec::new();
        for row in tx.query(&sql).fetch_all().await? {
            let record = crate::holdings::from_row(&row)?;
            if wanted(&record.holding.instrument) {
                holdings.push(record.holding);
            }
        }
        let sql = format!(
            "SELECT {COLUMNS},
                 EXISTS (SELECT 1 FROM accounts a WHERE a.account_id = deposits.account_id)
                     AS account_known,
                 EXISTS (SELECT 1 FROM transfer_instructions t
                         WHERE t.contract_id = deposits.transfer_instruction_id
                           AND t.state = 'pending') AS pending_offer
             FROM deposits WHERE state = 'unrecognized' ORDER BY deposit_id"
        );
        let mut deposits = Vec::new();
        for row in tx.query(&sql).fetch_all().await? {
            let record = from_row(&row)?;
            if wanted(&record.deposit.instrument) {
                deposits.push(HeldDeposit {
                    deposit: record.deposit,
                    pending_offer: row.get("pending_offer")?,
                    account_known: row.get("account_known")?,
                });
            }
        }
        Ok((holdings, deposits))
    }
}
