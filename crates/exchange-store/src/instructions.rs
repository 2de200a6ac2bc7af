//! Token-standard transfer instructions (transfer offers) in both directions.

use exchange_core::changeset::{
    Direction, InstructionState, OfferExpiry, Origin, TransferInstruction,
};
use exchange_core::{ContractId, SynchronizerId};

use crate::Store;
use crate::db::{Num, Row, Tx};
use crate::error::{Result, StoreError};

pub(crate) const COLUMNS: &str =
    "contract_id, direction, state, sender, receiver, instrument_admin,
    instrument_id, amount, reason, created_update_id, created_record_time_us, updated_update_id,
    updated_record_time_us, execute_before_us, synchronizer_id, read_from";

/// The instruction as last updated; `origin` is the update that last changed it.
pub(crate) fn from_row(row: &Row) -> Result<TransferInstruction> {
    Ok(TransferInstruction {
        contract_id: row.contract("contract_id")?,
        direction: row.parse("direction")?,
        sender: row.party("sender")?,
        receiver: row.party("receiver")?,
        instrument: row.instrument()?,
        amount: row.amount("amount")?,
        reason: row.get("reason")?,
        state: row.parse("state")?,
        origin: Origin {
            update_id: row.update("updated_update_id")?,
            record_time: row.time("updated_record_time_us")?,
        },
        expiry: match (
            row.opt_time("execute_before_us")?,
            row.get::<Option<String>>("synchronizer_id")?,
        ) {
            (Some(execute_before), Some(sync)) => Some(OfferExpiry {
                execute_before,
                synchronizer: SynchronizerId::new(&sync)
                    .map_err(|e| StoreError::Corrupt(format!("synchronizer_id {sync:?}: {e}")))?,
            }),
            _ => None,
        },
        read_from: row.parse("read_from")?,
    })
}

/// Inserts a new instruction or moves a known one to its new state; the terms of an
/// instruction never change, so only the state and the updating origin are overwritten.
pub(crate) async fn upsert(tx: &mut Tx, i: &TransferInstruction) -> Result<()> {
    tx.query(
        "INSERT INTO transfer_instructions (contract_id, direction, state, sender, receiver,
             instrument_admin, instrument_id, amount, reason, created_update_id,
             created_record_time_us, updated_update_id, updated_record_time_us,
             execute_before_us, synchronizer_id, read_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10, $11, $12, $13, $14)
         ON CONFLICT (contract_id) DO UPDATE SET
             state = excluded.state,
             updated_update_id = excluded.updated_update_id,
             updated_record_time_us = excluded.updated_record_time_us",
    )
    .bind(i.contract_id.as_str())
    .bind(i.direction.as_str())
    .bind(i.state.as_str())
    .bind(i.sender.as_str())
    .bind(i.receiver.as_str())
    .bind(i.instrument.admin.as_str())
    .bind(i.instrument.id.as_str())
    .bind(Num(i.amount))
    .bind(i.reason.clone())
    .bind(i.origin.update_id.as_str())
    .bind(i.origin.record_time.micros())
    .bind(i.expiry.as_ref().map(|e| e.execute_before.micros()))
    .bind(i.expiry.as_ref().map(|e| e.synchronizer.to_string()))
    .bind(i.read_from.as_str())
    .execute()
    .await?;
    Ok(())
}

/// Incoming offers still pending whose `executeBefore` is at or before `before`.
pub(crate) async fn incoming_pending_due(
    tx: &mut Tx,
    before: i64,
) -> Result<Vec<TransferInstruction>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM transfer_instructions
         WHERE state = 'pending' AND direction = 'incoming' AND execute_before_us <= $1"
    );
    let rows = tx.query(&sql).bind(before).fetch_all().await?;
    rows.iter().map(from_row).collect()
}

impl Store {
    pub async fn transfer_instruction(
        &self,
        contract_id: &ContractId,
    ) -> Result<Option<TransferInstruction>> {
        let mut tx = self.pool.read().await?;
        let sql = format!("SELECT {COLUMNS} FROM transfer_instructions WHERE contract_id = $1");
        let row = tx
            .query(&sql)
            .bind(contract_id.as_str())
            .fetch_optional()
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Instructions of one direction in one state, oldest first.
    pub async fn transfer_instructions(
        &self,
        direction: Direction,
        state: InstructionState,
    ) -> Result<Vec<TransferInstruction>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM transfer_instructions WHERE direction = $1 AND state = $2
             ORDER BY created_record_time_us, contract_id"
        );
        let rows = tx
            .query(&sql)
            .bind(direction.as_str())
            .bind(state.as_str())
            .fetch_all()
            .await?;
        rows.iter().map(from_row).collect()
    }
}
