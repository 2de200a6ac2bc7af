//! Treasury holdings (UTXOs): mirrored by ingestion, reserved by withdrawal requests.

use exchange_core::changeset::{Holding, Origin};
use exchange_core::selection::Candidate;
use exchange_core::token_standard::Lock;
use exchange_core::withdrawal::WithdrawalId;
use exchange_core::{ContractId, InstrumentId};

use crate::Store;
use crate::db::{Backend, Row, Tx, expect_one};
use crate::error::{Result, StoreError};

/// A holding with what happened to it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingRecord {
    pub holding: Holding,
    pub archived: Option<Origin>,
    /// The withdrawal this holding funds, if any. Kept on archived holdings as history.
    pub reserved_by: Option<WithdrawalId>,
}

impl HoldingRecord {
    pub fn is_active(&self) -> bool {
        self.archived.is_none()
    }
}

pub(crate) const COLUMNS: &str = "contract_id, instrument_admin, instrument_id, amount, locked,
    lock_json, created_update_id, created_record_time_us, archived_update_id,
    archived_record_time_us, reserved_by, held_back";

/// The lock as stored in `lock_json`.
pub(crate) fn lock_json(lock: Option<&Lock>) -> Result<Option<String>> {
    lock.map(|l| serde_json::to_string(l).map_err(|e| StoreError::Invalid(e.to_string())))
        .transpose()
}

/// The lock from `locked` and `lock_json`. A locked holding ingested before the lock itself
/// was stored (migration 0004) has no details: a lock without holders, times or context.
fn lock_from_row(row: &Row) -> Result<Option<Lock>> {
    let locked: bool = row.get("locked")?;
    match row.get::<Option<String>>("lock_json")? {
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("column lock_json holds {text:?}: {e}"))),
        None if locked => Ok(Some(Lock {
            holders: Vec::new(),
            expires_at: None,
            expires_after_micros: None,
            context: None,
        })),
        None => Ok(None),
    }
}

pub(crate) fn from_row(row: &Row) -> Result<HoldingRecord> {
    let archived = match row.opt_parse("archived_update_id")? {
        None => None,
        Some(update_id) => Some(Origin {
            update_id,
            record_time: row.time("archived_record_time_us")?,
        }),
    };
    Ok(HoldingRecord {
        holding: Holding {
            contract_id: row.contract("contract_id")?,
            instrument: row.instrument()?,
            amount: row.amount("amount")?,
            lock: lock_from_row(row)?,
            created: Origin {
                update_id: row.update("created_update_id")?,
                record_time: row.time("created_record_time_us")?,
            },
            held_back: crate::ingest::held_back_from(row)?,
        },
        archived,
        reserved_by: row.opt_parse("reserved_by")?,
    })
}

/// A held-back holding turned out to be its issuer's: counted and spendable from now on, and
/// its instrument one the treasury has held (`holding_instruments`).
pub(crate) async fn recognize(tx: &mut Tx, contract_id: &ContractId) -> Result<()> {
    tx.query("UPDATE holdings SET held_back = NULL WHERE contract_id = $1")
        .bind(contract_id.as_str())
        .execute()
        .await?;
    tx.query(
        "INSERT INTO holding_instruments (instrument_admin, instrument_id)
         SELECT instrument_admin, instrument_id FROM holdings WHERE contract_id = $1
         ON CONFLICT DO NOTHING",
    )
    .bind(contract_id.as_str())
    .execute()
    .await?;
    Ok(())
}

/// Reserves an active, unlocked, unreserved holding of `instrument` for a withdrawal.
pub(crate) async fn reserve(
    tx: &mut Tx,
    contract_id: &ContractId,
    instrument: &InstrumentId,
    withdrawal: &WithdrawalId,
) -> Result<()> {
    let changed = tx
        .query(
            "UPDATE holdings SET reserved_by = $2
             WHERE contract_id = $1 AND instrument_admin = $3 AND instrument_id = $4
               AND archived_update_id IS NULL AND reserved_by IS NULL AND NOT locked
               AND held_back IS NULL",
        )
        .bind(contract_id.as_str())
        .bind(withdrawal.as_str())
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .execute()
        .await?;
    expect_one(changed, || {
        StoreError::Conflict(format!(
            "holding {contract_id} is not available for {instrument}: unknown, archived, locked or reserved"
        ))
    })
}

/// The active holdings of `instrument`, reserved or not, for a withdrawal request to select
/// from. On PostgreSQL the unreserved ones are locked (in contract id order, so two requests
/// cannot deadlock) until the request commits: a concurrent request waits, then sees the
/// reservations (the lock re-checks `reserved_by IS NULL`), so two requests never pick the same
/// input. Reserved holdings are only read (selection reports them, never picks them): they are
/// what ingestion archives and releases, and locking them too deadlocked requests against
/// ingestion's commits. SQLite's write transaction holds the database lock.
pub(crate) async fn candidates_for_update(
    tx: &mut Tx,
    instrument: &InstrumentId,
) -> Result<Vec<HoldingRecord>> {
    let lock = match tx.backend() {
        Backend::Postgres => "FOR UPDATE",
        Backend::Sqlite => "",
    };
    let mut out = Vec::new();
    for (filter, lock) in [
        ("reserved_by IS NULL", lock),
        ("reserved_by IS NOT NULL", ""),
    ] {
        let sql = format!(
            "SELECT {COLUMNS} FROM holdings
             WHERE instrument_admin = $1 AND instrument_id = $2 AND archived_update_id IS NULL
               AND held_back IS NULL AND {filter}
             ORDER BY contract_id {lock}"
        );
        let rows = tx
            .query(&sql)
            .bind(instrument.admin.as_str())
            .bind(instrument.id.as_str())
            .fetch_all()
            .await?;
        for row in &rows {
            out.push(from_row(row)?);
        }
    }
    Ok(out)
}

