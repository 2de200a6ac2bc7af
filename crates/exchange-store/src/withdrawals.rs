//! Withdrawals: requests from the exchange, transitions from automation and ingestion.
//! Each transition is one DB transaction; its refund and release are effects core decides
//! (`exchange_core::ingest::transition_effects`), applied here like ingestion's.

use exchange_core::changeset::{AccountId, ChangeSet, JournalCause, JournalEntry, Origin};
use exchange_core::ingest::transition_effects;
use exchange_core::selection::{self, Candidate};
use exchange_core::withdrawal::{
    WithdrawalId, WithdrawalOrder, WithdrawalPurpose, WithdrawalRequest, WithdrawalState,
    WithdrawalTransition,
};
use exchange_core::{Amount, ContractId, InstrumentId, PartyId, SynchronizerId, Timestamp};

use crate::catalog::{self, Switch};
use crate::db::{Backend, Num, Row, Tx, expect_one};
use crate::error::{Result, StoreError};
use crate::{Store, accounts, holdings, ingest, known, now};

/// A withdrawal as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Withdrawal {
    pub id: WithdrawalId,
    pub state: WithdrawalState,
    /// `None` for a recovered withdrawal: the account was lost with the request.
    pub account: Option<AccountId>,
    pub instrument: InstrumentId,
    pub amount: Amount,
    pub receiver: PartyId,
    /// `None` for a recovered withdrawal.
    pub trec_tgt: Option<Timestamp>,
    /// The synchronizer whose record time `trec_tgt` bounds, if the request named it.
    pub synchronizer: Option<SynchronizerId>,
    /// Why it failed, or other notes for people.
    pub reason: Option<String>,
    pub transfer_instruction: Option<ContractId>,
    /// The ledger update behind the latest transition, if any.
    pub last_origin: Option<Origin>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A second payment of that withdrawal, booked on its own (see `RecoveredWithdrawal`).
    pub duplicate_of: Option<WithdrawalId>,
    /// The key the exchange placed it under, if any.
    pub idempotency_key: Option<String>,
    /// The latest `executeBefore` an execution of it was signed with (see migration 0009).
    pub execute_before: Option<Timestamp>,
    /// A customer's, or a pool self-transfer (receiver: the treasury, no account).
    pub purpose: WithdrawalPurpose,
}

pub(crate) const COLUMNS: &str =
    "withdrawal_id, state, account_id, instrument_admin, instrument_id, amount,
    receiver, trec_tgt_us, synchronizer_id, reason, transfer_instruction_id, last_update_id, last_record_time_us,
    created_at_us, updated_at_us, duplicate_of, idempotency_key, purpose, execute_before_us";

pub(crate) fn from_row(row: &Row) -> Result<Withdrawal> {
    let last_origin = match row.opt_parse("last_update_id")? {
        None => None,
        Some(update_id) => Some(Origin {
            update_id,
            record_time: row.time("last_record_time_us")?,
        }),
    };
    Ok(Withdrawal {
        id: row.parse("withdrawal_id")?,
        state: row.parse("state")?,
        account: row.opt_parse("account_id")?,
        instrument: row.instrument()?,
        amount: row.amount("amount")?,
        receiver: row.party("receiver")?,
        trec_tgt: row.opt_time("trec_tgt_us")?,
        synchronizer: row.opt_parse("synchronizer_id")?,
        reason: row.get("reason")?,
        transfer_instruction: row.opt_parse("transfer_instruction_id")?,
        last_origin,
        created_at: row.time("created_at_us")?,
        updated_at: row.time("updated_at_us")?,
        duplicate_of: row.opt_parse("duplicate_of")?,
        idempotency_key: row.get("idempotency_key")?,
        execute_before: row.opt_time("execute_before_us")?,
        purpose: row.parse("purpose")?,
    })
}

pub(crate) async fn load_for_update(tx: &mut Tx, id: &WithdrawalId) -> Result<Withdrawal> {
    let lock = match tx.backend() {
        Backend::Postgres => "FOR UPDATE",
        Backend::Sqlite => "",
    };
    let sql = format!("SELECT {COLUMNS} FROM withdrawals WHERE withdrawal_id = $1 {lock}");
    let row = tx.query(&sql).bind(id.as_str()).fetch_optional().await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::UnknownWithdrawal(id.clone()))
}

