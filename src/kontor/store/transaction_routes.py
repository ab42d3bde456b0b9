"""SQL for transaction routes, their links to operation routes, and the reads route enforcement needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from kontor.store.crud import Table, now
from kontor.store.db import Connection, Record

TABLE = Table("transaction_routes", ("organization_id", "ledger_id"))


async def link(
    conn: Connection,
    organization_id: UUID,
    ledger_id: UUID,
    transaction_route_id: UUID,
    links: Sequence[tuple[UUID, UUID]],
) -> None:
    """Link the operation routes ``links`` (link id, operation route id) in the given order."""
    rows = [
        (organization_id, ledger_id, link_id, transaction_route_id, operation_route_id, position)
        for position, (link_id, operation_route_id) in enumerate(links)
    ]
    await conn.executemany(
        """INSERT INTO transaction_route_links
               (organization_id, ledger_id, id, transaction_route_id, operation_route_id, position)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        rows,
    )


async def unlink_all(conn: Connection, organization_id: UUID, ledger_id: UUID, transaction_route_id: UUID) -> None:
    """Soft-delete every live link of a transaction route."""
    await conn.execute(
        """UPDATE transaction_route_links SET deleted_at = $4
            WHERE organization_id = $1 AND ledger_id = $2 AND transaction_route_id = $3 AND deleted_at IS NULL""",
        organization_id,
        ledger_id,
        transaction_route_id,
        now(),
    )


async def operation_routes_of(
    conn: Connection, organization_id: UUID, ledger_id: UUID, transaction_route_ids: Sequence[UUID]
) -> dict[UUID, list[Record]]:
    """Each transaction route's live operation routes, in the order they were linked."""
    if not transaction_route_ids:
        return {}
    rows = await conn.fetch(
        """SELECT l.transaction_route_id AS link_transaction_route_id, o.*
             FROM transaction_route_links l
             JOIN operation_routes o
               ON (o.organization_id, o.ledger_id, o.id) = (l.organization_id, l.ledger_id, l.operation_route_id)
            WHERE l.organization_id = $1 AND l.ledger_id = $2 AND l.transaction_route_id = ANY($3::uuid[])
              AND l.deleted_at IS NULL AND o.deleted_at IS NULL
            ORDER BY l.transaction_route_id, l.position""",
        organization_id,
        ledger_id,
        list(transaction_route_ids),
    )
    grouped: dict[UUID, list[Record]] = {}
    for row in rows:
        grouped.setdefault(row["link_transaction_route_id"], []).append(row)
    return grouped


# --- reads for route enforcement ---------------------------------------------------------------


async def ledger_settings(conn: Connection, organization_id: UUID, ledger_id: UUID) -> dict[str, Any] | None:
    """A live ledger's stored settings (None when it has none, or does not exist)."""
    sql = "SELECT settings FROM ledgers WHERE organization_id = $1 AND id = $2 AND deleted_at IS NULL"
    value = await conn.fetchval(sql, organization_id, ledger_id)
    return value if isinstance(value, dict) else None


async def account_types(
    conn: Connection, organization_id: UUID, ledger_id: UUID, refs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The account type of each live balance ``(alias, key)`` among ``refs``."""
    if not refs:
        return {}
    rows = await conn.fetch(
        """SELECT b.alias, b.key, b.account_type
             FROM balances b
             JOIN unnest($3::text[], $4::text[]) AS r(alias, key) ON (b.alias, b.key) = (r.alias, r.key)
            WHERE b.organization_id = $1 AND b.ledger_id = $2 AND b.deleted_at IS NULL""",
        organization_id,
        ledger_id,
        [alias for alias, _ in refs],
        [key for _, key in refs],
    )
    return {(row["alias"], row["key"]): row["account_type"] for row in rows}


async def has_reversal(conn: Connection, organization_id: UUID, ledger_id: UUID, transaction_id: UUID) -> bool:
    """Whether a transaction names ``transaction_id`` as its parent (it was reverted)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM transactions WHERE organization_id = $1 AND ledger_id = $2 "
        "AND parent_transaction_id = $3)"
    )
    return bool(await conn.fetchval(sql, organization_id, ledger_id, transaction_id))
