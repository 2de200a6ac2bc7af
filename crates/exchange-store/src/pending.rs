//! The ingestion write path's batching: effects that commute wait here and are written with
//! one statement per table (see [`crate::ingest::apply`]).

use std::collections::HashSet;

use exchange_core::InstrumentId;
use exchange_core::changeset::JournalEntry;

use crate::balances::Deltas;
use crate::bulk::{Kind, Rows};
use crate::db::Tx;
use crate::error::{Result, StoreError};

const HOLDING_COLUMNS: &[(&str, Kind)] = &[
    ("contract_id", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
    ("amount", Kind::Num),
    ("locked", Kind::Bool),
    ("lock_json", Kind::Text),
    ("created_update_id", Kind::Text),
    ("created_record_time_us", Kind::Int),
    ("held_back", Kind::Text),
];
const INSTRUMENT_COLUMNS: &[(&str, Kind)] = &[
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
];
const ARCHIVE_COLUMNS: &[(&str, Kind)] = &[
    ("contract_id", Kind::Text),
    ("archived_update_id", Kind::Text),
    ("archived_record_time_us", Kind::Int),
];
const DEPOSIT_COLUMNS: &[(&str, Kind)] = &[
    ("deposit_id", Kind::Text),
    ("state", Kind::Text),
    ("account_id", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
    ("amount", Kind::Num),
    ("sender", Kind::Text),
    ("transfer_instruction_id", Kind::Text),
    ("created_update_id", Kind::Text),
    ("created_record_time_us", Kind::Int),
    ("updated_update_id", Kind::Text),
    ("updated_record_time_us", Kind::Int),
    ("held_back", Kind::Text),
];
const RECOVERED_COLUMNS: &[(&str, Kind)] = &[
    ("withdrawal_id", Kind::Text),
    ("state", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
    ("amount", Kind::Num),
    ("receiver", Kind::Text),
    ("transfer_instruction_id", Kind::Text),
    ("last_update_id", Kind::Text),
    ("last_record_time_us", Kind::Int),
    ("created_at_us", Kind::Int),
    ("updated_at_us", Kind::Int),
    ("duplicate_of", Kind::Text),
    ("account_id", Kind::Text),
    ("execute_before_us", Kind::Int),
    ("synchronizer_id", Kind::Text),
];
const JOURNAL_COLUMNS: &[(&str, Kind)] = &[
    ("account_id", Kind::Text),
    ("instrument_admin", Kind::Text),
    ("instrument_id", Kind::Text),
    ("amount", Kind::Num),
    ("cause_kind", Kind::Text),
    ("cause_ref", Kind::Text),
    ("update_id", Kind::Text),
    ("record_time_us", Kind::Int),
    ("booked_at_us", Kind::Int),
];

/// Effects waiting for one statement per table.
pub(crate) struct Pending {
    pub(crate) holdings: Rows,
    /// The instruments of recognized holdings not yet in `holding_instruments` as far as this
    /// batch knows, each once.
    pub(crate) instruments: Rows,
    /// Every instrument `instruments` took in this batch (not cleared by a flush).
    pub(crate) instruments_seen: HashSet<InstrumentId>,
    pub(crate) archives: Rows,
    pub(crate) deposits: Rows,
    pub(crate) withdrawals: Rows,
    /// In booking order (entry ids increase in it).
    pub(crate) journal: Rows,
    /// The journal's net change per balance, for the whole batch (not cleared by a flush).
    pub(crate) deltas: Deltas,
}

impl Pending {
    pub(crate) fn new() -> Pending {
        Pending {
            holdings: Rows::new(HOLDING_COLUMNS),
            instruments: Rows::new(INSTRUMENT_COLUMNS),
            instruments_seen: HashSet::new(),
            archives: Rows::new(ARCHIVE_COLUMNS),
            deposits: Rows::new(DEPOSIT_COLUMNS),
            withdrawals: Rows::new(RECOVERED_COLUMNS),
            journal: Rows::new(JOURNAL_COLUMNS),
            deltas: Deltas::default(),
        }
    }

    /// The batch records a recognized holding of `instrument` (see `holding_instruments`).
    pub(crate) fn held_instrument(&mut self, instrument: &InstrumentId) {
        if self.instruments_seen.insert(instrument.clone()) {
            self.instruments.push(vec![
                instrument.admin.as_str().into(),
                instrument.id.as_str().into(),
            ]);
        }
    }

    pub(crate) fn journal(&mut self, entry: &JournalEntry) -> Result<()> {
        self.deltas.add(entry)?;
        self.journal.push(vec![
            entry.account.as_str().into(),
            entry.instrument.admin.as_str().into(),
            entry.instrument.id.as_str().into(),
            entry.amount.into(),
            entry.cause.kind().into(),
            entry.cause.reference().into(),
            entry
                .origin
                .as_ref()
                .map(|o| o.update_id.to_string())
                .into(),
            entry.origin.as_ref().map(|o| o.record_time.micros()).into(),
            crate::now().micros().into(),
        ]);
        Ok(())
    }

    /// Writes what is pending: creations before archivals (a holding may be created and spent
    /// in one batch), the rest in any order as no row depends on another.
    pub(crate) async fn flush(&mut self, tx: &mut Tx) -> Result<()> {
        self.holdings
            .run(
                tx,
                "INSERT INTO holdings ({columns}) SELECT {columns} FROM {v} WHERE true",
            )
            .await
            .map_err(|e| conflict(e, "a holding of the batch is already recorded"))?;
        // `WHERE true`: SQLite reads an `ON CONFLICT` after a bare `FROM` as a join constraint.
        self.instruments
            .run(
                tx,
                "INSERT INTO holding_instruments ({columns}) SELECT {columns} FROM {v} WHERE true
                 ON CONFLICT DO NOTHING",
            )
            .await?;
        if !self.archives.is_empty() {
            let archived = self
                .archives
                .run(
                    tx,
                    "UPDATE holdings SET archived_update_id = v.archived_update_id,
                         archived_record_time_us = v.archived_record_time_us
                     FROM {v}
                     WHERE holdings.contract_id = v.contract_id
                       AND holdings.archived_update_id IS NULL
                     RETURNING holdings.contract_id",
                )
                .await?;
            if archived.len() != self.archives.len() {
                let done = archived
                    .iter()
                    .map(|r| r.get::<String>("contract_id"))
                    .collect::<Result<HashSet<String>>>()?;
                let mut seen = HashSet::new();
                let missing = self
                    .archives
                    .texts(0)
                    .find(|c| !done.contains(*c) || !seen.insert(*c))
                    .unwrap_or_default();
                return Err(StoreError::Conflict(format!(
                    "holding {missing} is not an active treasury holding"
                )));
            }
        }
        self.deposits
            .run(
                tx,
                "INSERT INTO deposits ({columns}) SELECT {columns} FROM {v} WHERE true",
            )
            .await
            .map_err(|e| conflict(e, "a deposit of the batch is already recorded"))?;
        self.withdrawals
            .run(
                tx,
                "INSERT INTO withdrawals ({columns}) SELECT {columns} FROM {v} WHERE true",
            )
            .await
            .map_err(|e| conflict(e, "a recovered withdrawal of the batch already exists"))?;
        self.journal
            .run(
                tx,
                "INSERT INTO journal ({columns}) SELECT {columns} FROM {v} WHERE true",
            )
            .await
            .map_err(|e| conflict(e, "a journal entry of the batch"))?;
        self.holdings.clear();
        self.instruments.clear();
        self.archives.clear();
        self.deposits.clear();
        self.withdrawals.clear();
        self.journal.clear();
        Ok(())
    }
}

fn conflict(error: StoreError, what: &str) -> StoreError {
    match error {
        StoreError::Conflict(why) => StoreError::Conflict(format!("{what}: {why}")),
        other => other,
    }
}