/// Refuses a refund of withdrawal `id` to `account` when another account bears it now: core
/// decided the refund from what it loaded before the batch, and an operator may have
/// attributed the withdrawal (moved its debit from suspense to a customer) since. The batch
/// then fails as a conflict and is decided again from what the DB holds (ingestion retries).
pub(crate) async fn check_refund_bearer(
    tx: &mut Tx,
    id: &WithdrawalId,
    account: &AccountId,
) -> Result<()> {
    match load_for_update(tx, id).await?.account {
        Some(bearer) if &bearer != account => Err(StoreError::Conflict(format!(
            "refund of withdrawal {id} to {account}, but {bearer} bears it now"
        ))),
        _ => Ok(()),
    }
}

pub(crate) async fn load(tx: &mut Tx, id: &WithdrawalId) -> Result<Withdrawal> {
    let sql = format!("SELECT {COLUMNS} FROM withdrawals WHERE withdrawal_id = $1");
    let row = tx.query(&sql).bind(id.as_str()).fetch_optional().await?;
    row.as_ref()
        .map(from_row)
        .transpose()?
        .ok_or_else(|| StoreError::UnknownWithdrawal(id.clone()))
}

/// Applies a transition: the state only (refunds and releases are effects of their own).
/// Repeating the current state is a no-op, so redoing a step (e.g. marking a withdrawal failed
/// after a DB restore) is safe; a step the state machine does not allow is refused.
pub(crate) async fn transition(tx: &mut Tx, t: &WithdrawalTransition) -> Result<()> {
    // Locked until commit on PostgreSQL: the automation records attempts (and `submitted`) on
    // these rows all the time, and a change between this read and the update below would fail
    // the whole batch (ingestion's) as a conflict.
    let current = load_for_update(tx, &t.id).await?;
    if current.state == t.to {
        return Ok(());
    }
    if !current.state.can_transition(t.to) {
        return Err(StoreError::InvalidTransition {
            what: format!("withdrawal {}", t.id),
            from: current.state.as_str(),
            to: t.to.as_str(),
        });
    }
    // `state = $from` makes a concurrent transition lose cleanly instead of both applying.
    let changed = tx
        .query(
            "UPDATE withdrawals SET state = $2,
                 reason = COALESCE($3, reason),
                 transfer_instruction_id = COALESCE($4, transfer_instruction_id),
                 last_update_id = COALESCE($5, last_update_id),
                 last_record_time_us = COALESCE($6, last_record_time_us),
                 updated_at_us = $7
             WHERE withdrawal_id = $1 AND state = $8",
        )
        .bind(t.id.as_str())
        .bind(t.to.as_str())
        .bind(t.reason.clone())
        .bind(t.transfer_instruction.as_ref().map(|c| c.to_string()))
        .bind(t.origin.as_ref().map(|o| o.update_id.to_string()))
        .bind(t.origin.as_ref().map(|o| o.record_time.micros()))
        .bind(now().micros())
        .bind(current.state.as_str())
        .execute()
        .await?;
    expect_one(changed, || {
        StoreError::Conflict(format!("withdrawal {} changed concurrently", t.id))
    })
}

fn duplicate(error: StoreError, id: &WithdrawalId) -> StoreError {
    match error {
        StoreError::Conflict(_) => StoreError::Conflict(format!("withdrawal {id} already exists")),
        other => other,
    }
}

/// Refuses while the operator has withdrawals switched off.
pub(crate) async fn check_enabled(tx: &mut Tx) -> Result<()> {
    let switch = catalog::switch_in(tx, Switch::Withdrawals).await?;
    if !switch.enabled {
        return Err(StoreError::WithdrawalsDisabled {
            reason: switch.reason,
        });
    }
    Ok(())
}

