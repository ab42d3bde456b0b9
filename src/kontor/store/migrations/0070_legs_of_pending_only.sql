-- A transaction's resolved legs are read only to commit or cancel it while it is PENDING (a revert
-- reads the operations). A transaction created in any other status no longer stores them: ~0.3 kB
-- of a two-leg transfer's row, written to the table and the WAL for nothing.
ALTER TABLE transactions ALTER COLUMN legs DROP NOT NULL;
ALTER TABLE transactions ADD CONSTRAINT transactions_pending_legs_ck
    CHECK (legs IS NOT NULL OR status <> 'PENDING') NOT VALID;
