-- Each account's balance per instrument, kept equal to the sum of its journal: every journal
-- insert updates it in the same transaction, so a withdrawal request checks one row instead of
-- summing the account's whole journal. A row exists for every (account, instrument) with a
-- journal entry; none means zero. `balance` is canonical decimal TEXT, like the journal's
-- amounts. No foreign key: rows are only written with journal entries, which have one.
CREATE TABLE account_balances (
    account_id       TEXT NOT NULL,
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    balance          TEXT NOT NULL,
    PRIMARY KEY (account_id, instrument_admin, instrument_id)
) WITHOUT ROWID;

-- SQLite cannot sum decimal text exactly, so the backfill of an existing journal happens in
-- Rust, when the store is next opened for writing (before it serves anything), and deletes
-- this row in the same transaction. While the row exists, read-only opens refuse the DB as not
-- fully migrated. A DB with an empty journal (every new one) needs no backfill.
CREATE TABLE account_balances_backfill (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);
INSERT INTO account_balances_backfill (id) SELECT 1 WHERE EXISTS (SELECT 1 FROM journal);
