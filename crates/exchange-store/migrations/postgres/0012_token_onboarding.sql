-- Token onboarding: how deposits of a token arrive, and the package names its holdings may come
-- from (exchange-core `tokens`: a holding counts only when its instrument admin signs it and its
-- template's package name is one of these).
ALTER TABLE tokens ADD COLUMN transfer_kind TEXT NOT NULL DEFAULT 'one-step'
    CHECK (transfer_kind IN ('one-step', 'multi-step'));

CREATE TABLE token_package_names (
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    package_name     TEXT NOT NULL,
    PRIMARY KEY (instrument_admin, instrument_id, package_name),
    FOREIGN KEY (instrument_admin, instrument_id) REFERENCES tokens (instrument_admin, instrument_id)
);
