//! The read side of ingestion: loads what a batch touches ([`Needs`]) into the fold's
//! [`Known`] state, with one query per table (ids in `IN` lists), in one read transaction so
//! the batch sees one consistent DB.

use std::collections::{HashMap, HashSet};

use exchange_core::changeset::JournalCause;
use exchange_core::ingest::{Known, KnownHolding, KnownWithdrawal, Needs};
use exchange_core::withdrawal::{WithdrawalId, WithdrawalPurpose, WithdrawalState};

use crate::db::{Backend, Row, Tx};
use crate::error::{Result, StoreError};
use crate::{Store, deposits, holdings, ingest, instructions, withdrawals};

/// Ids per `IN` list on SQLite, well below its 32,766 bound parameters.
const CHUNK: usize = 2000;

/// Runs `select … WHERE {column} IN (…)` for `ids`: one `= ANY($1)` array on PostgreSQL,
/// chunked `IN` lists on SQLite.
async fn rows_in(tx: &mut Tx, select: &str, column: &str, ids: &[&str]) -> Result<Vec<Row>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    if tx.backend() == Backend::Postgres {
        let sql = format!("{select} WHERE {column} = ANY($1)");
        let ids: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
        return tx.query(&sql).bind_pg(ids).fetch_all().await;
    }
    let mut rows = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        // `?`, not `$N`: SQLite parses long lists of numbered names in quadratic time.
        let list = vec!["?"; chunk.len()].join(", ");
        let sql = format!("{select} WHERE {column} IN ({list})");
        let mut query = tx.query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        rows.extend(query.fetch_all().await?);
    }
    Ok(rows)
}

fn strs<T: AsRef<str>>(set: &HashSet<T>) -> Vec<&str> {
    set.iter().map(AsRef::as_ref).collect()
}

impl Store {
    /// Adds to `known` what the DB has of `needs` (rows already in `known` are overwritten).
    pub async fn load_known(&self, needs: &Needs, known: &mut Known) -> Result<()> {
        let mut tx = self.pool.read().await?;
        let contracts: Vec<&str> = needs.contracts.iter().map(String::as_str).collect();
        let select = format!("SELECT {} FROM holdings", holdings::COLUMNS);
        for row in rows_in(&mut tx, &select, "contract_id", &contracts).await? {
            let record = holdings::from_row(&row)?;
            known.holdings.insert(
                record.holding.contract_id.clone(),
                KnownHolding {
                    archived: record.archived.is_some(),
                    holding: record.holding,
                },
            );
        }
        let select = format!(
            "SELECT {} FROM transfer_instructions",
            instructions::COLUMNS
        );
        for row in rows_in(&mut tx, &select, "contract_id", &contracts).await? {
            let i = instructions::from_row(&row)?;
            known.instructions.insert(i.contract_id.clone(), i);
        }

        let select = "SELECT update_id FROM ingested_updates";
        let rows = if tx.backend() == Backend::Sqlite {
            // Through the index on the ids' first characters (migration 0005); the full id is
            // matched here.
            let prefixes: HashSet<&str> = needs
                .update_ids
                .iter()
                .map(|id| ingest::update_id_prefix(id))
                .collect();
            let prefixes: Vec<&str> = prefixes.into_iter().collect();
            let column = format!("substr(update_id, 1, {})", ingest::UPDATE_ID_PREFIX);
            let mut rows = Vec::new();
            for row in rows_in(&mut tx, select, &column, &prefixes).await? {
                let id: String = row.get("update_id")?;
                if needs.update_ids.contains(&id) {
                    rows.push(row);
                }
            }
            rows
        } else {
            let updates: Vec<&str> = needs.update_ids.iter().map(String::as_str).collect();
            rows_in(&mut tx, select, "update_id", &updates).await?
        };
        for row in rows {
            known.ingested.insert(row.update("update_id")?);
        }
        let rows = tx
            .query("SELECT synchronizer_id, record_time_us FROM synchronizer_record_times")
            .fetch_all()
            .await?;
        for row in rows {
            known.record_times.insert(
                row.synchronizer("synchronizer_id")?,
                row.time("record_time_us")?,
            );
        }
        known.quarantine_held = crate::quarantine::any_held(&mut tx).await?;

        let select = "SELECT account_id FROM accounts";
        for row in rows_in(&mut tx, select, "account_id", &strs(&needs.accounts)).await? {
            known.accounts.insert(row.parse("account_id")?);
        }
        // Incoming offers the batch's record times may expire, with their deposits (a little
        // early: core adds the tolerance between ledger and record time).
        let mut deposit_ids: Vec<String> = strs(&needs.deposits)
            .into_iter()
            .map(str::to_owned)
            .collect();
        if let Some(before) = needs.due_before {
            for i in instructions::incoming_pending_due(&mut tx, before.micros()).await? {
                deposit_ids
                    .push(exchange_core::ingest::offer_deposit_id(&i.contract_id).to_string());
                known.instructions.insert(i.contract_id.clone(), i);
            }
        }
        let deposit_ids: Vec<&str> = deposit_ids.iter().map(String::as_str).collect();
        let select = format!("SELECT {} FROM deposits", deposits::COLUMNS);
        for row in rows_in(&mut tx, &select, "deposit_id", &deposit_ids).await? {
            let d = deposits::from_row(&row)?.deposit;
            known.deposits.insert(d.id.clone(), d);
        }

        let select = format!("SELECT {} FROM withdrawals", withdrawals::COLUMNS);
        let mut rows =
            rows_in(&mut tx, &select, "withdrawal_id", &strs(&needs.withdrawals)).await?;
        if let Some(before) = needs.due_before {
            // Offers a little early (core adds the tolerance between ledger and record time).
            // Recovered offers expire like the automation's (their `executeBefore` is set).
            let sql = format!(
                "{select} WHERE (state IN ($1, $2) AND trec_tgt_us < $3)
                    OR (state IN ($4, $5) AND execute_before_us <= $3)"
            );
            rows.extend(
                tx.query(&sql)
                    .bind(WithdrawalState::Requested.as_str())
                    .bind(WithdrawalState::Submitted.as_str())
                    .bind(before.micros())
                    .bind(WithdrawalState::PendingAcceptance.as_str())
                    .bind(WithdrawalState::Recovered.as_str())
                    .fetch_all()
                    .await?,
            );
        }
        known
            .withdrawals
            .extend(known_withdrawals(&mut tx, &rows).await?);
        Ok(())
    }
}

