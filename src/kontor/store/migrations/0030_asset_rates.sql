-- Asset rates, as Midaz stores them (rate x 10^-scale units of `to` per unit of `from`, with a TTL),
-- plus kontor's spread: a percentage kept on every conversion and booked to an income account.
CREATE TABLE asset_rates (
    organization_id     uuid NOT NULL,
    ledger_id           uuid NOT NULL,
    id                  uuid NOT NULL,
    external_id         uuid NOT NULL,
    from_code           text NOT NULL,
    to_code             text NOT NULL,
    rate                numeric NOT NULL CHECK (rate > 0),
    scale               integer NOT NULL DEFAULT 0 CHECK (scale >= 0),
    source              text,
    ttl                 integer,
    spread_percent      numeric NOT NULL DEFAULT 0 CHECK (spread_percent >= 0 AND spread_percent < 100),
    spread_account      text,
    metadata            jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (organization_id, ledger_id, id)
);
CREATE UNIQUE INDEX asset_rates_pair_uq ON asset_rates (organization_id, ledger_id, from_code, to_code)
    WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX asset_rates_external_uq ON asset_rates (organization_id, ledger_id, external_id)
    WHERE deleted_at IS NULL;
