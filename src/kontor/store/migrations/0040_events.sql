-- Events: the journal is the outbox. Each sink reads it by cursor (one per sink and journal chain),
-- records the events it gave up on, and webhook subscriptions record every delivery attempt.
-- Nothing here is read or locked by the write funnel: the relay only reads the journal and the
-- heads (plain MVCC reads) and writes its own rows.

-- How far each sink has delivered each chain: every event with seq <= this one is delivered or
-- dead-lettered. A chain with no row starts at 0 (the whole chain is delivered).
CREATE TABLE event_cursors (
    sink                text NOT NULL,
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    seq                 bigint NOT NULL CHECK (seq >= 0),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, organization_id, ledger_id)
);

-- An event a sink gave up on after KONTOR_EVENTS_ATTEMPTS_MAX refusals; the cursor moved past it.
CREATE TABLE event_dead_letters (
    sink                text NOT NULL,
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    seq                 bigint NOT NULL,
    event_id            uuid NOT NULL,
    event_type          text NOT NULL,
    attempts            integer NOT NULL,
    last_error          text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sink, organization_id, ledger_id, seq)
);

CREATE TABLE webhook_subscriptions (
    organization_id     uuid NOT NULL,
    id                  uuid NOT NULL,
    ledger_id           uuid,               -- NULL: every chain of the organization
    url                 text NOT NULL,
    secret              text NOT NULL,      -- the HMAC key; answered once, on create
    event_types         text[] NOT NULL,    -- empty: every type
    description         text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX webhook_subscriptions_live_idx ON webhook_subscriptions (organization_id) WHERE deleted_at IS NULL;

CREATE TABLE webhook_attempts (
    organization_id     uuid NOT NULL,
    subscription_id     uuid NOT NULL,
    id                  uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    seq                 bigint NOT NULL,
    event_id            uuid NOT NULL,
    event_type          text NOT NULL,
    attempt             integer NOT NULL CHECK (attempt >= 1),
    status_code         integer,            -- NULL: no HTTP answer (refused, timed out)
    error               text,
    succeeded           boolean NOT NULL,
    duration_ms         numeric NOT NULL,
    created_at          timestamptz NOT NULL,
    PRIMARY KEY (organization_id, subscription_id, id)
);

-- New journal rows wake the relays and SSE streams of every process at commit (NOTIFY is
-- transactional: a rolled-back batch notifies nobody). One notification per chain per statement;
-- the payload names the chain as '<organization_id>/<ledger_id>'. Listeners also poll, so a lost
-- notification only delays an event.
CREATE FUNCTION kontor_journal_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    chain record;
BEGIN
    FOR chain IN SELECT DISTINCT organization_id, ledger_id FROM new_journal LOOP
        PERFORM pg_notify('kontor_journal', chain.organization_id::text || '/' || chain.ledger_id::text);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER journal_notify
    AFTER INSERT ON journal
    REFERENCING NEW TABLE AS new_journal
    FOR EACH STATEMENT EXECUTE FUNCTION kontor_journal_notify();
