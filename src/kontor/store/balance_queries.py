"""SQL for reading balances, their configuration changes, and their state at a past instant.

Amounts are never written here: ``available``, ``on_hold``, ``overdraft_used`` and ``version`` change
only in the write funnel. This module reads balances, inserts additional balances (always at zero),
updates the flags and settings, and soft-deletes. A balance's past state is read back from the
``balanceAfter`` its operations recorded: the last operation at or before an instant, ordered as
the journal of that balance (time, then version, then id).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from kontor.store import crud
from kontor.store.balances import TABLE
from kontor.store.db import Connection, Record
from kontor.store.query import CursorPage, Filter, ListQuery

ALIAS_KEY_INDEX = "balances_alias_key_uq"


async def get(conn: Connection, scope: crud.Scope, balance_id: UUID, *, lock: bool = False) -> Record | None:
    """The live balance ``balance_id``; ``lock`` holds it (FOR UPDATE) against the funnel until commit."""
    return await crud.get(conn, TABLE, scope, balance_id, lock=lock)


async def list_page(conn: Connection, scope: crud.Scope, query: ListQuery) -> CursorPage:
    return await crud.list_cursor(conn, TABLE, scope, query)


async def list_page_of_account(conn: Connection, scope: crud.Scope, account_id: UUID, query: ListQuery) -> CursorPage:
    return await crud.list_cursor(conn, TABLE, scope, query.with_filters(Filter("account_id", account_id)))


async def of_alias(conn: Connection, scope: crud.Scope, alias: str) -> list[Record]:
    """Every live balance of the account with ``alias``, newest first (as Midaz lists them)."""
    sql = (
        "SELECT * FROM balances WHERE organization_id = $1 AND ledger_id = $2 AND alias = $3 "
        "AND deleted_at IS NULL ORDER BY created_at DESC, id DESC"
    )
    return list(await conn.fetch(sql, scope["organization_id"], scope["ledger_id"], alias))


async def by_account_key(conn: Connection, scope: crud.Scope, account_id: UUID, key: str) -> Record | None:
    sql = (
        "SELECT * FROM balances WHERE organization_id = $1 AND ledger_id = $2 AND account_id = $3 "
        "AND key = $4 AND deleted_at IS NULL"
    )
    return await conn.fetchrow(sql, scope["organization_id"], scope["ledger_id"], account_id, key)


async def insert(conn: Connection, values: dict[str, Any]) -> Record:
    """A new balance; its amounts and version take the table's defaults (zero)."""
    return await crud.insert(conn, TABLE, values)


async def update(conn: Connection, scope: crud.Scope, balance_id: UUID, changes: dict[str, Any]) -> Record | None:
    """Change a balance's flags or settings (never its amounts)."""
    return await crud.update(conn, TABLE, scope, balance_id, changes)


async def soft_delete(conn: Connection, scope: crud.Scope, balance_id: UUID) -> datetime | None:
    return await crud.soft_delete(conn, TABLE, scope, balance_id)


async def last_operation_at(conn: Connection, scope: crud.Scope, balance_id: UUID, at: datetime) -> Record | None:
    """The state the last operation on ``balance_id`` at or before ``at`` left behind, or None."""
    sql = """SELECT available_after, on_hold_after, overdraft_after, version_after, created_at
               FROM operations
              WHERE organization_id = $1 AND ledger_id = $2 AND balance_id = $3 AND created_at <= $4
                AND deleted_at IS NULL
              ORDER BY created_at DESC, version_after DESC, id DESC
              LIMIT 1"""
    return await conn.fetchrow(sql, scope["organization_id"], scope["ledger_id"], balance_id, at)


async def of_account_at(conn: Connection, scope: crud.Scope, account_id: UUID, at: datetime) -> list[Record]:
    """Each live balance of an account that existed at ``at``, with its state then.

    Every row carries the balance's columns plus ``at_available``, ``at_on_hold``,
    ``at_overdraft_used``, ``at_version`` and ``at_updated_at``: the last operation's after-state,
    or zeros (and the balance's creation time) when no operation had touched it yet.
    """
    sql = """WITH latest AS (
                 SELECT DISTINCT ON (balance_id) balance_id, available_after, on_hold_after, overdraft_after,
                        version_after, created_at
                   FROM operations
                  WHERE organization_id = $1 AND ledger_id = $2 AND account_id = $3 AND created_at <= $4
                    AND deleted_at IS NULL
                  ORDER BY balance_id, created_at DESC, version_after DESC, id DESC)
             SELECT b.*,
                    COALESCE(o.available_after, 0) AS at_available,
                    COALESCE(o.on_hold_after, 0) AS at_on_hold,
                    COALESCE(o.overdraft_after, 0) AS at_overdraft_used,
                    COALESCE(o.version_after, 0) AS at_version,
                    COALESCE(o.created_at, b.created_at) AS at_updated_at
               FROM balances b
               LEFT JOIN latest o ON o.balance_id = b.id
              WHERE b.organization_id = $1 AND b.ledger_id = $2 AND b.account_id = $3
                AND b.deleted_at IS NULL AND b.created_at <= $4
              ORDER BY b.id"""
    return list(await conn.fetch(sql, scope["organization_id"], scope["ledger_id"], account_id, at))
