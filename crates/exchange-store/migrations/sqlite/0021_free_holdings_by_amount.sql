-- A withdrawal request selects its inputs among the free holdings of the instrument, smallest
-- first (exchange-core `selection`), and reads them a page at a time in that order instead of
-- all of them. `amount` is canonical decimal text with exactly ten decimal places, so padded
-- with zeros to a fixed width (28 integer digits, the point, 10 decimals) its text order is
-- amount order. Virtual: computed when read or indexed, nothing stored or written by the code.
ALTER TABLE holdings ADD COLUMN amount_order TEXT
    GENERATED ALWAYS AS (substr('000000000000000000000000000000000000000' || amount, -39)) VIRTUAL;
CREATE INDEX holdings_free ON holdings (instrument_admin, instrument_id, amount_order, contract_id)
    WHERE archived_update_id IS NULL AND reserved_by IS NULL AND held_back IS NULL;
