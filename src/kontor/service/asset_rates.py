"""Asset rates: Midaz's upsert and reads, plus kontor's spread; the exchange engine reads them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.store import asset_rates as store
from kontor.store import exchange as assets
from kontor.store.db import Record
from kontor.store.query import CursorPage, ListQuery

ENTITY = "AssetRate"


async def upsert(
    ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any], external_id: UUID | None
) -> Record:
    """Create or replace the rate of (from, to); both assets must exist in the ledger (404 0034)."""
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        for code in (values["from_code"], values["to_code"]):
            if await assets.asset_row(conn, organization_id, ledger_id, code) is None:
                raise KontorError(codes.ASSET_CODE_NOT_FOUND, f"No asset {code} in this ledger.", entity_type=ENTITY)
        row = {
            "organization_id": organization_id,
            "ledger_id": ledger_id,
            "id": new_id(),
            "external_id": external_id or new_id(),
            **values,
        }
        return await store.upsert(conn, row, replace_external_id=external_id is not None)


async def get(ctx: Context, organization_id: UUID, ledger_id: UUID, external_id: UUID) -> Record:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        row = await store.by_external_id(conn, organization_id, ledger_id, external_id)
    if row is None:
        raise KontorError(codes.ENTITY_NOT_FOUND, "The asset rate does not exist.", entity_type=ENTITY)
    return row


async def list_from(
    ctx: Context, organization_id: UUID, ledger_id: UUID, from_code: str, to: list[str] | None, query: ListQuery
) -> CursorPage:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await store.list_from(conn, organization_id, ledger_id, from_code, to, query)
