//! Materialized balances (migration 0011): `account_balances` holds each account's balance per
//! instrument, updated with every journal insert in the same transaction, so reading a balance
//! is one row instead of a sum over the account's journal. [`Store::check_balances`]
//! recomputes them from the journal to verify that.

use std::collections::BTreeMap;

use exchange_core::changeset::{AccountId, JournalEntry};
use exchange_core::{Amount, InstrumentId};

use crate::Store;
use crate::bulk::{Kind, Rows};
use crate::db::{Backend, Pool, Row, Tx};
use crate::error::{Result, StoreError};

/// An account and an instrument: one balance.
type Key = (AccountId, InstrumentId);

const KEY_COLUMNS: &[(&str, Kind)] = &[
    ("account_id", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
];
const BALANCE_COLUMNS: &[(&str, Kind)] = &[
    ("account_id", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
    ("balance", Kind::Num),
];

/// A materialized balance that differs from its journal (see [`Store::check_balances`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalanceDrift {
    pub account: AccountId,
    pub instrument: InstrumentId,
    /// The sum of the journal; `None` when the account has no entry of the instrument.
    pub journal: Option<Amount>,
    /// The stored balance; `None` when there is no row.
    pub materialized: Option<Amount>,
}

fn overflow(account: &AccountId, instrument: &InstrumentId) -> StoreError {
    StoreError::Overflow(format!(
        "the balance of account {account} in {}/{} exceeds Numeric(38, 10)",
        instrument.admin, instrument.id
    ))
}

fn key_of(row: &Row) -> Result<Key> {
    Ok((row.parse("account_id")?, row.instrument()?))
}

/// The net change of a set of journal entries per balance, summed exactly before it is
/// written: one row write per balance however many entries a batch books to it.
#[derive(Debug, Default)]
pub(crate) struct Deltas(BTreeMap<Key, Amount>);

impl Deltas {
    pub(crate) fn add(&mut self, entry: &JournalEntry) -> Result<()> {
        let key = (entry.account.clone(), entry.instrument.clone());
        let total = self.0.entry(key).or_default();
        *total = total
            .checked_add(entry.amount)
            .map_err(|_| overflow(&entry.account, &entry.instrument))?;
        Ok(())
    }

    /// Adds the deltas to the stored balances (a missing row counts as zero). Keys go in
    /// sorted order, so two writers lock shared rows in the same order.
    pub(crate) async fn apply(&mut self, tx: &mut Tx) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        match tx.backend() {
            Backend::Postgres => self.apply_postgres(tx).await?,
            Backend::Sqlite => self.apply_sqlite(tx).await?,
        }
        self.0.clear();
        Ok(())
    }

    /// One upsert; PostgreSQL adds NUMERIC exactly under the row's lock. A sum out of range
    /// is SQLSTATE 22003 (numeric_value_out_of_range), reported as an overflow.
    async fn apply_postgres(&self, tx: &mut Tx) -> Result<()> {
        let rows = balance_rows(self.0.iter().map(|(k, v)| (k, *v)));
        let upsert = "INSERT INTO account_balances ({columns}) SELECT {columns} FROM {v}
                      ON CONFLICT (account_id, instrument_admin, instrument_id)
                      DO UPDATE SET balance = account_balances.balance + excluded.balance";
        rows.run(tx, upsert).await.map_err(|error| match error {
            StoreError::Database(sqlx::Error::Database(db))
                if db.code().as_deref() == Some("22003") =>
            {
                StoreError::Overflow(format!("an account balance of the batch: {}", db.message()))
            }
            other => other,
        })?;
        Ok(())
    }

    /// SQLite has no exact type for the sum: the stored balances are read, added to in Rust
    /// and written back. The write transaction holds the database lock, so nothing changes
    /// them in between.
    async fn apply_sqlite(&self, tx: &mut Tx) -> Result<()> {
        let mut keys = Rows::new(KEY_COLUMNS);
        for (account, instrument) in self.0.keys() {
            keys.push(vec![
                account.as_str().into(),
                instrument.admin.as_str().into(),
                instrument.id.as_str().into(),
            ]);
        }
        let stored = keys
            .fetch(
                tx,
                "SELECT b.account_id, b.instrument_admin, b.instrument_id, b.balance
                 FROM {v} JOIN account_balances b
                   ON b.account_id = v.account_id AND b.instrument_admin = v.instrument_admin
                  AND b.instrument_id = v.instrument_id",
            )
            .await?;
        let mut totals = self.0.clone();
        for row in &stored {
            let key = key_of(row)?;
            if let Some(total) = totals.get_mut(&key) {
                *total = total
                    .checked_add(row.amount("balance")?)
                    .map_err(|_| overflow(&key.0, &key.1))?;
            }
        }
        let rows = balance_rows(totals.iter().map(|(k, v)| (k, *v)));
        let upsert = "INSERT INTO account_balances ({columns}) SELECT {columns} FROM {v} WHERE true
                      ON CONFLICT (account_id, instrument_admin, instrument_id)
                      DO UPDATE SET balance = excluded.balance";
        rows.run(tx, upsert).await?;
        Ok(())
    }
}

