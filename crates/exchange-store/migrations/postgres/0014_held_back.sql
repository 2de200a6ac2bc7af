-- What the issuer does not stand behind (exchange-core `tokens`): a holding or deposit of a
-- token not onboarded, or a counterfeit claiming an onboarded instrument. `held_back` is JSON
-- `{reason, provenance: [{templateId, packageName, signatories}]}`; NULL means recognized.
-- A held-back holding is mirrored (so its archive is matched) but never counted or spent; a
-- held-back deposit has state 'unrecognized' and no credit. Ingestion judges them again when
-- tokens are onboarded. Rows written before this migration were credited under the earlier
-- rule and stay as they are.
ALTER TABLE holdings ADD COLUMN held_back TEXT;
ALTER TABLE deposits ADD COLUMN held_back TEXT;
CREATE INDEX holdings_held_back ON holdings (instrument_admin, instrument_id)
    WHERE held_back IS NOT NULL AND archived_update_id IS NULL;
