-- Onboarding: organizations, ledgers, assets, portfolios, segments, account types, accounts.
-- Every ledger-scoped table leads its primary and unique keys with (organization_id, ledger_id),
-- so a ledger is a unit that can be distributed (DESIGN decision 6). Soft delete everywhere:
-- uniqueness holds among live rows only, so a deleted name or alias is free again.

CREATE TABLE organizations (
    id                      uuid PRIMARY KEY,
    parent_organization_id  uuid,
    legal_name              text NOT NULL,
    doing_business_as       text,
    legal_document          text NOT NULL,
    address                 jsonb,
    status_code             text NOT NULL DEFAULT 'ACTIVE',
    status_description      text,
    metadata                jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    deleted_at              timestamptz
);
CREATE INDEX organizations_live_idx ON organizations (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX organizations_metadata_idx ON organizations USING gin (metadata jsonb_path_ops);

CREATE TABLE ledgers (
    organization_id     uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    status_code         text NOT NULL DEFAULT 'ACTIVE',
    status_description  text,
    settings            jsonb NOT NULL DEFAULT '{}',
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, id)
);
CREATE UNIQUE INDEX ledgers_name_uq ON ledgers (organization_id, name) WHERE deleted_at IS NULL;
CREATE INDEX ledgers_metadata_idx ON ledgers USING gin (metadata jsonb_path_ops);

CREATE TABLE assets (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    type                text NOT NULL,
    code                text NOT NULL,
    status_code         text NOT NULL DEFAULT 'ACTIVE',
    status_description  text,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX assets_code_uq ON assets (organization_id, ledger_id, code) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX assets_name_uq ON assets (organization_id, ledger_id, name) WHERE deleted_at IS NULL;
CREATE INDEX assets_metadata_idx ON assets USING gin (metadata jsonb_path_ops);

CREATE TABLE portfolios (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    entity_id           text,
    status_code         text NOT NULL DEFAULT 'ACTIVE',
    status_description  text,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE INDEX portfolios_metadata_idx ON portfolios USING gin (metadata jsonb_path_ops);

CREATE TABLE segments (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    status_code         text NOT NULL DEFAULT 'ACTIVE',
    status_description  text,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX segments_name_uq ON segments (organization_id, ledger_id, name) WHERE deleted_at IS NULL;
CREATE INDEX segments_metadata_idx ON segments USING gin (metadata jsonb_path_ops);

CREATE TABLE account_types (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    description         text,
    key_value           text NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX account_types_key_value_uq ON account_types (organization_id, ledger_id, key_value)
    WHERE deleted_at IS NULL;
CREATE INDEX account_types_metadata_idx ON account_types USING gin (metadata jsonb_path_ops);

CREATE TABLE accounts (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    name                text NOT NULL,
    parent_account_id   uuid,
    entity_id           text,
    holder_id           uuid,
    asset_code          text NOT NULL,
    portfolio_id        uuid,
    segment_id          uuid,
    status_code         text NOT NULL DEFAULT 'ACTIVE',
    status_description  text,
    alias               text NOT NULL,
    type                text NOT NULL,
    blocked             boolean NOT NULL DEFAULT false,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX accounts_alias_uq ON accounts (organization_id, ledger_id, alias) WHERE deleted_at IS NULL;
CREATE INDEX accounts_metadata_idx ON accounts USING gin (metadata jsonb_path_ops);

-- Balances belong to the posting engine, but every account is born with its default balance,
-- so the table starts here. Amounts are exact NUMERIC; version counts real changes.
CREATE TABLE balances (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    account_id          uuid NOT NULL,
    alias               text NOT NULL,
    key                 text NOT NULL,
    asset_code          text NOT NULL,
    account_type        text NOT NULL,
    available           numeric NOT NULL DEFAULT 0,
    on_hold             numeric NOT NULL DEFAULT 0,
    overdraft_used      numeric NOT NULL DEFAULT 0,
    version             bigint NOT NULL DEFAULT 0,
    allow_sending       boolean NOT NULL DEFAULT true,
    allow_receiving     boolean NOT NULL DEFAULT true,
    direction           text NOT NULL DEFAULT 'credit' CHECK (direction IN ('credit', 'debit')),
    settings            jsonb,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id),
    CHECK (on_hold >= 0),
    CHECK (overdraft_used >= 0),
    CHECK (account_type = 'external' OR available >= 0)
);
CREATE UNIQUE INDEX balances_alias_key_uq ON balances (organization_id, ledger_id, alias, key)
    WHERE deleted_at IS NULL;
CREATE INDEX balances_account_idx ON balances (organization_id, ledger_id, account_id);
