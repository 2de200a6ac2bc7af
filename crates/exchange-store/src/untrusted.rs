//! Token standard V2 events ingestion did not trust (`Effect::UntrustedEvent`): recorded, never
//! credited, counted and listed for operators.

use exchange_core::changeset::{Origin, UntrustedEvent};

use crate::Store;
use crate::db::Tx;
use crate::error::{Result, StoreError};

pub(crate) async fn record(tx: &mut Tx, e: &UntrustedEvent) -> Result<()> {
    tx.query(
        "INSERT INTO untrusted_events (update_id, node_id, record_time_us, reason)
         VALUES ($1, $2, $3, $4) ON CONFLICT (update_id, node_id) DO NOTHING",
    )
    .bind(e.origin.update_id.as_str())
    .bind(i64::from(e.node_id))
    .bind(e.origin.record_time.micros())
    .bind(e.reason.clone())
    .execute()
    .await?;
    Ok(())
}

impl Store {
    /// How many untrusted V2 events were recorded, and the latest `limit` of them, newest first.
    pub async fn untrusted_events(&self, limit: i64) -> Result<(i64, Vec<UntrustedEvent>)> {
        let mut tx = self.pool.read().await?;
        let count: i64 = match tx
            .query("SELECT COUNT(*) AS n FROM untrusted_events")
            .fetch_optional()
            .await?
        {
            Some(row) => row.get("n")?,
            None => 0,
        };
        let rows = tx
            .query(
                "SELECT update_id, node_id, record_time_us, reason FROM untrusted_events
                 ORDER BY record_time_us DESC, update_id, node_id LIMIT $1",
            )
            .bind(limit)
            .fetch_all()
            .await?;
        let latest = rows
            .iter()
            .map(|r| {
                let node: i64 = r.get("node_id")?;
                Ok(UntrustedEvent {
                    origin: Origin {
                        update_id: r.update("update_id")?,
                        record_time: r.time("record_time_us")?,
                    },
                    node_id: i32::try_from(node)
                        .map_err(|_| StoreError::Corrupt(format!("column node_id holds {node}")))?,
                    reason: r.get("reason")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((count, latest))
    }
}
