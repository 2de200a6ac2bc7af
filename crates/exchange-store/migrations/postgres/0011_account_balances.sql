-- Each account's balance per instrument, kept equal to the sum of its journal: every journal
-- insert updates it in the same transaction, so a withdrawal request checks one row instead of
-- summing the account's whole journal. A row exists for every (account, instrument) with a
-- journal entry; none means zero. No foreign key: rows are only written with journal entries,
-- which have one.
CREATE TABLE account_balances (
    account_id       TEXT NOT NULL,
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    balance          NUMERIC(38, 10) NOT NULL,
    PRIMARY KEY (account_id, instrument_admin, instrument_id)
);

-- The existing journal, summed exactly. A sum beyond NUMERIC(38, 10) fails the migration
-- (and so the open) rather than storing a wrong balance; such a journal was already
-- unreadable as a balance before this migration.
INSERT INTO account_balances (account_id, instrument_admin, instrument_id, balance)
SELECT account_id, instrument_admin, instrument_id, SUM(amount)
FROM journal
GROUP BY account_id, instrument_admin, instrument_id;
