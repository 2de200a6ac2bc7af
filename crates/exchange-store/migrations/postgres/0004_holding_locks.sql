-- The holding view's lock itself (holders, expiresAt, expiresAfter, context) as JSON, NULL when
-- unlocked; `locked` stays as the flag that withdrawal queries filter on. Holdings ingested
-- before this migration keep NULL here even when locked (the details were never stored);
-- they read back as a lock with no details.
ALTER TABLE holdings ADD COLUMN lock_json TEXT;

-- No query reads ingested_updates by synchronizer and record time (the skip rule uses
-- synchronizer_record_times; lookups are by update id), so this index only cost every insert
-- (SQLite dropped its twin in 0003).
DROP INDEX ingested_updates_by_time;