fn balance_rows<'k>(balances: impl Iterator<Item = (&'k Key, Amount)>) -> Rows {
    let mut rows = Rows::new(BALANCE_COLUMNS);
    for ((account, instrument), amount) in balances {
        rows.push(vec![
            account.as_str().into(),
            instrument.admin.as_str().into(),
            instrument.id.as_str().into(),
            amount.into(),
        ]);
    }
    rows
}

/// The stored balance; zero without a row (no journal entry).
pub(crate) async fn stored(
    tx: &mut Tx,
    account: &AccountId,
    instrument: &InstrumentId,
) -> Result<Amount> {
    let row = tx
        .query(
            "SELECT balance FROM account_balances
             WHERE account_id = $1 AND instrument_admin = $2 AND instrument_id = $3",
        )
        .bind(account.as_str())
        .bind(instrument.admin.as_str())
        .bind(instrument.id.as_str())
        .fetch_optional()
        .await?;
    row.map_or(Ok(Amount::ZERO), |r| r.amount("balance"))
}

/// The stored balances of one account, or of all accounts.
pub(crate) async fn stored_all(
    tx: &mut Tx,
    account: Option<&AccountId>,
) -> Result<BTreeMap<Key, Amount>> {
    let select =
        "SELECT account_id, instrument_admin, instrument_id, balance FROM account_balances";
    let rows = match account {
        Some(account) => {
            let sql = format!("{select} WHERE account_id = $1");
            tx.query(&sql).bind(account.as_str()).fetch_all().await?
        }
        None => tx.query(select).fetch_all().await?,
    };
    rows.iter()
        .map(|row| Ok((key_of(row)?, row.amount("balance")?)))
        .collect()
}

/// Rows of the journal read per statement when summing it in Rust (SQLite): bounds the memory
/// a large journal takes to the sums and one page.
const JOURNAL_PAGE: i64 = 50_000;

/// Every balance summed from the journal: PostgreSQL sums NUMERIC exactly (as text, so a sum
/// too wide for Numeric 10 reaches Rust and is reported as an overflow); SQLite has no exact
/// type wide enough, so its amounts are summed here, a page of entries at a time.
async fn journal_totals(tx: &mut Tx) -> Result<BTreeMap<Key, Amount>> {
    let mut totals = BTreeMap::<Key, Amount>::new();
    if tx.backend() == Backend::Postgres {
        let rows = tx
            .query(
                "SELECT account_id, instrument_admin, instrument_id, SUM(amount)::text AS total
                 FROM journal GROUP BY account_id, instrument_admin, instrument_id",
            )
            .fetch_all()
            .await?;
        for row in &rows {
            let key = key_of(row)?;
            let total = row
                .get::<String>("total")?
                .parse()
                .map_err(|_| overflow(&key.0, &key.1))?;
            totals.insert(key, total);
        }
        return Ok(totals);
    }
    let mut after = 0_i64;
    loop {
        let rows = tx
            .query(
                "SELECT entry_id, account_id, instrument_admin, instrument_id, amount FROM journal
                 WHERE entry_id > $1 ORDER BY entry_id LIMIT $2",
            )
            .bind(after)
            .bind(JOURNAL_PAGE)
            .fetch_all()
            .await?;
        for row in &rows {
            let key = key_of(row)?;
            let amount = row.amount("amount")?;
            let total = totals.entry(key.clone()).or_default();
            *total = total
                .checked_add(amount)
                .map_err(|_| overflow(&key.0, &key.1))?;
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == JOURNAL_PAGE => after = last.get("entry_id")?,
            _ => return Ok(totals),
        }
    }
}

