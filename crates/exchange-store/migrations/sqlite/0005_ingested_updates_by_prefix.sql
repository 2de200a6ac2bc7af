-- One row per ingested transaction, keyed by a random text update id: as the B-tree of a
-- WITHOUT ROWID table (0003) every batch of 1000 transactions inserted 1000 rows of ~170 bytes
-- at random places, dirtying about one page each (a 100k-transaction DB: ~5000 pages, ~900 of
-- them written per commit, then checkpointed). Rows are now appended in ingestion order, and
-- lookups by update id go through an index on the id's first 20 characters (Canton update ids
-- are "1220" and a hex hash, so 64 bits of it): about a sixth of the size, so a batch dirties
-- fewer pages of it. The store matches the full id after the prefix (every query names both),
-- and the write path refuses an update id that is already recorded (the unique key did that
-- before; SQLite writers are serialized, so the check and the insert cannot interleave).
-- PostgreSQL keeps its primary key on update_id.
CREATE TABLE ingested_updates_log (
    update_id       TEXT NOT NULL,
    ledger_offset   INTEGER NOT NULL,
    record_time_us  INTEGER NOT NULL,
    synchronizer_id TEXT NOT NULL
);
INSERT INTO ingested_updates_log (update_id, ledger_offset, record_time_us, synchronizer_id)
    SELECT update_id, ledger_offset, record_time_us, synchronizer_id FROM ingested_updates
    ORDER BY ledger_offset;
DROP TABLE ingested_updates;
ALTER TABLE ingested_updates_log RENAME TO ingested_updates;
CREATE INDEX ingested_updates_by_id_prefix ON ingested_updates (substr(update_id, 1, 20));
