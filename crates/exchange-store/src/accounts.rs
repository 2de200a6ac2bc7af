//! Deposit accounts and the customer journal (the balances derived from it: `balances`).

use exchange_core::changeset::{AccountId, JournalCause, JournalEntry, Origin};
use exchange_core::{Amount, InstrumentId, Timestamp};

use crate::balances::{self, Deltas};
use crate::db::{Num, Row, Tx};
use crate::error::{Result, StoreError};
use crate::{Store, now};

/// A deposit account and the customer it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub customer_id: String,
    pub created_at: Timestamp,
}

/// A booked journal entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalRecord {
    /// Increasing in booking order.
    pub entry_id: i64,
    pub entry: JournalEntry,
    pub booked_at: Timestamp,
}

/// Books one entry; a cause booked before fails with [`StoreError::Conflict`], an unknown
/// account too (foreign key).
pub(crate) async fn book(tx: &mut Tx, entry: &JournalEntry) -> Result<()> {
    tx.query(
        "INSERT INTO journal (account_id, instrument_admin, instrument_id, amount, cause_kind,
                              cause_ref, update_id, record_time_us, booked_at_us)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(entry.account.as_str())
    .bind(entry.instrument.admin.as_str())
    .bind(entry.instrument.id.as_str())
    .bind(Num(entry.amount))
    .bind(entry.cause.kind())
    .bind(entry.cause.reference())
    .bind(entry.origin.as_ref().map(|o| o.update_id.to_string()))
    .bind(entry.origin.as_ref().map(|o| o.record_time.micros()))
    .bind(now().micros())
    .execute()
    .await
    .map_err(|error| match error {
        StoreError::Conflict(why) => StoreError::Conflict(format!(
            "journal entry {} {} for account {}: {why}",
            entry.cause.kind(),
            entry.cause.reference(),
            entry.account
        )),
        other => other,
    })?;
    let mut delta = Deltas::default();
    delta.add(entry)?;
    delta.apply(tx).await
}

/// The balance inside a transaction, so a withdrawal request can check and debit atomically:
/// one row of `account_balances`, whatever the length of the account's journal.
pub(crate) async fn balance_in(
    tx: &mut Tx,
    account: &AccountId,
    instrument: &InstrumentId,
) -> Result<Amount> {
    balances::stored(tx, account, instrument).await
}

pub(crate) fn journal_from_row(row: &Row) -> Result<JournalRecord> {
    let kind: String = row.get("cause_kind")?;
    let reference: String = row.get("cause_ref")?;
    let cause = JournalCause::from_parts(&kind, &reference)
        .ok_or_else(|| StoreError::Corrupt(format!("journal cause {kind:?} {reference:?}")))?;
    let origin = match row.opt_parse("update_id")? {
        None => None,
        Some(update_id) => Some(Origin {
            update_id,
            record_time: row.time("record_time_us")?,
        }),
    };
    Ok(JournalRecord {
        entry_id: row.get("entry_id")?,
        entry: JournalEntry {
            account: row.parse("account_id")?,
            instrument: row.instrument()?,
            amount: row.amount("amount")?,
            cause,
            origin,
        },
        booked_at: row.time("booked_at_us")?,
    })
}

impl Store {
    /// Registers a deposit account; an existing id is a [`StoreError::Conflict`].
    pub async fn create_account(&self, id: &AccountId, customer_id: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.query(
            "INSERT INTO accounts (account_id, customer_id, created_at_us) VALUES ($1, $2, $3)",
        )
        .bind(id.as_str())
        .bind(customer_id)
        .bind(now().micros())
        .execute()
        .await?;
        tx.commit().await
    }

    pub async fn account(&self, id: &AccountId) -> Result<Option<Account>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query(
                "SELECT account_id, customer_id, created_at_us FROM accounts WHERE account_id = $1",
            )
            .bind(id.as_str())
            .fetch_optional()
            .await?;
        row.map(|row| {
            Ok(Account {
                id: row.parse("account_id")?,
                customer_id: row.get("customer_id")?,
                created_at: row.time("created_at_us")?,
            })
        })
        .transpose()
    }

    /// Every deposit account, by id.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query(
                "SELECT account_id, customer_id, created_at_us FROM accounts ORDER BY account_id",
            )
            .fetch_all()
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Account {
                    id: row.parse("account_id")?,
                    customer_id: row.get("customer_id")?,
                    created_at: row.time("created_at_us")?,
                })
            })
            .collect()
    }

    /// The account's journal, oldest first.
    pub async fn journal(&self, account: &AccountId) -> Result<Vec<JournalRecord>> {
        let mut tx = self.pool.read().await?;
        let rows = tx
            .query(
                "SELECT entry_id, account_id, instrument_admin, instrument_id, amount, cause_kind,
                        cause_ref, update_id, record_time_us, booked_at_us
                 FROM journal WHERE account_id = $1 ORDER BY entry_id",
            )
            .bind(account.as_str())
            .fetch_all()
            .await?;
        rows.iter().map(journal_from_row).collect()
    }
}
