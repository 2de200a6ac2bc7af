-- Which recovered withdrawals a `recover db` run reports: those ingestion created since the
-- previous run finished (the restored backup's own run), not since this run started, as
-- ingestion may re-create a lost withdrawal before the runbook is started. 0: no run
-- before (every recovered withdrawal in the DB); NULL (a run recorded before this column):
-- its start.
ALTER TABLE db_recovery ADD COLUMN recovered_since_us BIGINT;
