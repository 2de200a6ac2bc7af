-- The synchronizer a withdrawal's transfer is submitted to: its `trec_tgt_us` bounds that
-- synchronizer's record time, and ingestion expires it by that clock only (the clocks of
-- different synchronizers are unrelated). NULL: not known (and for recovered withdrawals);
-- such a withdrawal expires once every synchronizer's record time has passed its target.
ALTER TABLE withdrawals ADD COLUMN synchronizer_id TEXT;