/// The `limit` smallest free holdings of `instrument` (active, unreserved, the issuer's; locked
/// or not, as only the selection can tell whether a lock still binds), in the selection's order:
/// by amount, then contract id in byte order. One read of the `holdings_free` index, however
/// many holdings the treasury has. On PostgreSQL they are locked until the request commits, as
/// by [`candidates_for_update`], and in that same order by every request, so two requests wait
/// for each other instead of deadlocking; a row a concurrent request reserved meanwhile is left
/// out when the lock is granted, so fewer than `limit` rows do not prove there are no more.
pub(crate) async fn smallest_free_for_update(
    tx: &mut Tx,
    instrument: &InstrumentId,
    limit: i64,
) -> Result<Vec<Candidate>> {
    let (order, lock) = match tx.backend() {
        Backend::Postgres => (r#"amount, contract_id COLLATE "C""#, "FOR UPDATE"),
        Backend::Sqlite => ("amount_order, contract_id", ""),
    };
    let sql = format!(
        "SELECT contract_id, amount, locked, lock_json FROM holdings
         WHERE instrument_admin = $1 AND instrument_id = $2 AND archived_update_id IS NULL
           AND reserved_by IS NULL AND held_back IS NULL
         ORDER BY {order} LIMIT $3 {lock}"
    );
    let rows = tx
        .query(&sql)
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .bind(limit)
        .fetch_all()
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Candidate {
                contract_id: row.contract("contract_id")?,
                amount: row.amount("amount")?,
                lock: lock_from_row(row)?,
                reserved: false,
            })
        })
        .collect()
}

/// Reserves a holding chosen by the selection, which already judged its lock (an expired lock
/// does not bind, so the `locked` column is not consulted here).
pub(crate) async fn reserve_selected(
    tx: &mut Tx,
    contract_id: &ContractId,
    withdrawal: &WithdrawalId,
) -> Result<()> {
    let changed = tx
        .query(
            "UPDATE holdings SET reserved_by = $2
             WHERE contract_id = $1 AND archived_update_id IS NULL AND reserved_by IS NULL
               AND held_back IS NULL",
        )
        .bind(contract_id.as_str())
        .bind(withdrawal.as_str())
        .execute()
        .await?;
    expect_one(changed, || {
        StoreError::Conflict(format!("holding {contract_id} was taken concurrently"))
    })
}

/// Frees the active holdings a withdrawal had reserved.
pub(crate) async fn release(tx: &mut Tx, withdrawal: &WithdrawalId) -> Result<()> {
    tx.query(
        "UPDATE holdings SET reserved_by = NULL
         WHERE reserved_by = $1 AND archived_update_id IS NULL",
    )
    .bind(withdrawal.as_str())
    .execute()
    .await?;
    Ok(())
}

impl Store {
    pub async fn holding(&self, contract_id: &ContractId) -> Result<Option<HoldingRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!("SELECT {COLUMNS} FROM holdings WHERE contract_id = $1");
        let row = tx
            .query(&sql)
            .bind(contract_id.as_str())
            .fetch_optional()
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The active holdings reserved to fund `withdrawal` (one indexed read, however many
    /// holdings the treasury has).
    pub async fn reserved_holdings(&self, withdrawal: &WithdrawalId) -> Result<Vec<HoldingRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM holdings
             WHERE reserved_by = $1 AND archived_update_id IS NULL ORDER BY contract_id"
        );
        let rows = tx.query(&sql).bind(withdrawal.as_str()).fetch_all().await?;
        rows.iter().map(from_row).collect()
    }

    /// The active treasury holdings of `instrument`, reserved or not, held back or not.
    pub async fn active_holdings(&self, instrument: &InstrumentId) -> Result<Vec<HoldingRecord>> {
        self.holdings_where(instrument, "").await
    }

    /// Active holdings that may fund a new withdrawal: the issuer's, unlocked and not reserved.
    pub async fn available_holdings(
        &self,
        instrument: &InstrumentId,
    ) -> Result<Vec<HoldingRecord>> {
        self.holdings_where(
            instrument,
            "AND reserved_by IS NULL AND NOT locked AND held_back IS NULL",
        )
        .await
    }

    /// Active holdings held back (a counterfeit, a token not onboarded), for support.
    pub async fn held_back_holdings(&self) -> Result<Vec<HoldingRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM holdings
             WHERE held_back IS NOT NULL AND archived_update_id IS NULL
             ORDER BY created_record_time_us, contract_id"
        );
        let rows = tx.query(&sql).fetch_all().await?;
        rows.iter().map(from_row).collect()
    }

    async fn holdings_where(
        &self,
        instrument: &InstrumentId,
        condition: &str,
    ) -> Result<Vec<HoldingRecord>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM holdings
             WHERE instrument_admin = $1 AND instrument_id = $2 AND archived_update_id IS NULL
             {condition} ORDER BY created_record_time_us, contract_id"
        );
        let rows = tx
            .query(&sql)
            .bind(instrument.admin.as_str())
            .bind(instrument.id.as_str())
            .fetch_all()
            .await?;
        rows.iter().map(from_row).collect()
    }
}
