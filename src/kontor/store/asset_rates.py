"""SQL for asset rates: upsert by pair, read by external id, by pair, and from one asset."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from kontor.store import crud
from kontor.store.query import CursorPage, Filter, ListQuery, Match

TABLE = crud.Table("asset_rates", ("organization_id", "ledger_id"))

_UPSERT = """
INSERT INTO asset_rates (organization_id, ledger_id, id, external_id, from_code, to_code, rate, scale, source, ttl,
                         spread_percent, spread_account, metadata)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (organization_id, ledger_id, from_code, to_code) WHERE deleted_at IS NULL DO UPDATE SET
    rate = EXCLUDED.rate, scale = EXCLUDED.scale, source = EXCLUDED.source, ttl = EXCLUDED.ttl,
    spread_percent = EXCLUDED.spread_percent, spread_account = EXCLUDED.spread_account,
    metadata = EXCLUDED.metadata, updated_at = now(),
    external_id = CASE WHEN $14 THEN EXCLUDED.external_id ELSE asset_rates.external_id END
RETURNING *"""


async def upsert(conn: asyncpg.Connection, values: dict[str, Any], *, replace_external_id: bool) -> asyncpg.Record:
    """Create the rate for (from, to), or update it; its external id changes only when one is given."""
    return await conn.fetchrow(
        _UPSERT,
        values["organization_id"],
        values["ledger_id"],
        values["id"],
        values["external_id"],
        values["from_code"],
        values["to_code"],
        values["rate"],
        values["scale"],
        values["source"],
        values["ttl"],
        values["spread_percent"],
        values["spread_account"],
        values["metadata"],
        replace_external_id,
    )


def _scope(organization_id: UUID, ledger_id: UUID) -> crud.Scope:
    return {"organization_id": organization_id, "ledger_id": ledger_id}


async def by_external_id(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, external_id: UUID
) -> asyncpg.Record | None:
    return await crud.get_by(conn, TABLE, _scope(organization_id, ledger_id), "external_id", external_id)


async def by_pair(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, from_code: str, to_code: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT * FROM asset_rates WHERE organization_id = $1 AND ledger_id = $2 AND from_code = $3
              AND to_code = $4 AND deleted_at IS NULL""",
        organization_id,
        ledger_id,
        from_code,
        to_code,
    )


async def list_from(
    conn: asyncpg.Connection,
    organization_id: UUID,
    ledger_id: UUID,
    from_code: str,
    to_codes: list[str] | None,
    query: ListQuery,
) -> CursorPage:
    query = query.with_filters(Filter("from_code", from_code))
    if to_codes:
        query = query.with_filters(Filter("to_code", to_codes, Match.ANY))
    return await crud.list_cursor(conn, TABLE, _scope(organization_id, ledger_id), query)
