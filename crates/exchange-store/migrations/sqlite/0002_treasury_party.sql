-- The treasury party whose view this DB ingests: one row, written by the first ingestion run.
-- Ingestion refuses to run against a DB of another party (its holdings, deposits and checkpoint
-- would mix two histories).
CREATE TABLE treasury (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    party TEXT NOT NULL
);
