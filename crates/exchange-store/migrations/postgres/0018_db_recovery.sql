-- The DB-restore runbook (`recover db`): its current or last run, one row. A run that was
-- interrupted is resumed by the next one with the same tSafe; a finished one is replaced by a
-- new run. Each run's start and end also go to the operator log.
CREATE TABLE db_recovery (
    singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
    t_safe_us      BIGINT NOT NULL,
    phase          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    started_at_us  BIGINT NOT NULL,
    finished_at_us BIGINT
);