/// What the fold knows of the withdrawals in `rows` (rows of `withdrawals::COLUMNS`).
async fn known_withdrawals(
    tx: &mut Tx,
    rows: &[Row],
) -> Result<HashMap<WithdrawalId, KnownWithdrawal>> {
    let mut known = HashMap::new();
    let mut recovered: Vec<WithdrawalId> = Vec::new();
    for row in rows {
        let w = withdrawals::from_row(row)?;
        // A pool transfer has no account either, and nothing was debited for it.
        if w.account.is_none() && w.purpose == WithdrawalPurpose::Customer {
            recovered.push(w.id.clone());
        }
        known.insert(
            w.id.clone(),
            KnownWithdrawal {
                state: w.state,
                instrument: w.instrument,
                amount: w.amount,
                trec_tgt: w.trec_tgt,
                synchronizer: w.synchronizer,
                debited: w.account,
                last_update: w.last_origin.map(|o| o.update_id),
                transfer_instruction: w.transfer_instruction,
                purpose: w.purpose,
                offer_expires: w.execute_before,
            },
        );
    }
    // A recovered withdrawal without an account (not attributed): the journal says which one
    // ingestion debited (suspense, or a duplicate's).
    let ids: Vec<&str> = recovered.iter().map(WithdrawalId::as_str).collect();
    let select = "SELECT cause_kind, cause_ref, account_id FROM journal";
    for row in rows_in(tx, select, "cause_ref", &ids).await? {
        let kind: String = row.get("cause_kind")?;
        let reference: String = row.get("cause_ref")?;
        if let Some(JournalCause::WithdrawalReserve(id)) =
            JournalCause::from_parts(&kind, &reference)
            && let Some(w) = known.get_mut(&id)
        {
            w.debited = Some(row.parse("account_id")?);
        }
    }
    Ok(known)
}

/// What the fold would know of withdrawal `id`, read in `tx` (for a transition decided outside
/// ingestion, so that it follows the same rules).
pub(crate) async fn known_withdrawal(tx: &mut Tx, id: &WithdrawalId) -> Result<KnownWithdrawal> {
    let sql = format!(
        "SELECT {} FROM withdrawals WHERE withdrawal_id = $1",
        withdrawals::COLUMNS
    );
    let rows = tx.query(&sql).bind(id.as_str()).fetch_all().await?;
    known_withdrawals(tx, &rows)
        .await?
        .remove(id)
        .ok_or_else(|| StoreError::UnknownWithdrawal(id.clone()))
}
