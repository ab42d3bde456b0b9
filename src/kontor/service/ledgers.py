"""Ledgers: create, read, list, update, delete inside an organization.

A name is unique among the organization's live ledgers (409 0002, on create and on rename);
deleting is refused in production (422 0008). Settings live in ``ledger_settings``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service import journal, organizations
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.service.scoped import conflicts
from kontor.store import crud
from kontor.store.db import Connection, Record
from kontor.store.ledgers import NAME_INDEX, TABLE
from kontor.store.query import ListQuery

ENTITY = "Ledger"
PREFIX = "ledger"  # of its event types, recorded in the ledger's own chain
UNIQUE = {NAME_INDEX: codes.LEDGER_NAME_CONFLICT}


def _scope(organization_id: UUID) -> crud.Scope:
    return {"organization_id": organization_id}


async def create(ctx: Context, organization_id: UUID, values: dict[str, Any]) -> Record:
    """Insert a ledger into a live organization (404 0038); a live ledger's name answers 409 0002."""
    async with ctx.db.transaction() as conn:
        await organizations.require(conn, organization_id)
        with conflicts(UNIQUE, ENTITY):
            row = await crud.insert(conn, TABLE, {"organization_id": organization_id, "id": new_id(), **values})
        await journal.record(conn, [journal.created(PREFIX, row)])
        return row


async def get(ctx: Context, organization_id: UUID, ledger_id: UUID) -> Record:
    async with ctx.db.connection() as conn:
        return await require_ledger(conn, organization_id, ledger_id)


async def list_(ctx: Context, organization_id: UUID, query: ListQuery) -> list[Record]:
    async with ctx.db.connection() as conn:
        await organizations.require(conn, organization_id)
        return await crud.list_offset(conn, TABLE, _scope(organization_id), query)


async def count(ctx: Context, organization_id: UUID, query: ListQuery) -> int:
    async with ctx.db.connection() as conn:
        await organizations.require(conn, organization_id)
        return await crud.count(conn, TABLE, _scope(organization_id), query)


async def update(
    ctx: Context, organization_id: UUID, ledger_id: UUID, changes: dict[str, Any], metadata: crud.MetadataPatch
) -> Record:
    """Rename, restatus or re-tag a live ledger; a name taken by another live ledger answers 409 0002."""
    async with ctx.db.transaction() as conn:
        current = await lock(conn, organization_id, ledger_id)
        changes = {**changes, "metadata": metadata.apply(current["metadata"])}
        with conflicts(UNIQUE, ENTITY):
            row = await crud.update(conn, TABLE, _scope(organization_id), ledger_id, changes)
        if row is None:
            raise KontorError(codes.LEDGER_NOT_FOUND, entity_type=ENTITY)
        await journal.record(conn, [journal.updated(PREFIX, row)])
        return row


async def lock(conn: Connection, organization_id: UUID, ledger_id: UUID) -> Record:
    """As ``require_ledger``, and the ledger row stays locked until the unit of work ends.

    Read-modify-write updates (the metadata merge, the settings merge) lock first, so two
    concurrent PATCHes cannot both read the old value and lose one another's change.
    """
    await organizations.require(conn, organization_id)
    row = await crud.get(conn, TABLE, _scope(organization_id), ledger_id, lock=True)
    if row is None:
        raise KontorError(codes.LEDGER_NOT_FOUND, entity_type=ENTITY)
    return row


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID) -> None:
    """Soft delete (the name is free again); refused with 422 0008 when ENV_NAME is production."""
    if ctx.production:
        raise KontorError(codes.FORBIDDEN_IN_PRODUCTION, entity_type=ENTITY)
    async with ctx.db.transaction() as conn:
        await organizations.require(conn, organization_id)
        deleted_at = await crud.soft_delete(conn, TABLE, _scope(organization_id), ledger_id)
        if deleted_at is None:
            raise KontorError(codes.LEDGER_NOT_FOUND, entity_type=ENTITY)
        ids = {"organization_id": organization_id, "id": ledger_id}
        await journal.record(conn, [journal.deleted(PREFIX, ids, deleted_at)])
