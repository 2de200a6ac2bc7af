-- The instruments the treasury holds or held a recognized holding of (held_back NULL): with the
-- onboarded tokens, what a withdrawal may name (`Store::known_instruments`, asked by every
-- withdrawal request). One row per instrument, so that the question reads O(instruments) rows
-- instead of every holding ever recorded. Rows are only ever added, by the transactions that
-- write holdings: ingestion's inserts, and a held-back holding's recognition. Filled here from
-- the holdings recorded so far.
CREATE TABLE holding_instruments (
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    PRIMARY KEY (instrument_admin, instrument_id)
) WITHOUT ROWID;
INSERT INTO holding_instruments (instrument_admin, instrument_id)
    SELECT DISTINCT instrument_admin, instrument_id FROM holdings WHERE held_back IS NULL;
