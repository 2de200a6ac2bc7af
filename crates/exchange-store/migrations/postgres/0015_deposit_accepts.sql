-- The multi-step deposit automation's bookkeeping, so it stays stateless and can run as several
-- replicas: one row per incoming offer it works on (a pending transfer instruction to a known
-- account, of an onboarded token). Who accepts it until when (a claim that times out frees it
-- for another replica), when to try again, how many attempts and executions it took and why the
-- last one did not go through (for operators; never a secret). `accept_failed`: the attempts
-- ran out; the offer waits for an operator, the sender or its expiry. The offer's fate and any
-- credit are ingestion's alone: nothing here is read by ingestion.
CREATE TABLE deposit_accepts (
    instruction_id   TEXT PRIMARY KEY,
    state            TEXT NOT NULL CHECK (state IN ('accepting', 'accept_failed')),
    claimed_by       TEXT,
    claimed_until_us BIGINT,
    next_attempt_us  BIGINT NOT NULL DEFAULT 0,
    attempts         BIGINT NOT NULL DEFAULT 0,
    executions       BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at_us    BIGINT NOT NULL,
    updated_at_us    BIGINT NOT NULL
);
CREATE INDEX deposit_accepts_due ON deposit_accepts (state, next_attempt_us);
