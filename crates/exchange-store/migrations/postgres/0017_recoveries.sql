-- Each node-restore runbook that re-pointed the checkpoint (`recover validator`): the DB's
-- identity of the last ingested update before and after (its offset on the old and on the
-- restored node), where ingestion resumes, how offRecovery was found, the .dars uploaded
-- again, the restored node's participant id, and who ran it when. `status` shows the last one.
CREATE TABLE recoveries (
    recovery_id            BIGSERIAL PRIMARY KEY,
    at_us                  BIGINT NOT NULL,
    runbook                TEXT NOT NULL,
    operator               TEXT NOT NULL,
    t_recovery_us          BIGINT NOT NULL,
    synchronizer_id        TEXT NOT NULL,
    last_update_id         TEXT NOT NULL,
    last_offset_before     BIGINT NOT NULL,
    last_offset_after      BIGINT NOT NULL,
    checkpoint_before      BIGINT NOT NULL,
    checkpoint_after       BIGINT NOT NULL,
    off_recovery_source    TEXT NOT NULL,
    participant_id         TEXT,
    dars_uploaded          TEXT NOT NULL
);
