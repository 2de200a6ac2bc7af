-- The holding view's lock itself (holders, expiresAt, expiresAfter, context) as JSON, NULL when
-- unlocked; `locked` stays as the flag that withdrawal queries filter on. Holdings ingested
-- before this migration keep NULL here even when locked (the details were never stored);
-- they read back as a lock with no details.
ALTER TABLE holdings ADD COLUMN lock_json TEXT;
