//! Transactions ingestion could not parse and set aside (`ingest --quarantine-unparseable`), and
//! the archives ingestion could not match while one is held.

use std::collections::HashMap;

use exchange_core::changeset::{IngestedUpdate, Origin, QuarantinedUpdate};
use exchange_core::{ContractId, Timestamp, UpdateId};

use crate::db::{Row, Tx, expect_one};
use crate::error::{Result, StoreError};
use crate::{Store, now};

/// A quarantined transaction as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantineEntry {
    pub quarantined: QuarantinedUpdate,
    /// `false` while held; `true` once `quarantine retry` applied it.
    pub released: bool,
    pub quarantined_at: Timestamp,
    pub released_at: Option<Timestamp>,
}

const COLUMNS: &str = "update_id, ledger_offset, record_time_us, synchronizer_id, error, raw_json,
    state, quarantined_at_us, released_at_us";

fn from_row(row: &Row) -> Result<QuarantineEntry> {
    let offset: i64 = row.get("ledger_offset")?;
    let state: String = row.get("state")?;
    Ok(QuarantineEntry {
        quarantined: QuarantinedUpdate {
            update: IngestedUpdate {
                update_id: row.update("update_id")?,
                offset: exchange_core::Offset::new(offset)
                    .map_err(|_| StoreError::Corrupt(format!("quarantine offset {offset}")))?,
                record_time: row.time("record_time_us")?,
                synchronizer_id: row.synchronizer("synchronizer_id")?,
            },
            error: row.get("error")?,
            raw_json: row.get("raw_json")?,
        },
        released: state == "released",
        quarantined_at: row.time("quarantined_at_us")?,
        released_at: row.opt_time("released_at_us")?,
    })
}

/// Sets a transaction aside (in the batch that records it as ingested).
pub(crate) async fn hold(tx: &mut Tx, q: &QuarantinedUpdate) -> Result<()> {
    let u = &q.update;
    tx.query(&format!(
        "INSERT INTO quarantine ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, 'held', $7, NULL)"
    ))
    .bind(u.update_id.as_str())
    .bind(u.offset.get())
    .bind(u.record_time.micros())
    .bind(u.synchronizer_id.as_str())
    .bind(q.error.clone())
    .bind(q.raw_json.clone())
    .bind(now().micros())
    .execute()
    .await
    .map_err(|e| match e {
        StoreError::Conflict(_) => {
            StoreError::Conflict(format!("update {} is already quarantined", u.update_id))
        }
        other => other,
    })?;
    Ok(())
}

/// Marks a held transaction released, in the commit that applies its effects: a second release
/// (and so a second application) fails the whole commit.
pub(crate) async fn release(tx: &mut Tx, update_id: &UpdateId) -> Result<()> {
    let changed = tx
        .query(
            "UPDATE quarantine SET state = 'released', released_at_us = $2
             WHERE update_id = $1 AND state = 'held'",
        )
        .bind(update_id.as_str())
        .bind(now().micros())
        .execute()
        .await?;
    expect_one(changed, || {
        StoreError::Conflict(format!(
            "update {update_id} is not held in quarantine (released already?)"
        ))
    })
}

pub(crate) async fn unmatched_archive(
    tx: &mut Tx,
    contract_id: &ContractId,
    archived: &Origin,
) -> Result<()> {
    tx.query(
        "INSERT INTO unmatched_archives (contract_id, update_id, record_time_us)
         VALUES ($1, $2, $3) ON CONFLICT (contract_id) DO NOTHING",
    )
    .bind(contract_id.as_str())
    .bind(archived.update_id.as_str())
    .bind(archived.record_time.micros())
    .execute()
    .await?;
    Ok(())
}

/// Whether a transaction is held (ingestion then keeps archives it cannot match).
pub(crate) async fn any_held(tx: &mut Tx) -> Result<bool> {
    let row = tx
        .query("SELECT COUNT(*) AS n FROM (SELECT 1 FROM quarantine WHERE state = 'held' LIMIT 1) AS h")
        .fetch_optional()
        .await?;
    Ok(row.map(|r| r.get::<i64>("n")).transpose()?.unwrap_or(0) > 0)
}

impl Store {
    /// Quarantined transactions in offset order; with `held_only`, those not released yet.
    pub async fn quarantine(&self, held_only: bool) -> Result<Vec<QuarantineEntry>> {
        let mut tx = self.pool.read().await?;
        let filter = if held_only {
            "WHERE state = 'held'"
        } else {
            ""
        };
        let sql = format!("SELECT {COLUMNS} FROM quarantine {filter} ORDER BY ledger_offset");
        tx.query(&sql)
            .fetch_all()
            .await?
            .iter()
            .map(from_row)
            .collect()
    }

    /// Where each of `contracts` was archived while the DB did not know it (see
    /// `Effect::UnmatchedArchive`).
    pub async fn unmatched_archives(
        &self,
        contracts: &[ContractId],
    ) -> Result<HashMap<ContractId, Origin>> {
        let mut tx = self.pool.read().await?;
        let mut found = HashMap::new();
        for cid in contracts {
            let row = tx
                .query(
                    "SELECT update_id, record_time_us FROM unmatched_archives WHERE contract_id = $1",
                )
                .bind(cid.as_str())
                .fetch_optional()
                .await?;
            if let Some(row) = row {
                let origin = Origin {
                    update_id: row.update("update_id")?,
                    record_time: row.time("record_time_us")?,
                };
                found.insert(cid.clone(), origin);
            }
        }
        Ok(found)
    }

    /// Applies the effects of released quarantined transactions (their `QuarantineReleased`
    /// effects included) without moving the checkpoint: they were ingested, only held back.
    /// Operators only, with ingestion stopped (the caller holds the ingestion lease).
    pub async fn commit_released(
        &self,
        changes: &exchange_core::changeset::ChangeSet,
    ) -> Result<()> {
        let mut tx = self.pool.write_ingest().await?;
        crate::ingest::apply(&mut tx, changes).await?;
        tx.commit().await
    }
}
