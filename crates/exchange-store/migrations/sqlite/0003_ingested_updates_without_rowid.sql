-- Ingestion inserts one row per transaction into ingested_updates, keyed by a random text id.
-- As a rowid table with a TEXT PRIMARY KEY that was three B-trees per insert (the table, the
-- primary key's index and ingested_updates_by_time, which no query uses); WITHOUT ROWID keyed
-- by the update id it is one.
DROP INDEX ingested_updates_by_time;
CREATE TABLE ingested_updates_by_id (
    update_id       TEXT PRIMARY KEY,
    ledger_offset   INTEGER NOT NULL,
    record_time_us  INTEGER NOT NULL,
    synchronizer_id TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO ingested_updates_by_id (update_id, ledger_offset, record_time_us, synchronizer_id)
    SELECT update_id, ledger_offset, record_time_us, synchronizer_id FROM ingested_updates;
DROP TABLE ingested_updates;
ALTER TABLE ingested_updates_by_id RENAME TO ingested_updates;