/// Checks that the account can pay `amount`. Serializes requests of one account so two cannot
/// spend the same balance: PostgreSQL locks the account row; SQLite's write transaction already
/// holds the database lock. `FOR NO KEY UPDATE`, not `FOR UPDATE`: ingestion's journal inserts
/// take a key-share lock on the account (the foreign key), and must not wait for a request that
/// in turn waits for the holdings ingestion is updating (a deadlock). Only debits need the lock;
/// a concurrent credit can only raise the balance.
async fn check_balance(
    tx: &mut Tx,
    account: &AccountId,
    instrument: &InstrumentId,
    amount: Amount,
) -> Result<()> {
    let lock = match tx.backend() {
        Backend::Postgres => {
            "SELECT account_id FROM accounts WHERE account_id = $1 FOR NO KEY UPDATE"
        }
        Backend::Sqlite => "SELECT account_id FROM accounts WHERE account_id = $1",
    };
    if tx
        .query(lock)
        .bind(account.as_str())
        .fetch_optional()
        .await?
        .is_none()
    {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let available = accounts::balance_in(tx, account, instrument).await?;
    if available < amount {
        return Err(StoreError::InsufficientFunds {
            account: account.clone(),
            instrument: instrument.clone(),
            needed: amount,
            available,
        });
    }
    Ok(())
}

/// Inserts the request as `requested`; [`debit`] books its debit.
async fn record(tx: &mut Tx, request: &WithdrawalRequest, key: Option<&str>) -> Result<()> {
    tx.query(
        "INSERT INTO withdrawals (withdrawal_id, state, account_id, instrument_admin,
                                  instrument_id, amount, receiver, trec_tgt_us,
                                  synchronizer_id, created_at_us, updated_at_us, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)",
    )
    .bind(request.id.as_str())
    .bind(WithdrawalState::Requested.as_str())
    .bind(request.account.as_str())
    .bind(request.instrument.admin.as_str())
    .bind(request.instrument.id.as_str())
    .bind(Num(request.amount))
    .bind(request.receiver.as_str())
    .bind(request.trec_tgt.micros())
    .bind(request.synchronizer.as_ref().map(|s| s.as_str()))
    .bind(now().micros())
    .bind(key)
    .execute()
    .await
    .map_err(|e| duplicate(e, &request.id))?;
    Ok(())
}

/// Debits the account (cause `WithdrawalReserve`). Called after the holdings are reserved:
/// the debit locks the balance row (PostgreSQL), which ingestion locks after the holdings it
/// touches, so both take them in the same order and cannot deadlock.
async fn debit(tx: &mut Tx, request: &WithdrawalRequest) -> Result<()> {
    let debit = JournalEntry {
        account: request.account.clone(),
        instrument: request.instrument.clone(),
        amount: -request.amount,
        cause: JournalCause::WithdrawalReserve(request.id.clone()),
        origin: None,
    };
    accounts::book(tx, &debit).await
}

async fn by_key(tx: &mut Tx, key: &str) -> Result<Option<Withdrawal>> {
    let sql = format!("SELECT {COLUMNS} FROM withdrawals WHERE idempotency_key = $1");
    let row = tx.query(&sql).bind(key).fetch_optional().await?;
    row.as_ref().map(from_row).transpose()
}

/// The withdrawal first recorded under the order's key, if any. A key reused for a different
/// order is a conflict: returning the first would hide a bug in the caller.
async fn repeated(tx: &mut Tx, order: &WithdrawalOrder) -> Result<Option<Withdrawal>> {
    let Some(key) = order.idempotency_key.as_deref() else {
        return Ok(None);
    };
    let Some(first) = by_key(tx, key).await? else {
        return Ok(None);
    };
    let same = first.account.as_ref() == Some(&order.account)
        && first.instrument == order.instrument
        && first.amount == order.amount
        && first.receiver == order.receiver;
    if !same {
        return Err(StoreError::IdempotencyKeyReused(format!(
            "idempotency key {key:?} was used for withdrawal {} of {} {} to {}, a different request",
            first.id, first.amount, first.instrument.id, first.receiver
        )));
    }
    Ok(Some(first))
}

/// Refuses an instrument that is neither onboarded nor ever held by the treasury.
async fn check_known(tx: &mut Tx, instrument: &InstrumentId) -> Result<()> {
    if catalog::known_in(tx, instrument).await? {
        Ok(())
    } else {
        Err(StoreError::UnknownInstrument(instrument.clone()))
    }
}

