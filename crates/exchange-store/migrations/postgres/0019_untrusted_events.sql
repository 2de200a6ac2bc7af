-- Token standard V2 events about the treasury's account that failed the trust checks (a forged
-- or foreign `EventLog_HoldingsChange`): never credited and never a reason to stop ingestion,
-- kept so that operators see them (`status`). One row per event node.
CREATE TABLE untrusted_events (
    update_id      TEXT NOT NULL,
    node_id        BIGINT NOT NULL,
    record_time_us BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    PRIMARY KEY (update_id, node_id)
);
