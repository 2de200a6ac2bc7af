-- Which token standard each transfer offer was read from: 'v2' for a V2-only token's instruction
-- (a `TransferInstructionV2` view and no V1 one), which the deposit automation must accept
-- through V2's interface (`actors = [treasury]`) with the registry's V2 choice context; 'v1'
-- otherwise, and for offers recorded before this migration (V2-only offers were never accepted
-- before it, so none of those is a V2-only offer the automation would have to accept).
ALTER TABLE transfer_instructions ADD COLUMN read_from TEXT NOT NULL DEFAULT 'v1';