/// How many of the smallest free holdings the first read of a selection takes: most
/// withdrawals are funded by a few holdings, and each further read takes [`PAGE_GROWTH`] times
/// more, so a withdrawal that needs many small holdings costs a few reads, not one per page.
const FIRST_PAGE: i64 = 32;
const PAGE_GROWTH: i64 = 8;

/// Selects the inputs among the instrument's holdings, locked for this transaction.
///
/// The selection takes the smallest spendable holdings first, so it only ever needs a prefix of
/// the free holdings in amount order: the smallest are read, a growing page at a time, until the
/// selection succeeds on them. It then chose what it would have chosen among all of them (the
/// covering prefix or the first covering run of `max_inputs` lies in the part read). Only when
/// the free holdings cannot fund it are all holdings read, reserved ones too, for the reason.
async fn select_inputs(
    tx: &mut Tx,
    order: &WithdrawalOrder,
    at: Timestamp,
) -> Result<Vec<ContractId>> {
    let mut limit = FIRST_PAGE;
    loop {
        let free = holdings::smallest_free_for_update(tx, &order.instrument, limit).await?;
        if let Ok(selected) = selection::select(&free, order.amount, at, order.policy) {
            return Ok(selected.inputs);
        }
        if (free.len() as i64) < limit {
            break;
        }
        limit = limit.saturating_mul(PAGE_GROWTH);
    }
    let candidates: Vec<Candidate> = holdings::candidates_for_update(tx, &order.instrument)
        .await?
        .into_iter()
        .map(|record| Candidate {
            contract_id: record.holding.contract_id,
            amount: record.holding.amount,
            lock: record.holding.lock,
            reserved: record.reserved_by.is_some(),
        })
        .collect();
    selection::select(&candidates, order.amount, at, order.policy)
        .map(|selected| selected.inputs)
        .map_err(|e| StoreError::NoSpendableHoldings(Box::new(e)))
}

fn check_order(order: &WithdrawalOrder) -> Result<()> {
    if !order.amount.is_positive() {
        return Err(StoreError::Invalid(format!(
            "withdrawal {} has a non-positive amount {}",
            order.id, order.amount
        )));
    }
    if order.ttl_micros <= 0 {
        return Err(StoreError::Invalid(format!(
            "withdrawal {} has a non-positive ttl ({} µs)",
            order.id, order.ttl_micros
        )));
    }
    Ok(())
}

impl Store {
    /// Records a customer's withdrawal request (Step 2 of the workflows) in one transaction:
    /// checks that withdrawals are enabled and the balance suffices, debits the account
    /// (cause `WithdrawalReserve`), stores the request as `requested` and reserves the holdings
    /// it names. [`Store::place_withdrawal`] selects the holdings itself.
    pub async fn request_withdrawal(&self, request: &WithdrawalRequest) -> Result<()> {
        if !request.amount.is_positive() {
            return Err(StoreError::Invalid(format!(
                "withdrawal {} has a non-positive amount {}",
                request.id, request.amount
            )));
        }
        let mut tx = self.pool.write().await?;
        check_enabled(&mut tx).await?;
        check_balance(
            &mut tx,
            &request.account,
            &request.instrument,
            request.amount,
        )
        .await?;
        record(&mut tx, request, None).await?;
        for holding in &request.holdings {
            holdings::reserve(&mut tx, holding, &request.instrument, &request.id).await?;
        }
        debit(&mut tx, request).await?;
        tx.commit().await
    }

    /// Places a customer's withdrawal in one transaction: refuses unless withdrawals are
    /// enabled, the instrument known and the balance sufficient; selects and reserves the
    /// treasury holdings that fund it, debits the account and records it as `requested` with
    /// `trecTgt = now + ttl`. A repeated idempotency key returns the first withdrawal instead
    /// (even while withdrawals are switched off: it was accepted before).
    pub async fn place_withdrawal(&self, order: &WithdrawalOrder) -> Result<Withdrawal> {
        check_order(order)?;
        match crate::error::retrying(|| self.place_once(order)).await {
            // Another request with the same key committed first: answer with it.
            Err(StoreError::Conflict(why)) if order.idempotency_key.is_some() => {
                let mut tx = self.pool.read().await?;
                repeated(&mut tx, order)
                    .await?
                    .ok_or(StoreError::Conflict(why))
            }
            other => other,
        }
    }

