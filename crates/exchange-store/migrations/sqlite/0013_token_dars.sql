-- Token onboarding records the .dars uploaded for a token: what each brings (content hash, the
-- main package's name and version, every package id) and when it was uploaded (the exchange
-- host's clock just before the upload and once the node listed the package, and the node's
-- ledger end before and after: see canton-exchange `tokens`). Rows recorded before this
-- migration keep empty/absent values.
ALTER TABLE dars ADD COLUMN content_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE dars ADD COLUMN package_name TEXT NOT NULL DEFAULT '';
ALTER TABLE dars ADD COLUMN package_version TEXT NOT NULL DEFAULT '';
ALTER TABLE dars ADD COLUMN listed_at_us INTEGER;
ALTER TABLE dars ADD COLUMN ledger_end_before INTEGER;
ALTER TABLE dars ADD COLUMN ledger_end_after INTEGER;

-- Every package a .dar brings (its main package included).
CREATE TABLE dar_packages (
    main_package_id TEXT NOT NULL REFERENCES dars (main_package_id),
    package_id      TEXT NOT NULL,
    PRIMARY KEY (main_package_id, package_id)
);
CREATE INDEX dar_packages_by_package ON dar_packages (package_id);

-- Which .dars were uploaded for which token.
CREATE TABLE token_dars (
    instrument_admin TEXT NOT NULL,
    instrument_id    TEXT NOT NULL,
    main_package_id  TEXT NOT NULL REFERENCES dars (main_package_id),
    PRIMARY KEY (instrument_admin, instrument_id, main_package_id),
    FOREIGN KEY (instrument_admin, instrument_id) REFERENCES tokens (instrument_admin, instrument_id)
);
