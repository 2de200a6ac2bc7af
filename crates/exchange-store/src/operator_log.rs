//! The operator log: decisions that bypassed a safety check (e.g. re-pointing the checkpoint
//! past the last ingested update), kept for audits.

use exchange_core::Timestamp;

use crate::db::Tx;
use crate::error::Result;
use crate::{Store, now};

/// An operator decision that bypassed a safety check, for audits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorNote {
    pub action: String,
    pub detail: String,
}

/// A logged [`OperatorNote`] with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorLogEntry {
    pub at: Timestamp,
    pub note: OperatorNote,
}

pub(crate) async fn log(tx: &mut Tx, note: &OperatorNote) -> Result<()> {
    tx.query("INSERT INTO operator_log (at_us, action, detail) VALUES ($1, $2, $3)")
        .bind(now().micros())
        .bind(note.action.clone())
        .bind(note.detail.clone())
        .execute()
        .await?;
    Ok(())
}

impl Store {
    /// The operator log, oldest first.
    pub async fn operator_log(&self) -> Result<Vec<OperatorLogEntry>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query("SELECT at_us, action, detail FROM operator_log ORDER BY entry_id")
            .fetch_all()
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OperatorLogEntry {
                    at: r.time("at_us")?,
                    note: OperatorNote {
                        action: r.get("action")?,
                        detail: r.get("detail")?,
                    },
                })
            })
            .collect()
    }
}