    async fn place_once(&self, order: &WithdrawalOrder) -> Result<Withdrawal> {
        let mut tx = self.pool.write().await?;
        if let Some(first) = repeated(&mut tx, order).await? {
            return Ok(first);
        }
        check_enabled(&mut tx).await?;
        check_known(&mut tx, &order.instrument).await?;
        check_balance(&mut tx, &order.account, &order.instrument, order.amount).await?;
        let at = now();
        let trec_tgt = at.checked_add_micros(order.ttl_micros).ok_or_else(|| {
            StoreError::Invalid(format!("ttl {} µs is too long", order.ttl_micros))
        })?;
        let inputs = select_inputs(&mut tx, order, at).await?;
        let request = WithdrawalRequest {
            id: order.id.clone(),
            account: order.account.clone(),
            instrument: order.instrument.clone(),
            amount: order.amount,
            receiver: order.receiver.clone(),
            trec_tgt,
            synchronizer: order.synchronizer.clone(),
            holdings: inputs,
        };
        record(&mut tx, &request, order.idempotency_key.as_deref()).await?;
        for holding in &request.holdings {
            holdings::reserve_selected(&mut tx, holding, &request.id).await?;
        }
        debit(&mut tx, &request).await?;
        let placed = load(&mut tx, &request.id).await?;
        tx.commit().await?;
        Ok(placed)
    }

    /// Every withdrawal, or those in `state`, oldest first.
    pub async fn withdrawals(&self, state: Option<WithdrawalState>) -> Result<Vec<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        let filter = if state.is_some() {
            "WHERE state = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM withdrawals {filter} ORDER BY created_at_us, withdrawal_id"
        );
        let mut query = tx.query(&sql);
        if let Some(state) = state {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all().await?;
        rows.iter().map(from_row).collect()
    }

    /// A transition decided outside ingestion (e.g. `submitted`, or `failed` for lack of a
    /// transfer preapproval); one transaction, with the refund and release core decides for it
    /// (the same rule as ingestion's).
    pub async fn transition_withdrawal(&self, transition: &WithdrawalTransition) -> Result<()> {
        crate::error::retrying(|| self.transition_withdrawal_once(transition)).await
    }

    async fn transition_withdrawal_once(&self, transition: &WithdrawalTransition) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let current = known::known_withdrawal(&mut tx, &transition.id).await?;
        let effects = transition_effects(&current, transition.clone()).map_err(|e| {
            StoreError::InvalidTransition {
                what: format!("withdrawal {}", transition.id),
                from: e.from.as_str(),
                to: e.to.as_str(),
            }
        })?;
        let changes = ChangeSet {
            effects,
            ..ChangeSet::default()
        };
        ingest::apply(&mut tx, &changes).await?;
        tx.commit().await
    }

    pub async fn withdrawal(&self, id: &WithdrawalId) -> Result<Option<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        match load(&mut tx, id).await {
            Ok(w) => Ok(Some(w)),
            Err(StoreError::UnknownWithdrawal(_)) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Withdrawals in `state`, oldest first (the automation's queue for `Requested`).
    pub async fn withdrawals_in_state(&self, state: WithdrawalState) -> Result<Vec<Withdrawal>> {
        let mut tx = self.pool.read().await?;
        let sql = format!(
            "SELECT {COLUMNS} FROM withdrawals WHERE state = $1 ORDER BY created_at_us, withdrawal_id"
        );
        let rows = tx.query(&sql).bind(state.as_str()).fetch_all().await?;
        rows.iter().map(from_row).collect()
    }

    /// The latest `trecTgt` of withdrawals whose outcome is not known yet (`requested`,
    /// `submitted`): `tSafe` of the DB-restore runbook must pass it.
    pub async fn latest_in_flight_trec_tgt(&self) -> Result<Option<Timestamp>> {
        let mut tx = self.pool.read().await?;
        let row = tx
            .query("SELECT MAX(trec_tgt_us) AS latest FROM withdrawals WHERE state IN ($1, $2)")
            .bind(WithdrawalState::Requested.as_str())
            .bind(WithdrawalState::Submitted.as_str())
            .fetch_optional()
            .await?;
        match row {
            Some(row) => row.opt_time("latest"),
            None => Ok(None),
        }
    }
}
