-- A withdrawal ingestion recovers from a still-pending transfer offer keeps the offer's
-- `executeBefore` and synchronizer, so that it expires like any offer; rows recovered before
-- ingestion did so have neither. The offer itself was recorded in the same transaction, with
-- both (migration 0016), so they are copied from it: for rows still 'recovered' (the offer
-- pending as far as the DB knows) whose offer was created by the transaction that recovered
-- them, which is when ingestion sets them now. An offer recorded before migration 0016 has no
-- deadline to copy; its withdrawal is left as it was (it ends when the ledger shows its fate).
UPDATE withdrawals SET
    execute_before_us = (SELECT i.execute_before_us FROM transfer_instructions i
                         WHERE i.contract_id = withdrawals.transfer_instruction_id),
    synchronizer_id = (SELECT i.synchronizer_id FROM transfer_instructions i
                       WHERE i.contract_id = withdrawals.transfer_instruction_id)
WHERE state = 'recovered' AND execute_before_us IS NULL
  AND EXISTS (SELECT 1 FROM transfer_instructions i
              WHERE i.contract_id = withdrawals.transfer_instruction_id
                AND i.direction = 'outgoing'
                AND i.created_update_id = withdrawals.last_update_id
                AND i.execute_before_us IS NOT NULL
                AND i.synchronizer_id IS NOT NULL);
