"""SQL for reading transactions and operations, and for their description/metadata updates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from kontor.store import crud
from kontor.store.query import CursorPage, ListQuery

TRANSACTIONS = crud.Table("transactions", ("organization_id", "ledger_id"))
OPERATIONS = crud.Table("operations", ("organization_id", "ledger_id"))


def _scope(organization_id: UUID, ledger_id: UUID) -> crud.Scope:
    return {"organization_id": organization_id, "ledger_id": ledger_id}


async def get(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    return await crud.get(conn, TRANSACTIONS, _scope(organization_id, ledger_id), transaction_id, lock=lock)


async def list_page(conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> CursorPage:
    return await crud.list_cursor(conn, TRANSACTIONS, _scope(organization_id, ledger_id), query)


async def count(conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> int:
    return await crud.count(conn, TRANSACTIONS, _scope(organization_id, ledger_id), query)


async def operations_of(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, transaction_ids: Sequence[UUID]
) -> dict[UUID, list[asyncpg.Record]]:
    """Each transaction's operations, in the order they were written."""
    if not transaction_ids:
        return {}
    rows = await conn.fetch(
        """SELECT * FROM operations WHERE organization_id = $1 AND ledger_id = $2 AND transaction_id = ANY($3::uuid[])
            ORDER BY transaction_id, id""",
        organization_id,
        ledger_id,
        list(transaction_ids),
    )
    grouped: dict[UUID, list[asyncpg.Record]] = {}
    for row in rows:
        grouped.setdefault(row["transaction_id"], []).append(row)
    return grouped


async def update(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, changes: dict[str, Any]
) -> asyncpg.Record | None:
    return await crud.update(conn, TRANSACTIONS, _scope(organization_id, ledger_id), transaction_id, changes)


async def get_operation(
    conn: asyncpg.Connection,
    organization_id: UUID,
    ledger_id: UUID,
    operation_id: UUID,
    *,
    transaction_id: UUID | None = None,
    account_id: UUID | None = None,
) -> asyncpg.Record | None:
    row = await crud.get(conn, OPERATIONS, _scope(organization_id, ledger_id), operation_id)
    if row is None:
        return None
    if transaction_id is not None and row["transaction_id"] != transaction_id:
        return None
    if account_id is not None and row["account_id"] != account_id:
        return None
    return row


async def update_operation(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, operation_id: UUID, changes: dict[str, Any]
) -> asyncpg.Record:
    row = await crud.update(conn, OPERATIONS, _scope(organization_id, ledger_id), operation_id, changes)
    if row is None:
        raise LookupError(operation_id)
    return row
