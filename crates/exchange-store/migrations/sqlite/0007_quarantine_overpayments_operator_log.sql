-- Transactions ingestion could not parse, set aside when the operator chose so
-- (`ingest --quarantine-unparseable`) instead of stopping. Nothing that touches the treasury is
-- skipped silently: the raw transaction stays here until `quarantine retry` re-processes it
-- (state 'released', its effects committed then, once). A held transaction is recorded in
-- `ingested_updates` like any other, so no replay takes it up again; only `quarantine retry` does.
CREATE TABLE quarantine (
    update_id          TEXT PRIMARY KEY,
    ledger_offset      INTEGER NOT NULL,
    record_time_us     INTEGER NOT NULL,
    synchronizer_id    TEXT NOT NULL,
    error              TEXT NOT NULL,
    raw_json           TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('held', 'released')),
    quarantined_at_us  INTEGER NOT NULL,
    released_at_us     INTEGER
);
CREATE INDEX quarantine_by_state ON quarantine (state, ledger_offset);

-- A second payment of a known withdrawal (same memo, another transfer) is booked as a
-- recovered withdrawal of its own, debited to suspense; this names the withdrawal it repeats.
ALTER TABLE withdrawals ADD COLUMN duplicate_of TEXT;

-- Operator decisions that bypass a safety check (e.g. re-pointing the checkpoint past the last
-- ingested update), kept for audits.
CREATE TABLE operator_log (
    entry_id  INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us     INTEGER NOT NULL,
    action    TEXT NOT NULL,
    detail    TEXT NOT NULL
);

-- While a transaction is held in quarantine, the holdings it created are unknown to the DB, so
-- later transactions' archives of them cannot be matched. Those archives (of contracts the DB
-- does not know, possibly the treasury's) are kept here meanwhile, so that releasing the held
-- transaction mirrors its holdings as spent where they were.
CREATE TABLE unmatched_archives (
    contract_id     TEXT PRIMARY KEY,
    update_id       TEXT NOT NULL,
    record_time_us  INTEGER NOT NULL
);
