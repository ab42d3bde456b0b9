"""Use cases shared by every ledger-scoped resource: create, read, list, count, update, delete.

Each resource (portfolios, segments, account types, ...) is one ``LedgerScoped`` value naming its
table, its entity type, its not-found code and the unique indexes that answer a conflict code.
Every operation first checks the path's scope (404 0038, then 0037), then the row itself. A
resource with an ``event_prefix`` records ``<prefix>.created/updated/deleted`` in its ledger's
journal, in the same unit of work as the change.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kontor.errors import Code, InvariantViolation, KontorError
from kontor.service import journal
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.store import crud
from kontor.store.db import Connection, Record, unique_violation
from kontor.store.query import CursorPage, ListQuery


@contextlib.contextmanager
def conflicts(index_codes: Mapping[str, Code], entity_type: str) -> Iterator[None]:
    """Answer a unique-index violation with the Midaz code mapped to that index.

    The index among live rows is the authority on uniqueness (a pre-check would race), so the
    violation is translated here; any other failure passes through unchanged.
    """
    try:
        yield
    except Exception as exc:
        code = index_codes.get(unique_violation(exc) or "")
        if code is None:
            raise
        raise KontorError(code, entity_type=entity_type) from exc


def ledger_scope(organization_id: UUID, ledger_id: UUID) -> crud.Scope:
    return {"organization_id": organization_id, "ledger_id": ledger_id}


@dataclass(frozen=True, slots=True)
class LedgerScoped:
    """One resource that lives inside a ledger, with the codes its rules answer."""

    table: crud.Table
    entity_type: str
    not_found: Code
    unique: Mapping[str, Code] = field(default_factory=dict)
    # The prefix of the resource's event types (``portfolio`` for portfolio.created ...); None
    # for a resource whose service records its own events.
    event_prefix: str | None = None

    async def create(self, ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any]) -> Record:
        """Insert a row into a live ledger; a unique index violated answers its conflict code."""
        async with ctx.db.transaction() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            row = {"organization_id": organization_id, "ledger_id": ledger_id, "id": new_id(), **values}
            with conflicts(self.unique, self.entity_type):
                created = await crud.insert(conn, self.table, row)
            if self.event_prefix is not None:
                await journal.record(conn, [journal.created(self.event_prefix, created)])
            return created

    async def get(self, ctx: Context, organization_id: UUID, ledger_id: UUID, id_: UUID) -> Record:
        async with ctx.db.connection() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            return await self.require(conn, organization_id, ledger_id, id_)

    async def require(self, conn: Connection, organization_id: UUID, ledger_id: UUID, id_: UUID) -> Record:
        """The live row ``id_`` of this ledger, or 404 with the resource's code."""
        row = await crud.get(conn, self.table, ledger_scope(organization_id, ledger_id), id_)
        if row is None:
            raise KontorError(self.not_found, entity_type=self.entity_type)
        return row

    async def list_offset(self, ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> list[Record]:
        async with ctx.db.connection() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            return await crud.list_offset(conn, self.table, ledger_scope(organization_id, ledger_id), query)

    async def list_cursor(self, ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> CursorPage:
        async with ctx.db.connection() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            return await crud.list_cursor(conn, self.table, ledger_scope(organization_id, ledger_id), query)

    async def count(self, ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> int:
        async with ctx.db.connection() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            return await crud.count(conn, self.table, ledger_scope(organization_id, ledger_id), query)

    async def update(
        self,
        ctx: Context,
        organization_id: UUID,
        ledger_id: UUID,
        id_: UUID,
        changes: dict[str, Any],
        metadata: crud.MetadataPatch,
    ) -> Record:
        """Apply ``changes`` and the metadata merge to a live row; unique indexes hold here too."""
        scope = ledger_scope(organization_id, ledger_id)
        async with ctx.db.transaction() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            current = await crud.get(conn, self.table, scope, id_, lock=True)
            if current is None:
                raise KontorError(self.not_found, entity_type=self.entity_type)
            changes = {**changes, "metadata": metadata.apply(current["metadata"])}
            with conflicts(self.unique, self.entity_type):
                row = await crud.update(conn, self.table, scope, id_, changes)
            if row is None:
                raise InvariantViolation("a row locked FOR UPDATE vanished before its update")
            if self.event_prefix is not None:
                await journal.record(conn, [journal.updated(self.event_prefix, row)])
            return row

    async def delete(self, ctx: Context, organization_id: UUID, ledger_id: UUID, id_: UUID) -> None:
        """Soft delete: the row disappears from reads and its unique values are free again."""
        async with ctx.db.transaction() as conn:
            await require_ledger(conn, organization_id, ledger_id)
            deleted_at = await crud.soft_delete(conn, self.table, ledger_scope(organization_id, ledger_id), id_)
            if deleted_at is None:
                raise KontorError(self.not_found, entity_type=self.entity_type)
            if self.event_prefix is not None:
                row = {"organization_id": organization_id, "ledger_id": ledger_id, "id": id_}
                await journal.record(conn, [journal.deleted(self.event_prefix, row, deleted_at)])
