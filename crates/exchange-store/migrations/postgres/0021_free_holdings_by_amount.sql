-- A withdrawal request selects its inputs among the free holdings of the instrument, smallest
-- first (exchange-core `selection`, ties by contract id in byte order, hence COLLATE "C"), and
-- reads and locks them a page at a time in that order instead of all of them.
CREATE INDEX holdings_free ON holdings (instrument_admin, instrument_id, amount, contract_id COLLATE "C")
    WHERE archived_update_id IS NULL AND reserved_by IS NULL AND held_back IS NULL;
