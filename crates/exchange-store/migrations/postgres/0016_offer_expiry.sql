-- When a transfer offer can no longer be accepted (its `executeBefore`) and on which
-- synchronizer's record time that is judged. An incoming offer still pending once ingested
-- record time has passed it (plus the ledger-time tolerance) expired: ingestion marks it so and
-- cancels its deposit, since the ledger shows nothing when an offer lapses. NULL for offers
-- recorded before this migration (they end when the ledger shows their fate).
ALTER TABLE transfer_instructions ADD COLUMN execute_before_us BIGINT;
ALTER TABLE transfer_instructions ADD COLUMN synchronizer_id TEXT;
CREATE INDEX transfer_instructions_by_expiry ON transfer_instructions (execute_before_us)
    WHERE state = 'pending' AND direction = 'incoming';
