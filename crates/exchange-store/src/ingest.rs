//! The ingestion write path (checkpoint + effects in one transaction) and the checkpoint reads.

use std::collections::BTreeMap;

use exchange_core::changeset::{ChangeSet, Checkpoint, Effect, IngestedUpdate};
use exchange_core::{Offset, SynchronizerId, Timestamp, UpdateId};

use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::{Store, deposits, holdings, instructions, withdrawals};

const UPSERT_CHECKPOINT: &str = "
    INSERT INTO checkpoint (id, ledger_offset, last_update_id, last_update_offset,
                            last_record_time_us, last_synchronizer_id)
    VALUES (1, $1, $2, $3, $4, $5)
    ON CONFLICT (id) DO UPDATE SET
        ledger_offset        = excluded.ledger_offset,
        last_update_id       = COALESCE(excluded.last_update_id, checkpoint.last_update_id),
        last_update_offset   = COALESCE(excluded.last_update_offset, checkpoint.last_update_offset),
        last_record_time_us  = COALESCE(excluded.last_record_time_us, checkpoint.last_record_time_us),
        last_synchronizer_id = COALESCE(excluded.last_synchronizer_id, checkpoint.last_synchronizer_id)";

/// Moves the checkpoint to `checkpoint`, only forward: the guard is in the SQL so that two
/// writers cannot both advance from the same place.
pub(crate) async fn advance_checkpoint(tx: &mut Tx, checkpoint: &Checkpoint) -> Result<()> {
    let sql =
        format!("{UPSERT_CHECKPOINT} WHERE checkpoint.ledger_offset < excluded.ledger_offset");
    if bind_checkpoint(tx, &sql, checkpoint).await? == 1 {
        return Ok(());
    }
    let stored = read_checkpoint(tx)
        .await?
        .map_or(Offset::BEGIN, |c| c.offset);
    Err(StoreError::CheckpointRegression {
        stored,
        attempted: checkpoint.offset,
    })
}

/// Sets the checkpoint unconditionally (operator rewind).
pub(crate) async fn set_checkpoint(tx: &mut Tx, checkpoint: &Checkpoint) -> Result<()> {
    bind_checkpoint(tx, UPSERT_CHECKPOINT, checkpoint).await?;
    Ok(())
}

async fn bind_checkpoint(tx: &mut Tx, sql: &str, checkpoint: &Checkpoint) -> Result<u64> {
    let last = checkpoint.last_update.as_ref();
    tx.query(sql)
        .bind(checkpoint.offset.get())
        .bind(last.map(|u| u.update_id.to_string()))
        .bind(last.map(|u| u.offset.get()))
        .bind(last.map(|u| u.record_time.micros()))
        .bind(last.map(|u| u.synchronizer_id.to_string()))
        .execute()
        .await
}

/// Writes the effects of a batch, in order.
pub(crate) async fn apply(tx: &mut Tx, changes: &ChangeSet) -> Result<()> {
    for update in &changes.ingested {
        record_ingested(tx, update).await?;
    }
    for (synchronizer, time) in &changes.record_times {
        // Only ever forward: an older time (e.g. from a replayed offset checkpoint) is ignored.
        tx.query(
            "INSERT INTO synchronizer_record_times (synchronizer_id, record_time_us)
             VALUES ($1, $2)
             ON CONFLICT (synchronizer_id) DO UPDATE SET record_time_us = excluded.record_time_us
             WHERE synchronizer_record_times.record_time_us < excluded.record_time_us",
        )
        .bind(synchronizer.as_str())
        .bind(time.micros())
        .execute()
        .await?;
    }
    for effect in &changes.effects {
        match effect {
            Effect::HoldingCreated(holding) => holdings::insert(tx, holding).await?,
            Effect::HoldingArchived {
                contract_id,
                archived,
            } => holdings::archive(tx, contract_id, archived).await?,
            Effect::DepositRecorded(deposit) => deposits::insert(tx, deposit).await?,
            Effect::DepositUpdated { id, state, origin } => {
                deposits::update(tx, id, *state, origin).await?
            }
            Effect::Journal(entry) => crate::accounts::book(tx, entry).await?,
            Effect::Withdrawal(transition) => withdrawals::transition(tx, transition).await?,
            Effect::WithdrawalRecovered(recovered) => {
                withdrawals::insert_recovered(tx, recovered).await?
            }
            Effect::TransferInstruction(instruction) => {
                instructions::upsert(tx, instruction).await?
            }
        }
    }
    Ok(())
}

async fn record_ingested(tx: &mut Tx, update: &IngestedUpdate) -> Result<()> {
    let inserted = tx
        .query(
            "INSERT INTO ingested_updates (update_id, ledger_offset, record_time_us, synchronizer_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING",
        )
        .bind(update.update_id.as_str())
        .bind(update.offset.get())
        .bind(update.record_time.micros())
        .bind(update.synchronizer_id.as_str())
        .execute()
        .await?;
    if inserted == 0 {
        return Err(StoreError::Conflict(format!(
            "update {} is already ingested",
            update.update_id
        )));
    }
    Ok(())
}

async fn read_checkpoint(tx: &mut Tx) -> Result<Option<Checkpoint>> {
    let Some(row) = tx
        .query(
            "SELECT ledger_offset, last_update_id, last_update_offset, last_record_time_us,
                    last_synchronizer_id
             FROM checkpoint WHERE id = 1",
        )
        .fetch_optional()
        .await?
    else {
        return Ok(None);
    };
    let offset = |column: &str| -> Result<Offset> {
        let value: i64 = row.get(column)?;
        Offset::new(value).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let last_update = match row.get::<Option<String>>("last_update_id")? {
        None => None,
        Some(_) => Some(IngestedUpdate {
            update_id: row.update("last_update_id")?,
            offset: offset("last_update_offset")?,
            record_time: row.time("last_record_time_us")?,
            synchronizer_id: row.synchronizer("last_synchronizer_id")?,
        }),
    };
    Ok(Some(Checkpoint {
        offset: offset("ledger_offset")?,
        last_update,
    }))
}

impl Store {
    /// Where ingestion resumes; `None` before the first commit.
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>> {
        let mut tx = self.pool.read().await?;
        read_checkpoint(&mut tx).await
    }

    /// The last ingested record time of `synchronizer` (the skip rule).
    pub async fn record_time(&self, synchronizer: &SynchronizerId) -> Result<Option<Timestamp>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query(
                "SELECT record_time_us FROM synchronizer_record_times WHERE synchronizer_id = $1",
            )
            .bind(synchronizer.as_str())
            .fetch_optional()
            .await?;
        row.map(|r| r.time("record_time_us")).transpose()
    }

    /// The last ingested record time of every synchronizer seen.
    pub async fn record_times(&self) -> Result<BTreeMap<SynchronizerId, Timestamp>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query("SELECT synchronizer_id, record_time_us FROM synchronizer_record_times")
            .fetch_all()
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.synchronizer("synchronizer_id")?,
                    r.time("record_time_us")?,
                ))
            })
            .collect()
    }

    /// Whether the update was ingested (the skip rule when record times are not unique).
    pub async fn is_ingested(&self, update_id: &UpdateId) -> Result<bool> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query("SELECT 1 AS found FROM ingested_updates WHERE update_id = $1")
            .bind(update_id.as_str())
            .fetch_optional()
            .await?;
        Ok(row.is_some())
    }
}
