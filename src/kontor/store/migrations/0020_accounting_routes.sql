-- Accounting routes. An operation route says how one leg of a transaction is booked (its operation
-- type, an optional account rule, and an accounting rubric per action); a transaction route names
-- the operation routes a transaction may use. The service checks every rule first; the constraints
-- and triggers below state the ones a bug must never break.

CREATE TABLE operation_routes (
    organization_id         uuid NOT NULL,
    ledger_id               uuid NOT NULL,
    id                      uuid NOT NULL,
    title                   text NOT NULL,
    description             text,
    code                    text,
    operation_type          text NOT NULL CHECK (operation_type IN ('source', 'destination', 'bidirectional')),
    account_rule_type       text CHECK (account_rule_type IN ('alias', 'account_type')),
    account_rule_valid_if   jsonb,
    accounting_entries      jsonb,
    metadata                jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id),
    -- An account rule names its type and its value together, and the value fits the type.
    CHECK ((account_rule_type IS NULL) = (account_rule_valid_if IS NULL)),
    CHECK (account_rule_type IS NULL
           OR (account_rule_type = 'alias' AND jsonb_typeof(account_rule_valid_if) = 'string')
           OR (account_rule_type = 'account_type' AND jsonb_typeof(account_rule_valid_if) = 'array')),
    -- Entries are keyed by the eight actions only.
    CHECK (accounting_entries IS NULL
           OR (jsonb_typeof(accounting_entries) = 'object'
               AND accounting_entries - ARRAY['direct', 'hold', 'commit', 'cancel', 'revert', 'overdraft',
                                              'block', 'unblock'] = '{}'::jsonb)),
    -- The matrix rules that depend on the operation type alone (0165, 0162).
    CHECK (operation_type = 'bidirectional' OR NOT coalesce(accounting_entries ? 'revert', false)),
    CHECK (operation_type <> 'destination' OR NOT coalesce(accounting_entries ?| ARRAY['hold', 'cancel'], false))
);
CREATE INDEX operation_routes_metadata_idx ON operation_routes USING gin (metadata jsonb_path_ops);

CREATE TABLE transaction_routes (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    title               text NOT NULL,
    description         text,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE INDEX transaction_routes_metadata_idx ON transaction_routes USING gin (metadata jsonb_path_ops);

-- Which operation routes a transaction route links, in the order they were given. A link is
-- soft-deleted when its transaction route is deleted or its set of operation routes replaced.
CREATE TABLE transaction_route_links (
    organization_id         uuid NOT NULL,
    ledger_id               uuid NOT NULL,
    id                      uuid NOT NULL,
    transaction_route_id    uuid NOT NULL,
    operation_route_id      uuid NOT NULL,
    position                integer NOT NULL CHECK (position >= 0),
    created_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id),
    FOREIGN KEY (organization_id, ledger_id, transaction_route_id)
        REFERENCES transaction_routes (organization_id, ledger_id, id),
    FOREIGN KEY (organization_id, ledger_id, operation_route_id)
        REFERENCES operation_routes (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX transaction_route_links_uq
    ON transaction_route_links (organization_id, ledger_id, transaction_route_id, operation_route_id)
    WHERE deleted_at IS NULL;
CREATE INDEX transaction_route_links_operation_idx
    ON transaction_route_links (organization_id, ledger_id, operation_route_id)
    WHERE deleted_at IS NULL;

-- An operation route's type never changes, and a route still linked to a live transaction route
-- cannot be deleted (the service answers 422 0107 before this fires).
CREATE FUNCTION kontor_guard_operation_route() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.operation_type <> OLD.operation_type THEN
        RAISE EXCEPTION 'the operation type of operation route % cannot change', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL AND EXISTS (
        SELECT 1
          FROM transaction_route_links l
          JOIN transaction_routes t
            ON (t.organization_id, t.ledger_id, t.id) = (l.organization_id, l.ledger_id, l.transaction_route_id)
         WHERE (l.organization_id, l.ledger_id, l.operation_route_id) = (OLD.organization_id, OLD.ledger_id, OLD.id)
           AND l.deleted_at IS NULL
           AND t.deleted_at IS NULL
    ) THEN
        RAISE EXCEPTION 'operation route % is linked to a transaction route', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER operation_routes_guard BEFORE UPDATE ON operation_routes
    FOR EACH ROW EXECUTE FUNCTION kontor_guard_operation_route();
