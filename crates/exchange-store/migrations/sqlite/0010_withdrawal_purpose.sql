-- Whom a withdrawal pays: 'customer' (a customer's withdrawal, or one ingestion recovered from
-- the ledger) or 'pool' (the pool job's self-transfer to the treasury, with no account: nothing
-- is debited or refunded, and ingestion completes it when it sees the treasury's self-transfer
-- with its memo). Every row written before this migration is a customer's.
ALTER TABLE withdrawals ADD COLUMN purpose TEXT NOT NULL DEFAULT 'customer'
    CHECK (purpose IN ('customer', 'pool'));
