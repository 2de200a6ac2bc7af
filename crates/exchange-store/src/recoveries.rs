//! What the node-restore runbook reads and writes besides the checkpoint: the automation work
//! still claimed (step 1 refuses while any claim is live), the `.dar`s onboarded tokens need
//! (step 4), and the record of each recovery (step 6), which `status` shows.

use exchange_core::Timestamp;
use exchange_core::changeset::Checkpoint;

use crate::dars::{DAR_COLUMNS, Dar, dar_from_row, with_packages};
use crate::db::Row;
use crate::error::Result;
use crate::{OperatorNote, Store, ingest, now, operator_log};

/// Work an automation replica holds: a claim that has not expired yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveClaim {
    /// `withdrawal` or `deposit accept`.
    pub kind: &'static str,
    pub id: String,
    pub claimed_by: String,
    pub until: Timestamp,
}

/// One run of the node-restore runbook that re-pointed the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveryRecord {
    /// `validator` (the node-restore runbook).
    pub runbook: String,
    /// Who ran it (the operator's login).
    pub operator: String,
    pub t_recovery: Timestamp,
    pub synchronizer_id: String,
    pub last_update_id: String,
    /// The last ingested update's offset on the node before the restore, and on the restored node.
    pub last_offset_before: i64,
    pub last_offset_after: i64,
    pub checkpoint_before: i64,
    pub checkpoint_after: i64,
    /// How offRecovery was found (the Admin API and its lookup, an operator's offset, …).
    pub off_recovery_source: String,
    /// The restored node's participant id, if it told.
    pub participant_id: Option<String>,
    /// Main package ids of the `.dar`s uploaded again.
    pub dars_uploaded: Vec<String>,
}

/// A [`RecoveryRecord`] with its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovery {
    pub at: Timestamp,
    pub record: RecoveryRecord,
}

fn recovery_from_row(row: &Row) -> Result<Recovery> {
    let dars: String = row.get("dars_uploaded")?;
    Ok(Recovery {
        at: row.time("at_us")?,
        record: RecoveryRecord {
            runbook: row.get("runbook")?,
            operator: row.get("operator")?,
            t_recovery: row.time("t_recovery_us")?,
            synchronizer_id: row.get("synchronizer_id")?,
            last_update_id: row.get("last_update_id")?,
            last_offset_before: row.get("last_offset_before")?,
            last_offset_after: row.get("last_offset_after")?,
            checkpoint_before: row.get("checkpoint_before")?,
            checkpoint_after: row.get("checkpoint_after")?,
            off_recovery_source: row.get("off_recovery_source")?,
            participant_id: row.get("participant_id")?,
            dars_uploaded: dars
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        },
    })
}

impl Store {
    /// Withdrawals and deposit accepts an automation replica has claimed and whose claim has
    /// not expired at `now`: someone is working on them.
    pub async fn live_claims(&self, now: Timestamp) -> Result<Vec<LiveClaim>> {
        let mut tx = self.pool.read().await?;
        let mut claims = Vec::new();
        for (kind, sql) in [
            (
                "withdrawal",
                "SELECT withdrawal_id AS id, claimed_by, claimed_until_us FROM withdrawals
                 WHERE claimed_until_us > $1 ORDER BY withdrawal_id",
            ),
            (
                "deposit accept",
                "SELECT instruction_id AS id, claimed_by, claimed_until_us FROM deposit_accepts
                 WHERE claimed_until_us > $1 ORDER BY instruction_id",
            ),
        ] {
            for row in tx.query(sql).bind(now.micros()).fetch_all().await? {
                claims.push(LiveClaim {
                    kind,
                    id: row.get("id")?,
                    claimed_by: row.get::<Option<String>>("claimed_by")?.unwrap_or_default(),
                    until: row.time("claimed_until_us")?,
                });
            }
        }
        Ok(claims)
    }

    /// Every `.dar` recorded at token onboarding (linked to a token), oldest first, with its
    /// packages: what a restored node must have.
    pub async fn onboarded_dars(&self) -> Result<Vec<Dar>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {DAR_COLUMNS} FROM dars d WHERE d.main_package_id IN
               (SELECT main_package_id FROM token_dars)
             ORDER BY d.uploaded_at_us, d.main_package_id"
        );
        let rows = tx.query(&sql).fetch_all().await?;
        let dars = rows.iter().map(dar_from_row).collect::<Result<Vec<_>>>()?;
        with_packages(&mut tx, dars).await
    }

    /// The node-restore runbook's last step: sets the checkpoint (even backwards) and records
    /// the recovery, in one DB transaction. `note`: an operator decision that bypassed a
    /// check, logged with it. Ingestion must be stopped.
    pub async fn record_node_restore(
        &self,
        checkpoint: &Checkpoint,
        note: Option<&OperatorNote>,
        record: &RecoveryRecord,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        ingest::set_checkpoint(&mut tx, checkpoint).await?;
        if let Some(note) = note {
            operator_log::log(&mut tx, note).await?;
        }
        tx.query(
            "INSERT INTO recoveries (at_us, runbook, operator, t_recovery_us, synchronizer_id,
                 last_update_id, last_offset_before, last_offset_after, checkpoint_before,
                 checkpoint_after, off_recovery_source, participant_id, dars_uploaded)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(now().micros())
        .bind(record.runbook.as_str())
        .bind(record.operator.as_str())
        .bind(record.t_recovery.micros())
        .bind(record.synchronizer_id.as_str())
        .bind(record.last_update_id.as_str())
        .bind(record.last_offset_before)
        .bind(record.last_offset_after)
        .bind(record.checkpoint_before)
        .bind(record.checkpoint_after)
        .bind(record.off_recovery_source.as_str())
        .bind(record.participant_id.clone())
        .bind(record.dars_uploaded.join(","))
        .execute()
        .await?;
        tx.commit().await
    }

    /// The recoveries recorded, oldest first.
    pub async fn recoveries(&self) -> Result<Vec<Recovery>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query("SELECT * FROM recoveries ORDER BY recovery_id")
            .fetch_all()
            .await?;
        rows.iter().map(recovery_from_row).collect()
    }

    /// The last recovery recorded, if any.
    pub async fn last_recovery(&self) -> Result<Option<Recovery>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query("SELECT * FROM recoveries ORDER BY recovery_id DESC LIMIT 1")
            .fetch_all()
            .await?;
        rows.first().map(recovery_from_row).transpose()
    }
}
