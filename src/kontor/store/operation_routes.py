"""SQL for operation routes (scoped by ledger; soft-deleted; linked to transaction routes)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from kontor.store.crud import Table
from kontor.store.db import Connection, Record

TABLE = Table("operation_routes", ("organization_id", "ledger_id"))


async def by_ids(
    conn: Connection, organization_id: UUID, ledger_id: UUID, ids: Sequence[UUID], *, for_share: bool = False
) -> list[Record]:
    """The live operation routes among ``ids``; ``for_share`` locks each one FOR SHARE.

    The share lock holds a route against a concurrent delete until the caller's database
    transaction ends, so a transaction route never links a route deleted meanwhile.
    """
    if not ids:
        return []
    sql = (
        "SELECT * FROM operation_routes WHERE organization_id = $1 AND ledger_id = $2 AND id = ANY($3::uuid[]) "
        "AND deleted_at IS NULL ORDER BY id"
    )
    return list(await conn.fetch(sql + (" FOR SHARE" if for_share else ""), organization_id, ledger_id, list(ids)))


async def is_linked(conn: Connection, organization_id: UUID, ledger_id: UUID, id_: UUID) -> bool:
    """Whether a live transaction route links the operation route ``id_``."""
    sql = """SELECT EXISTS (
                 SELECT 1 FROM transaction_route_links l
                   JOIN transaction_routes t
                     ON (t.organization_id, t.ledger_id, t.id) = (l.organization_id, l.ledger_id, l.transaction_route_id)
                  WHERE l.organization_id = $1 AND l.ledger_id = $2 AND l.operation_route_id = $3
                    AND l.deleted_at IS NULL AND t.deleted_at IS NULL)"""
    return bool(await conn.fetchval(sql, organization_id, ledger_id, id_))
