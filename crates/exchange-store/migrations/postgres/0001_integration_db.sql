-- The Canton Integration DB, PostgreSQL flavour. Keep in step with migrations/sqlite.
-- Never edit an applied migration; add a new one.
--
-- Amounts are NUMERIC(38, 10): exactly Daml Numeric 10 (28 integer and 10 fraction digits),
-- summed exactly by PostgreSQL. Never a float.
-- Times are BIGINT microseconds since the Unix epoch, like `Timestamp`, so both backends agree.

-- Where ingestion resumes: one row. `ledger_offset` moves forward only (guarded by the UPDATE
-- in `commit`). The `last_*` columns identify the last ingested transaction (NULL before the
-- first); ingestion checks them against the node at start, and the node-restore runbook reads
-- tRecovery and synchronizerId from them.
CREATE TABLE checkpoint (
    id                   SMALLINT PRIMARY KEY CHECK (id = 1),
    ledger_offset        BIGINT NOT NULL CHECK (ledger_offset >= 0),
    last_update_id       TEXT,
    last_update_offset   BIGINT,
    last_record_time_us  BIGINT,
    last_synchronizer_id TEXT
);

-- The skip rule: a transaction at or before its synchronizer's last record time is not applied
-- again. Only moves forward.
CREATE TABLE synchronizer_record_times (
    synchronizer_id TEXT PRIMARY KEY,
    record_time_us  BIGINT NOT NULL
);

-- Every ingested transaction: the skip rule when record times are not unique, and the proof
-- that an update is applied at most once.
CREATE TABLE ingested_updates (
    update_id       TEXT PRIMARY KEY,
    ledger_offset   BIGINT NOT NULL,
    record_time_us  BIGINT NOT NULL,
    synchronizer_id TEXT NOT NULL
);
CREATE INDEX ingested_updates_by_time ON ingested_updates (synchronizer_id, record_time_us);

-- Deposit accounts: the memo a customer puts on deposits, and whose it is.
CREATE TABLE accounts (
    account_id    TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    created_at_us BIGINT NOT NULL
);

CREATE TABLE withdrawals (
    withdrawal_id           TEXT PRIMARY KEY,
    state                   TEXT NOT NULL,
    account_id              TEXT REFERENCES accounts (account_id), -- NULL when recovered
    instrument_admin        TEXT NOT NULL,
    instrument_id           TEXT NOT NULL,
    amount                  NUMERIC(38, 10) NOT NULL,
    receiver                TEXT NOT NULL,
    trec_tgt_us             BIGINT,                               -- NULL when recovered
    reason                  TEXT,
    transfer_instruction_id TEXT,
    last_update_id          TEXT,
    last_record_time_us     BIGINT,
    created_at_us           BIGINT NOT NULL,
    updated_at_us           BIGINT NOT NULL
);
CREATE INDEX withdrawals_by_state ON withdrawals (state, created_at_us);

-- Treasury holdings (UTXOs), mirrored by ingestion; archived rows stay as history.
-- `reserved_by` is written by withdrawal requests only.
CREATE TABLE holdings (
    contract_id             TEXT PRIMARY KEY,
    instrument_admin        TEXT NOT NULL,
    instrument_id           TEXT NOT NULL,
    amount                  NUMERIC(38, 10) NOT NULL,
    locked                  BOOLEAN NOT NULL,
    created_update_id       TEXT NOT NULL,
    created_record_time_us  BIGINT NOT NULL,
    archived_update_id      TEXT,
    archived_record_time_us BIGINT,
    reserved_by             TEXT REFERENCES withdrawals (withdrawal_id)
);
CREATE INDEX holdings_active ON holdings (instrument_admin, instrument_id) WHERE archived_update_id IS NULL;

-- Customer balances are derived from this journal. Each cause is booked once.
CREATE TABLE journal (
    entry_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (account_id),
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    amount           NUMERIC(38, 10) NOT NULL,
    cause_kind       TEXT NOT NULL,
    cause_ref        TEXT NOT NULL,
    update_id        TEXT,
    record_time_us   BIGINT,
    booked_at_us     BIGINT NOT NULL,
    CONSTRAINT journal_cause_once UNIQUE (cause_kind, cause_ref)
);
CREATE INDEX journal_by_account ON journal (account_id, instrument_admin, instrument_id);

-- Deposits, including those to unknown accounts and pending offers. `account_id` is the memo
-- as sent, not a foreign key: unknown accounts are recorded too.
CREATE TABLE deposits (
    deposit_id              TEXT PRIMARY KEY,
    state                   TEXT NOT NULL,
    account_id              TEXT,
    instrument_admin        TEXT NOT NULL,
    instrument_id           TEXT NOT NULL,
    amount                  NUMERIC(38, 10) NOT NULL,
    sender                  TEXT NOT NULL,
    transfer_instruction_id TEXT,
    created_update_id       TEXT NOT NULL,
    created_record_time_us  BIGINT NOT NULL,
    updated_update_id       TEXT NOT NULL,
    updated_record_time_us  BIGINT NOT NULL
);
CREATE INDEX deposits_by_state ON deposits (state);

-- Token-standard transfer offers in both directions.
CREATE TABLE transfer_instructions (
    contract_id            TEXT PRIMARY KEY,
    direction              TEXT NOT NULL,
    state                  TEXT NOT NULL,
    sender                 TEXT NOT NULL,
    receiver               TEXT NOT NULL,
    instrument_admin       TEXT NOT NULL,
    instrument_id          TEXT NOT NULL,
    amount                 NUMERIC(38, 10) NOT NULL,
    reason                 TEXT,
    created_update_id      TEXT NOT NULL,
    created_record_time_us BIGINT NOT NULL,
    updated_update_id      TEXT NOT NULL,
    updated_record_time_us BIGINT NOT NULL
);
CREATE INDEX transfer_instructions_by_state ON transfer_instructions (direction, state);

-- Onboarded tokens and where their registry is.
CREATE TABLE tokens (
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    registry_url     TEXT NOT NULL,
    onboarded_at_us  BIGINT NOT NULL,
    PRIMARY KEY (instrument_admin, instrument_id)
);

-- Uploaded .dar files, kept whole: after a node restore, those uploaded after the backup are
-- uploaded again from here.
CREATE TABLE dars (
    main_package_id TEXT PRIMARY KEY,
    file_name       TEXT NOT NULL,
    content         BYTEA NOT NULL,
    uploaded_at_us  BIGINT NOT NULL
);

-- Operator switches (e.g. withdrawals off during a DB restore, and why). No row: enabled.
CREATE TABLE switches (
    name          TEXT PRIMARY KEY,
    enabled       BOOLEAN NOT NULL,
    reason        TEXT NOT NULL,
    changed_at_us BIGINT NOT NULL
);
