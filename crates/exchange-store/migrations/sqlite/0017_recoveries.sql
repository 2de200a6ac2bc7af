-- Each node-restore runbook that re-pointed the checkpoint (`recover validator`): the DB's
-- identity of the last ingested update before and after (its offset on the old and on the
-- restored node), where ingestion resumes, how offRecovery was found, the .dars uploaded
-- again, the restored node's participant id, and who ran it when. `status` shows the last one.
CREATE TABLE recoveries (
    recovery_id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us                  INTEGER NOT NULL,
    runbook                TEXT NOT NULL,
    operator               TEXT NOT NULL,
    t_recovery_us          INTEGER NOT NULL,
    synchronizer_id        TEXT NOT NULL,
    last_update_id         TEXT NOT NULL,
    last_offset_before     INTEGER NOT NULL,
    last_offset_after      INTEGER NOT NULL,
    checkpoint_before      INTEGER NOT NULL,
    checkpoint_after       INTEGER NOT NULL,
    off_recovery_source    TEXT NOT NULL,
    participant_id         TEXT,
    dars_uploaded          TEXT NOT NULL
);
