//! The ingestion write path (checkpoint + effects in one transaction) and the checkpoint reads.

use std::collections::{BTreeMap, HashSet};

use exchange_core::changeset::{ChangeSet, Checkpoint, Effect, IngestedUpdate, JournalCause};
use exchange_core::tokens::HeldBack;
use exchange_core::withdrawal::WithdrawalState;
use exchange_core::{Offset, SynchronizerId, Timestamp, UpdateId};

use crate::bulk::{Kind, Rows};
use crate::db::{Backend, Tx};
use crate::error::{Result, StoreError};
use crate::pending::Pending;
use crate::{Store, deposits, holdings, instructions, quarantine, untrusted, withdrawals};

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
/// writers cannot both advance from the same place. `or_stay`: the commit ingests no
/// transaction (offset checkpoints only: record times, and what they expire), so it may also
/// stay at the stored offset; an idle ledger's synchronizer times move without new offsets.
pub(crate) async fn advance_checkpoint(
    tx: &mut Tx,
    checkpoint: &Checkpoint,
    or_stay: bool,
) -> Result<()> {
    let guard = if or_stay { "<=" } else { "<" };
    let sql = format!(
        "{UPSERT_CHECKPOINT} WHERE checkpoint.ledger_offset {guard} excluded.ledger_offset"
    );
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

/// Writes the effects of a batch with the result of applying them one by one, in order, but
/// with one statement per table for runs of effects that commute: inserts of new rows
/// (holdings, deposits, recovered withdrawals, journal entries, in their order) and holding
/// archivals. An effect that reads what earlier ones wrote (a deposit or withdrawal
/// transition, a release) first flushes what is pending, then runs on its own. Only the listed
/// effects are written: no credit, refund or release is derived here (see `changeset`).
pub(crate) async fn apply(tx: &mut Tx, changes: &ChangeSet) -> Result<()> {
    record_ingested(tx, &changes.ingested).await?;
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
    let mut pending = Pending::new();
    for effect in &changes.effects {
        match effect {
            Effect::HoldingCreated(h) => {
                if h.held_back.is_none() {
                    pending.held_instrument(&h.instrument);
                }
                pending.holdings.push(vec![
                    h.contract_id.as_str().into(),
                    h.instrument.admin.as_str().into(),
                    h.instrument.id.as_str().into(),
                    h.amount.into(),
                    h.locked().into(),
                    holdings::lock_json(h.lock.as_ref())?.into(),
                    h.created.update_id.as_str().into(),
                    h.created.record_time.micros().into(),
                    held_back_json(h.held_back.as_ref())?.into(),
                ])
            }
            Effect::HoldingArchived {
                contract_id,
                archived,
            } => pending.archives.push(vec![
                contract_id.as_str().into(),
                archived.update_id.as_str().into(),
                archived.record_time.micros().into(),
            ]),
            Effect::DepositRecorded(d) => {
                pending.deposits.push(vec![
                    d.id.as_str().into(),
                    d.state.as_str().into(),
                    d.account.as_ref().map(|a| a.to_string()).into(),
                    d.instrument.admin.as_str().into(),
                    d.instrument.id.as_str().into(),
                    d.amount.into(),
                    d.sender.as_str().into(),
                    d.transfer_instruction
                        .as_ref()
                        .map(|c| c.to_string())
                        .into(),
                    d.origin.update_id.as_str().into(),
                    d.origin.record_time.micros().into(),
                    d.origin.update_id.as_str().into(),
                    d.origin.record_time.micros().into(),
                    held_back_json(d.held_back.as_ref())?.into(),
                ]);
            }
            Effect::Journal(entry) => {
                if let JournalCause::WithdrawalRefund(id) = &entry.cause {
                    pending.flush(tx).await?;
                    withdrawals::check_refund_bearer(tx, id, &entry.account).await?;
                }
                pending.journal(entry)?
            }
            Effect::WithdrawalRecovered(r) => {
                let at = crate::now().micros();
                pending.withdrawals.push(vec![
                    r.id.as_str().into(),
                    WithdrawalState::Recovered.as_str().into(),
                    r.instrument.admin.as_str().into(),
                    r.instrument.id.as_str().into(),
                    r.amount.into(),
                    r.receiver.as_str().into(),
                    r.transfer_instruction
                        .as_ref()
                        .map(|c| c.to_string())
                        .into(),
                    r.origin.update_id.as_str().into(),
                    r.origin.record_time.micros().into(),
                    at.into(),
                    at.into(),
                    r.duplicate_of.as_ref().map(|d| d.to_string()).into(),
                    r.account.as_ref().map(|a| a.to_string()).into(),
                    // A recovered offer's deadline, so that it expires like any offer.
                    r.offer_expiry
                        .as_ref()
                        .map(|e| e.execute_before.micros())
                        .into(),
                    r.offer_expiry
                        .as_ref()
                        .map(|e| e.synchronizer.to_string())
                        .into(),
                ]);
            }
            // Touches only its own table, which nothing pending reads.
            Effect::TransferInstruction(instruction) => {
                instructions::upsert(tx, instruction).await?
            }
            Effect::DepositUpdated {
                id,
                state,
                origin,
                held_back,
            } => {
                pending.flush(tx).await?;
                let held_back = held_back_json(held_back.as_ref())?;
                deposits::update(tx, id, *state, origin, held_back).await?
            }
            Effect::HoldingRecognized { contract_id } => {
                pending.flush(tx).await?;
                holdings::recognize(tx, contract_id).await?
            }
            Effect::Withdrawal(transition) => {
                pending.flush(tx).await?;
                withdrawals::transition(tx, transition).await?
            }
            Effect::HoldingsReleased { withdrawal } => {
                pending.flush(tx).await?;
                holdings::release(tx, withdrawal).await?
            }
            // Rare (an unparseable transaction): one statement each, in order.
            Effect::Quarantined(q) => {
                pending.flush(tx).await?;
                quarantine::hold(tx, q).await?
            }
            Effect::QuarantineReleased { update_id } => {
                pending.flush(tx).await?;
                quarantine::release(tx, update_id).await?
            }
            // Touches only its own table. A contract is archived once; seen again (a replay of
            // a transaction the skip rule let through), the first record stands.
            Effect::UnmatchedArchive {
                contract_id,
                archived,
            } => quarantine::unmatched_archive(tx, contract_id, archived).await?,
            // Touches only its own table; a replayed transaction's events are recorded once.
            Effect::UntrustedEvent(e) => untrusted::record(tx, e).await?,
        }
    }
    pending.flush(tx).await?;
    // The balances last, once for the whole batch: their row locks (PostgreSQL) are then
    // taken after every holding row the batch touches, the order a withdrawal request takes
    // them in too (holdings, then the debit), so the two cannot deadlock.
    pending.deltas.apply(tx).await
}

const INGESTED_COLUMNS: &[(&str, Kind)] = &[
    ("update_id", Kind::Text),
    ("ledger_offset", Kind::Int),
    ("record_time_us", Kind::Int),
    ("synchronizer_id", Kind::Text),
];

/// Why a holding or deposit is held back, as stored in `held_back` (NULL: recognized).
pub(crate) fn held_back_json(held: Option<&HeldBack>) -> Result<Option<String>> {
    held.map(|h| serde_json::to_string(h).map_err(|e| StoreError::Invalid(e.to_string())))
        .transpose()
}

/// The stored `held_back` column.
pub(crate) fn held_back_from(row: &crate::db::Row) -> Result<Option<HeldBack>> {
    row.get::<Option<String>>("held_back")?
        .map(|text| {
            serde_json::from_str(&text)
                .map_err(|e| StoreError::Corrupt(format!("column held_back holds {text:?}: {e}")))
        })
        .transpose()
}

/// How many leading characters of an update id SQLite's `ingested_updates_by_id_prefix` index
/// holds (migration 0005). SQLite queries by update id select by `substr(update_id, 1, 20)`
/// and match the full id after it.
pub(crate) const UPDATE_ID_PREFIX: usize = 20;

/// The part of `id` that index holds (SQLite's `substr` counts characters, as this does).
pub(crate) fn update_id_prefix(id: &str) -> &str {
    id.char_indices()
        .nth(UPDATE_ID_PREFIX)
        .map_or(id, |(end, _)| &id[..end])
}

/// Records the batch's transactions; one already recorded, or twice in the batch, fails the
/// commit. The SQL checks the recorded ones (SQLite has no unique key on the update id, see
/// migration 0005); the batch's own repeats are checked here, as a statement's `NOT EXISTS`
/// does not see the rows that statement inserts.
async fn record_ingested(tx: &mut Tx, updates: &[IngestedUpdate]) -> Result<()> {
    let mut seen = HashSet::new();
    if let Some(repeated) = updates
        .iter()
        .map(|u| u.update_id.as_str())
        .find(|u| !seen.insert(*u))
    {
        return Err(StoreError::Conflict(format!(
            "update {repeated} is already ingested"
        )));
    }
    let mut rows = Rows::new(INGESTED_COLUMNS);
    for u in updates {
        rows.push(vec![
            u.update_id.as_str().into(),
            u.offset.get().into(),
            u.record_time.micros().into(),
            u.synchronizer_id.as_str().into(),
        ]);
    }
    let inserted = rows
        .run(
            tx,
            "INSERT INTO ingested_updates ({columns}) SELECT {columns} FROM {v}
             WHERE NOT EXISTS (
                 SELECT 1 FROM ingested_updates i
                 WHERE substr(i.update_id, 1, 20) = substr(v.update_id, 1, 20)
                   AND i.update_id = v.update_id)
             RETURNING update_id",
        )
        .await?;
    if inserted.len() != updates.len() {
        let done = inserted
            .iter()
            .map(|r| r.get::<String>("update_id"))
            .collect::<Result<HashSet<String>>>()?;
        let repeated = updates
            .iter()
            .map(|u| u.update_id.as_str())
            .find(|u| !done.contains(*u))
            .unwrap_or_default();
        return Err(StoreError::Conflict(format!(
            "update {repeated} is already ingested"
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
        if tx.backend() == Backend::Postgres {
            let row = tx
                .query("SELECT 1 AS found FROM ingested_updates WHERE update_id = $1")
                .bind(update_id.as_str())
                .fetch_optional()
                .await?;
            return Ok(row.is_some());
        }
        // Through the prefix index (migration 0005); the full id is matched here. Naming it in
        // the SQL too would not do: SQLite then substitutes the constant into the prefix
        // expression, which no longer matches the index, and scans the table.
        let rows = tx
            .query(
                "SELECT update_id FROM ingested_updates
                 WHERE substr(update_id, 1, 20) = substr($1, 1, 20)",
            )
            .bind(update_id.as_str())
            .fetch_all()
            .await?;
        for row in rows {
            if row.get::<String>("update_id")? == update_id.as_str() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