/// Finishes migration 0011 on SQLite (see its comment): sums the journal of a DB that had one
/// before the migration into `account_balances`, in one write transaction, before the store
/// serves anything. Several processes opening the DB at once queue on the write lock; those
/// after the first find the marker gone and do nothing.
pub(crate) async fn backfill_sqlite(pool: &Pool) -> Result<()> {
    let mut tx = pool.write().await?;
    let pending = tx
        .query("SELECT id FROM account_balances_backfill")
        .fetch_optional()
        .await?;
    if pending.is_none() {
        return Ok(());
    }
    let totals = journal_totals(&mut tx).await?;
    tx.query("DELETE FROM account_balances").execute().await?;
    balance_rows(totals.iter().map(|(k, v)| (k, *v)))
        .run(
            &mut tx,
            "INSERT INTO account_balances ({columns}) SELECT {columns} FROM {v} WHERE true",
        )
        .await?;
    tx.query("DELETE FROM account_balances_backfill")
        .execute()
        .await?;
    tx.commit().await
}

/// Whether migration 0011's backfill is still to be done (SQLite; never on PostgreSQL).
pub(crate) async fn backfill_pending(pool: &sqlx::SqlitePool) -> Result<bool> {
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM account_balances_backfill")
        .fetch_one(pool)
        .await?;
    Ok(rows > 0)
}

impl Store {
    /// The account's balance of one instrument (the sum of its journal, kept in a row).
    pub async fn balance(&self, account: &AccountId, instrument: &InstrumentId) -> Result<Amount> {
        let mut tx = self.pool.read().await?;
        stored(&mut tx, account, instrument).await
    }

    /// The account's balances of every instrument it has a journal entry for.
    pub async fn balances(&self, account: &AccountId) -> Result<BTreeMap<InstrumentId, Amount>> {
        let mut tx = self.pool.read().await?;
        let all = stored_all(&mut tx, Some(account)).await?;
        Ok(all.into_iter().map(|((_, i), a)| (i, a)).collect())
    }

    /// Recomputes every balance from the journal and lists those whose stored row differs
    /// (empty when all agree), from one consistent snapshot. Reads the whole journal: for
    /// audits and status checks, not for every request.
    pub async fn check_balances(&self) -> Result<Vec<BalanceDrift>> {
        let mut tx = self.pool.read().await?;
        if tx.backend() == Backend::Postgres {
            // Both reads must see the same commits; READ COMMITTED would not guarantee it.
            tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute()
                .await?;
        }
        let mut journal = journal_totals(&mut tx).await?;
        let stored = stored_all(&mut tx, None).await?;
        let mut drifts = Vec::new();
        for (key, materialized) in stored {
            let summed = journal.remove(&key);
            if summed != Some(materialized) {
                drifts.push(drift(key, summed, Some(materialized)));
            }
        }
        drifts.extend(journal.into_iter().map(|(k, s)| drift(k, Some(s), None)));
        drifts.sort_by(|a, b| (&a.account, &a.instrument).cmp(&(&b.account, &b.instrument)));
        Ok(drifts)
    }
}

fn drift(key: Key, journal: Option<Amount>, materialized: Option<Amount>) -> BalanceDrift {
    BalanceDrift {
        account: key.0,
        instrument: key.1,
        journal,
        materialized,
    }
}
