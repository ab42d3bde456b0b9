"""Organizations: create, read, list, update, delete; each change records its event (organization.*)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service import journal
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.store import crud
from kontor.store.db import Connection, Record
from kontor.store.organizations import TABLE
from kontor.store.query import ListQuery

ENTITY = "Organization"
PREFIX = "organization"  # of its event types


async def create(ctx: Context, values: dict[str, Any]) -> Record:
    async with ctx.db.transaction() as conn:
        parent = values.get("parent_organization_id")
        if parent is not None:
            await _require_parent(conn, parent)
        row = await crud.insert(conn, TABLE, {"id": new_id(), **values})
        await journal.record(conn, [journal.created(PREFIX, row)])
        return row


async def get(ctx: Context, organization_id: UUID) -> Record:
    async with ctx.db.connection() as conn:
        return await require(conn, organization_id)


async def require(conn: Connection, organization_id: UUID) -> Record:
    """The live organization, or 404 0038."""
    row = await crud.get(conn, TABLE, {}, organization_id)
    if row is None:
        raise KontorError(codes.ORGANIZATION_NOT_FOUND, entity_type=ENTITY)
    return row


async def list_(ctx: Context, query: ListQuery) -> list[Record]:
    async with ctx.db.connection() as conn:
        return await crud.list_offset(conn, TABLE, {}, query)


async def count(ctx: Context, query: ListQuery) -> int:
    async with ctx.db.connection() as conn:
        return await crud.count(conn, TABLE, {}, query)


async def update(ctx: Context, organization_id: UUID, changes: dict[str, Any], metadata: crud.MetadataPatch) -> Record:
    async with ctx.db.transaction() as conn:
        current = await require(conn, organization_id)
        parent = changes.get("parent_organization_id")
        if parent is not None:
            if parent == organization_id:
                raise KontorError(codes.ORGANIZATION_OWN_PARENT, entity_type=ENTITY)
            await _require_parent(conn, parent)
        changes["metadata"] = metadata.apply(current["metadata"])
        row = await crud.update(conn, TABLE, {}, organization_id, changes)
        if row is None:
            raise KontorError(codes.ORGANIZATION_NOT_FOUND, entity_type=ENTITY)
        await journal.record(conn, [journal.updated(PREFIX, row)])
        return row


async def delete(ctx: Context, organization_id: UUID) -> None:
    if ctx.production:
        raise KontorError(codes.FORBIDDEN_IN_PRODUCTION, entity_type=ENTITY)
    async with ctx.db.transaction() as conn:
        deleted_at = await crud.soft_delete(conn, TABLE, {}, organization_id)
        if deleted_at is None:
            raise KontorError(codes.ORGANIZATION_NOT_FOUND, entity_type=ENTITY)
        await journal.record(conn, [journal.deleted(PREFIX, {"id": organization_id}, deleted_at)])


async def _require_parent(conn: Connection, parent_id: UUID) -> None:
    if not await crud.exists(conn, TABLE, {}, parent_id):
        raise KontorError(codes.PARENT_ORGANIZATION_NOT_FOUND, entity_type=ENTITY)
