-- The exchange's idempotency key of a withdrawal request: a retried request with the same key
-- gets the first withdrawal back, never a second debit. NULL for requests without one (several
-- NULLs do not clash in a unique index, on either backend). Partial: the withdrawals ingestion
-- re-creates (recovered) have no key, and an index of their NULLs would only cost each insert.
ALTER TABLE withdrawals ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX withdrawals_by_idempotency_key ON withdrawals (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
