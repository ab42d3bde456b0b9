-- The posting engine: transactions, operations, idempotency keys and the hash-chained journal.
-- Financial history is append-only: PostgreSQL refuses to change the financial columns of a
-- transaction or an operation, and refuses to delete either. Every statement that inserts
-- operations must leave each (transaction, asset) with equal DEBIT and CREDIT sums.

CREATE TABLE transactions (
    organization_id                 uuid NOT NULL,
    ledger_id                       uuid NOT NULL,
    id                              uuid NOT NULL,
    parent_transaction_id           uuid,
    description                     text,
    code                            text,
    chart_of_accounts_group_name    text NOT NULL DEFAULT '',
    status                          text NOT NULL CHECK (status IN ('APPROVED', 'PENDING', 'CANCELED', 'NOTED')),
    status_description              text,
    amount                          numeric NOT NULL CHECK (amount > 0),
    asset_code                      text NOT NULL,
    source                          text[] NOT NULL,
    destination                     text[] NOT NULL,
    route                           text NOT NULL DEFAULT '',
    route_id                        uuid,
    -- The resolved legs (alias, key, amount, descriptions, routes), so that a pending
    -- transaction can be committed or canceled exactly as it was accepted.
    legs                            jsonb NOT NULL,
    metadata                        jsonb NOT NULL DEFAULT '{}',
    created_at                      timestamptz NOT NULL,
    updated_at                      timestamptz NOT NULL,
    deleted_at                      timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
-- At most one reversal per transaction: a second concurrent revert fails on this index.
CREATE UNIQUE INDEX transactions_one_reversal_uq ON transactions (organization_id, ledger_id, parent_transaction_id)
    WHERE parent_transaction_id IS NOT NULL;
CREATE INDEX transactions_created_idx ON transactions (organization_id, ledger_id, created_at);
CREATE INDEX transactions_metadata_idx ON transactions USING gin (metadata jsonb_path_ops);

CREATE TABLE operations (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    transaction_id      uuid NOT NULL,
    description         text,
    type                text NOT NULL CHECK (type IN ('DEBIT', 'CREDIT', 'ON_HOLD', 'RELEASE', 'OVERDRAFT', 'BLOCK', 'UNBLOCK')),
    direction           text NOT NULL CHECK (direction IN ('debit', 'credit')),
    asset_code          text NOT NULL,
    chart_of_accounts   text NOT NULL DEFAULT '',
    amount              numeric NOT NULL CHECK (amount > 0),
    available_before    numeric NOT NULL,
    on_hold_before      numeric NOT NULL,
    overdraft_before    numeric NOT NULL,
    version_before      bigint NOT NULL,
    available_after     numeric NOT NULL,
    on_hold_after       numeric NOT NULL,
    overdraft_after     numeric NOT NULL,
    version_after       bigint NOT NULL,
    account_id          uuid NOT NULL,
    account_alias       text NOT NULL,
    balance_key         text NOT NULL,
    balance_id          uuid NOT NULL,
    route               text NOT NULL DEFAULT '',
    route_id            uuid,
    route_code          text,
    route_description   text,
    balance_affected    boolean NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE INDEX operations_transaction_idx ON operations (organization_id, ledger_id, transaction_id);
CREATE INDEX operations_account_idx ON operations (organization_id, ledger_id, account_id, id);
CREATE INDEX operations_balance_time_idx ON operations (organization_id, ledger_id, balance_id, created_at, id);

CREATE TABLE idempotency_keys (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    key                 text NOT NULL,
    request_hash        text NOT NULL,
    transaction_id      uuid NOT NULL,
    response            text NOT NULL,
    expires_at          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, ledger_id, key)
);

-- One gapless sequence and one hash chain per ledger. The rows are the events outbox.
CREATE TABLE journal (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    seq                 bigint NOT NULL,
    id                  uuid NOT NULL,
    event_type          text NOT NULL,
    subject             text NOT NULL,
    payload             jsonb NOT NULL,
    created_at          timestamptz NOT NULL,
    prev_hash           bytea NOT NULL,
    hash                bytea NOT NULL,
    PRIMARY KEY (organization_id, ledger_id, seq)
);

CREATE TABLE journal_heads (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    seq                 bigint NOT NULL,
    hash                bytea NOT NULL,
    PRIMARY KEY (organization_id, ledger_id)
);

-- Double entry, held by PostgreSQL too: within every statement that inserts operations, each
-- (transaction, asset) has equal DEBIT and CREDIT sums (ON_HOLD and RELEASE move value inside
-- one balance and are neutral). The write funnel inserts all operations of a batch in one statement.
CREATE FUNCTION kontor_check_double_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT transaction_id, asset_code INTO bad
      FROM new_operations
     GROUP BY organization_id, ledger_id, transaction_id, asset_code
    HAVING sum(CASE WHEN type = 'DEBIT' THEN amount ELSE 0 END)
        <> sum(CASE WHEN type = 'CREDIT' THEN amount ELSE 0 END)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'transaction % does not balance in %', bad.transaction_id, bad.asset_code
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER operations_double_entry
    AFTER INSERT ON operations
    REFERENCING NEW TABLE AS new_operations
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_check_double_entry();

CREATE FUNCTION kontor_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only and cannot be deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE FUNCTION kontor_guard_operation_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.organization_id, NEW.ledger_id, NEW.id, NEW.transaction_id, NEW.type, NEW.direction, NEW.asset_code,
        NEW.amount, NEW.available_before, NEW.on_hold_before, NEW.overdraft_before, NEW.version_before,
        NEW.available_after, NEW.on_hold_after, NEW.overdraft_after, NEW.version_after, NEW.account_id,
        NEW.balance_id, NEW.balance_key, NEW.balance_affected, NEW.created_at)
       IS DISTINCT FROM
       (OLD.organization_id, OLD.ledger_id, OLD.id, OLD.transaction_id, OLD.type, OLD.direction, OLD.asset_code,
        OLD.amount, OLD.available_before, OLD.on_hold_before, OLD.overdraft_before, OLD.version_before,
        OLD.available_after, OLD.on_hold_after, OLD.overdraft_after, OLD.version_after, OLD.account_id,
        OLD.balance_id, OLD.balance_key, OLD.balance_affected, OLD.created_at) THEN
        RAISE EXCEPTION 'the financial columns of an operation cannot change' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

