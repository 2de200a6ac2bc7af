//! Keyset pages of the lists the REST API serves: each page starts after the last row of the
//! one before (its sort key), so a page costs the same however deep it is and rows inserted
//! meanwhile are neither skipped nor repeated. Row-value comparisons (`(a, b) > ($1, $2)`)
//! work on both backends.

use std::collections::BTreeMap;

use exchange_core::changeset::{AccountId, DepositState};
use exchange_core::withdrawal::WithdrawalState;
use exchange_core::{Amount, InstrumentId, Timestamp};

use crate::accounts::{Account, JournalRecord};
use crate::db::Tx;
use crate::deposits::DepositRecord;
use crate::error::Result;
use crate::withdrawals::Withdrawal;
use crate::{Store, deposits, withdrawals};

/// Up to `limit` rows, and whether more follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// Where a list ordered by (time, id) resumes: after this row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct After {
    pub micros: i64,
    pub id: String,
}

/// Which withdrawals a page lists.
#[derive(Clone, Debug, Default)]
pub struct WithdrawalFilter {
    pub state: Option<WithdrawalState>,
    pub account: Option<AccountId>,
}

/// Which deposits a page lists; times bound the record time of the update that recorded
/// the deposit, `from` included, `until` excluded.
#[derive(Clone, Debug, Default)]
pub struct DepositFilter {
    pub state: Option<DepositState>,
    pub account: Option<AccountId>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// A WHERE clause built condition by condition, with its parameters in `$n` order.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    params: Vec<Param>,
}

enum Param {
    Text(String),
    Int(i64),
}

impl Conditions {
    fn next(&self) -> usize {
        self.params.len() + 1
    }

    fn text(&mut self, column: &str, value: String) {
        self.sql.push(format!("{column} = ${}", self.next()));
        self.params.push(Param::Text(value));
    }

    fn int(&mut self, condition: &str, value: i64) {
        self.sql
            .push(condition.replace('?', &format!("${}", self.next())));
        self.params.push(Param::Int(value));
    }

    fn after(&mut self, columns: &str, after: &After) {
        let n = self.next();
        self.sql.push(format!("({columns}) > (${n}, ${})", n + 1));
        self.params.push(Param::Int(after.micros));
        self.params.push(Param::Text(after.id.clone()));
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }

    /// Runs `SELECT … {clause} ORDER BY … LIMIT limit + 1`: the extra row says whether more
    /// follow.
    async fn fetch(
        self,
        tx: &mut Tx,
        select: &str,
        order: &str,
        limit: u32,
    ) -> Result<Vec<crate::db::Row>> {
        let sql = format!(
            "{select} {} ORDER BY {order} LIMIT {}",
            self.clause(),
            u64::from(limit) + 1
        );
        let mut query = tx.query(&sql);
        for param in self.params {
            query = match param {
                Param::Text(t) => query.bind(t),
                Param::Int(i) => query.bind(i),
            };
        }
        query.fetch_all().await
    }
}

fn page<T>(mut items: Vec<T>, limit: u32) -> Page<T> {
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    Page { items, more }
}

impl Store {
    /// Deposit accounts by id, after `after`.
    pub async fn accounts_page(&self, after: Option<&str>, limit: u32) -> Result<Page<Account>> {
        let mut tx = self.pool.read().await?;
        let mut conditions = Conditions::default();
        if let Some(after) = after {
            conditions.sql.push("account_id > $1".into());
            conditions.params.push(Param::Text(after.to_owned()));
        }
        let rows = conditions
            .fetch(
                &mut tx,
                "SELECT account_id, customer_id, created_at_us FROM accounts",
                "account_id",
                limit,
            )
            .await?;
        let items = rows
            .iter()
            .map(|row| {
                Ok(Account {
                    id: row.parse("account_id")?,
                    customer_id: row.get("customer_id")?,
                    created_at: row.time("created_at_us")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    /// The account's journal in booking order, after entry `after`.
    pub async fn journal_page(
        &self,
        account: &AccountId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<JournalRecord>> {
        let mut tx = self.pool.read().await?;
        let mut conditions = Conditions::default();
        conditions.text("account_id", account.to_string());
        if let Some(after) = after {
            conditions.int("entry_id > ?", after);
        }
        let rows = conditions
            .fetch(
                &mut tx,
                "SELECT entry_id, account_id, instrument_admin, instrument_id, amount, cause_kind,
                        cause_ref, update_id, record_time_us, booked_at_us FROM journal",
                "entry_id",
                limit,
            )
            .await?;
        let items = rows
            .iter()
            .map(crate::accounts::journal_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    /// Withdrawals by creation time (then id), after `after`.
    pub async fn withdrawals_page(
        &self,
        filter: &WithdrawalFilter,
        after: Option<&After>,
        limit: u32,
    ) -> Result<Page<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        let mut conditions = Conditions::default();
        if let Some(state) = filter.state {
            conditions.text("state", state.as_str().to_owned());
        }
        if let Some(account) = &filter.account {
            conditions.text("account_id", account.to_string());
        }
        if let Some(after) = after {
            conditions.after("created_at_us, withdrawal_id", after);
        }
        let select = format!("SELECT {} FROM withdrawals", withdrawals::COLUMNS);
        let rows = conditions
            .fetch(&mut tx, &select, "created_at_us, withdrawal_id", limit)
            .await?;
        let items = rows
            .iter()
            .map(withdrawals::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    /// Deposits by the record time that first recorded them (then id), after `after`.
    pub async fn deposits_page(
        &self,
        filter: &DepositFilter,
        after: Option<&After>,
        limit: u32,
    ) -> Result<Page<DepositRecord>> {
        let mut tx = self.pool.read().await?;
        let mut conditions = Conditions::default();
        if let Some(state) = filter.state {
            conditions.text("state", state.as_str().to_owned());
        }
        if let Some(account) = &filter.account {
            conditions.text("account_id", account.to_string());
        }
        if let Some(from) = filter.from {
            conditions.int("created_record_time_us >= ?", from.micros());
        }
        if let Some(until) = filter.until {
            conditions.int("created_record_time_us < ?", until.micros());
        }
        if let Some(after) = after {
            conditions.after("created_record_time_us, deposit_id", after);
        }
        let select = format!("SELECT {} FROM deposits", deposits::COLUMNS);
        let rows = conditions
            .fetch(
                &mut tx,
                &select,
                "created_record_time_us, deposit_id",
                limit,
            )
            .await?;
        let items = rows
            .iter()
            .map(deposits::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit))
    }

    /// Every account's balance of every instrument it has a journal entry for: what the
    /// exchange owes, for reconciliation against the holdings.
    pub async fn all_balances(&self) -> Result<BTreeMap<(AccountId, InstrumentId), Amount>> {
        let mut tx = self.pool.read().await?;
        crate::balances::stored_all(&mut tx, None).await
    }
}
