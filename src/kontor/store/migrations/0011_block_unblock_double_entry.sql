-- Block and unblock operations move money like debits and credits (by their direction), so the
-- double-entry check counts them too: per statement, each (transaction, asset) nets to zero.
CREATE OR REPLACE FUNCTION kontor_check_double_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT transaction_id, asset_code INTO bad
      FROM new_operations
     GROUP BY organization_id, ledger_id, transaction_id, asset_code
    HAVING sum(CASE WHEN type IN ('DEBIT', 'CREDIT', 'BLOCK', 'UNBLOCK')
                    THEN CASE direction WHEN 'debit' THEN amount ELSE -amount END
                    ELSE 0 END) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaction % does not balance in %', bad.transaction_id, bad.asset_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
