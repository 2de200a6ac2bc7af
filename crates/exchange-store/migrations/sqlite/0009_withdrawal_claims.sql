-- The withdrawal automation's bookkeeping, so it stays stateless and can run as several
-- replicas: who works on a withdrawal until when (a claim that times out frees it for another
-- replica), when to try it again, how many attempts and executions it took, and why the last
-- attempt did not go through (shown to operators; never a secret).
ALTER TABLE withdrawals ADD COLUMN claimed_by TEXT;
ALTER TABLE withdrawals ADD COLUMN claimed_until_us BIGINT;
ALTER TABLE withdrawals ADD COLUMN next_attempt_us BIGINT;
ALTER TABLE withdrawals ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE withdrawals ADD COLUMN executions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE withdrawals ADD COLUMN last_error TEXT;
-- The latest `executeBefore` an execution was signed with: an offer still pending once the
-- ingested record time passes it can no longer be accepted, so ingestion fails it (refunded).
ALTER TABLE withdrawals ADD COLUMN execute_before_us BIGINT;
-- Each attempt reads the holdings reserved for its withdrawal. Partial: ingestion's inserts of
-- unreserved holdings do not touch it.
CREATE INDEX holdings_by_reservation ON holdings (reserved_by) WHERE reserved_by IS NOT NULL;