-- A transaction's status may only move PENDING -> APPROVED | CANCELED; its amounts never change.
CREATE FUNCTION kontor_guard_transaction_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.organization_id, NEW.ledger_id, NEW.id, NEW.parent_transaction_id, NEW.amount, NEW.asset_code,
        NEW.source, NEW.destination, NEW.legs, NEW.created_at)
       IS DISTINCT FROM
       (OLD.organization_id, OLD.ledger_id, OLD.id, OLD.parent_transaction_id, OLD.amount, OLD.asset_code,
        OLD.source, OLD.destination, OLD.legs, OLD.created_at) THEN
        RAISE EXCEPTION 'the financial columns of a transaction cannot change' USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NOT (OLD.status = 'PENDING' AND NEW.status IN ('APPROVED', 'CANCELED')) THEN
        RAISE EXCEPTION 'a transaction cannot move from % to %', OLD.status, NEW.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER operations_no_delete BEFORE DELETE ON operations
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_delete();
CREATE TRIGGER operations_guard_update BEFORE UPDATE ON operations
    FOR EACH ROW EXECUTE FUNCTION kontor_guard_operation_update();
CREATE TRIGGER transactions_no_delete BEFORE DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_delete();
CREATE TRIGGER transactions_guard_update BEFORE UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION kontor_guard_transaction_update();
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_delete();

CREATE FUNCTION kontor_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only and cannot be changed', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
    FOR EACH ROW EXECUTE FUNCTION kontor_refuse_update();
CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_refuse_delete();
CREATE TRIGGER operations_no_truncate BEFORE TRUNCATE ON operations
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_refuse_delete();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_refuse_delete();
