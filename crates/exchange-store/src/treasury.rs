//! Which treasury party the DB belongs to, and the read-outs of its state for operators.

use exchange_core::PartyId;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::holdings::{self, HoldingRecord};

impl Store {
    /// The treasury party recorded by the first ingestion run; `None` before it.
    pub async fn treasury_party(&self) -> Result<Option<PartyId>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query("SELECT party FROM treasury WHERE id = 1")
            .fetch_optional()
            .await?;
        row.map(|r| r.party("party")).transpose()
    }

    /// Records the treasury party, or checks that it is the one recorded.
    pub async fn claim_treasury_party(&self, party: &PartyId) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.query("INSERT INTO treasury (id, party) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
            .bind(party.as_str())
            .execute()
            .await?;
        let row = tx
            .query("SELECT party FROM treasury WHERE id = 1")
            .fetch_optional()
            .await?;
        let stored = row.map(|r| r.party("party")).transpose()?;
        tx.commit().await?;
        match stored {
            Some(p) if &p == party => Ok(()),
            Some(p) => Err(StoreError::Conflict(format!(
                "this DB belongs to treasury party {p}, not {party}"
            ))),
            None => Err(StoreError::Corrupt("treasury row missing".into())),
        }
    }

    /// Every active treasury holding, of all instruments.
    pub async fn all_active_holdings(&self) -> Result<Vec<HoldingRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {} FROM holdings WHERE archived_update_id IS NULL
             ORDER BY instrument_admin, instrument_id, created_record_time_us, contract_id",
            holdings::COLUMNS
        );
        let rows = tx.query(&sql).fetch_all().await?;
        rows.iter().map(holdings::from_row).collect()
    }

    /// How many withdrawals are in each state (states with none are left out).
    pub async fn withdrawal_counts(&self) -> Result<Vec<(String, i64)>> {
        self.counts("SELECT state, COUNT(*) AS n FROM withdrawals GROUP BY state ORDER BY state")
            .await
    }

    /// Withdrawals paid a second time (booked on their own, `duplicate_of` set).
    pub async fn overpaid_withdrawal_count(&self) -> Result<i64> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query("SELECT COUNT(*) AS n FROM withdrawals WHERE duplicate_of IS NOT NULL")
            .fetch_optional()
            .await?;
        Ok(row.map(|r| r.get::<i64>("n")).transpose()?.unwrap_or(0))
    }

    /// How many deposits are in each state.
    pub async fn deposit_counts(&self) -> Result<Vec<(String, i64)>> {
        self.counts("SELECT state, COUNT(*) AS n FROM deposits GROUP BY state ORDER BY state")
            .await
    }

    async fn counts(&self, sql: &str) -> Result<Vec<(String, i64)>> {
        let mut tx = self.pool.read().await?;
        let rows = tx.query(sql).fetch_all().await?;
        rows.iter()
            .map(|r| Ok((r.get::<String>("state")?, r.get::<i64>("n")?)))
            .collect()
    }
}
