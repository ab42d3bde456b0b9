"""SQL shared by every onboarding table: insert, get, list, count, update and soft delete.

Each table is scoped (``organization_id``, and ``ledger_id`` below the ledger); reads, lists,
counts and uniqueness see live rows only (``deleted_at IS NULL``). Table and column names come from
the store's own modules, never from a request; values are always bound parameters.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from kontor.store.query import Cursor, CursorPage, Filter, ListQuery, Match

Scope = dict[str, UUID]


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    scope: tuple[str, ...]  # ("organization_id",) or ("organization_id", "ledger_id")


def now() -> datetime:
    return datetime.now(UTC)


async def insert(conn: asyncpg.Connection, table: Table, values: dict[str, Any]) -> asyncpg.Record:
    columns = ", ".join(values)
    params = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({params}) RETURNING *"
    return await conn.fetchrow(sql, *values.values())


async def get(
    conn: asyncpg.Connection, table: Table, scope: Scope, id_: UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    where, args = _scope_where(table, scope)
    args.append(id_)
    sql = f"SELECT * FROM {table.name} WHERE {where} AND id = ${len(args)} AND deleted_at IS NULL"
    return await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), *args)


async def get_by(
    conn: asyncpg.Connection, table: Table, scope: Scope, column: str, value: object
) -> asyncpg.Record | None:
    where, args = _scope_where(table, scope)
    args.append(value)
    sql = f"SELECT * FROM {table.name} WHERE {where} AND {column} = ${len(args)} AND deleted_at IS NULL"
    return await conn.fetchrow(sql, *args)


async def exists(conn: asyncpg.Connection, table: Table, scope: Scope, id_: UUID) -> bool:
    where, args = _scope_where(table, scope)
    args.append(id_)
    sql = f"SELECT EXISTS (SELECT 1 FROM {table.name} WHERE {where} AND id = ${len(args)} AND deleted_at IS NULL)"
    return bool(await conn.fetchval(sql, *args))


async def list_offset(conn: asyncpg.Connection, table: Table, scope: Scope, query: ListQuery) -> list[asyncpg.Record]:
    where, args = _list_where(table, scope, query)
    order = "DESC" if query.descending else "ASC"
    args.extend([query.limit, (query.page - 1) * query.limit])
    sql = (
        f"SELECT * FROM {table.name} WHERE {where} ORDER BY created_at {order}, id {order} "
        f"LIMIT ${len(args) - 1} OFFSET ${len(args)}"
    )
    return list(await conn.fetch(sql, *args))


async def list_cursor(conn: asyncpg.Connection, table: Table, scope: Scope, query: ListQuery) -> CursorPage:
    """One page ordered by id (UUIDv7, so by creation time); reads limit+1 rows to see if more follow."""
    where, args = _list_where(table, scope, query)
    forward = query.cursor is None or query.cursor.direction == "next"
    ascending = forward != query.descending
    if query.cursor is not None:
        args.append(query.cursor.id)
        where += f" AND id {'>' if ascending else '<'} ${len(args)}"
    args.append(query.limit + 1)
    order = "ASC" if ascending else "DESC"
    rows = list(
        await conn.fetch(f"SELECT * FROM {table.name} WHERE {where} ORDER BY id {order} LIMIT ${len(args)}", *args)
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if not forward:
        rows.reverse()
    has_next = more if forward else query.cursor is not None
    has_prev = query.cursor is not None if forward else more
    next_cursor = Cursor(rows[-1]["id"], "next").encode() if rows and has_next else None
    prev_cursor = Cursor(rows[0]["id"], "prev").encode() if rows and has_prev else None
    return CursorPage(rows, next_cursor, prev_cursor)  # type: ignore[arg-type]


async def count(conn: asyncpg.Connection, table: Table, scope: Scope, query: ListQuery) -> int:
    where, args = _list_where(table, scope, query)
    return int(await conn.fetchval(f"SELECT count(*) FROM {table.name} WHERE {where}", *args))


async def update(
    conn: asyncpg.Connection, table: Table, scope: Scope, id_: UUID, values: dict[str, Any]
) -> asyncpg.Record | None:
    where, args = _scope_where(table, scope)
    values = {**values, "updated_at": now()}
    sets = []
    for column, value in values.items():
        args.append(value)
        sets.append(f"{column} = ${len(args)}")
    args.append(id_)
    sql = (
        f"UPDATE {table.name} SET {', '.join(sets)} WHERE {where} AND id = ${len(args)} "
        "AND deleted_at IS NULL RETURNING *"
    )
    return await conn.fetchrow(sql, *args)


async def soft_delete(conn: asyncpg.Connection, table: Table, scope: Scope, id_: UUID) -> datetime | None:
    """Mark the live row ``id_`` deleted; returns when (its ``deleted_at``), or None if none was live."""
    where, args = _scope_where(table, scope)
    args.extend([now(), id_])
    sql = (
        f"UPDATE {table.name} SET deleted_at = ${len(args) - 1}, updated_at = ${len(args) - 1} "
        f"WHERE {where} AND id = ${len(args)} AND deleted_at IS NULL RETURNING deleted_at"
    )
    deleted_at: datetime | None = await conn.fetchval(sql, *args)
    return deleted_at


@dataclass(frozen=True, slots=True)
class MetadataPatch:
    """Midaz's PATCH rule: omitted keeps all; null clears all; a null value deletes its key."""

    given: bool = False
    values: dict[str, Any] | None = None

    def apply(self, current: dict[str, Any]) -> dict[str, Any]:
        if not self.given:
            return current
        if self.values is None:
            return {}
        merged = dict(current)
        for key, value in self.values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged


def _scope_where(table: Table, scope: Scope) -> tuple[str, list[Any]]:
    clauses = []
    args: list[Any] = []
    for column in table.scope:
        args.append(scope[column])
        clauses.append(f"{column} = ${len(args)}")
    return " AND ".join(clauses) or "TRUE", args


def _list_where(table: Table, scope: Scope, query: ListQuery) -> tuple[str, list[Any]]:
    where, args = _scope_where(table, scope)
    clauses = [where, "deleted_at IS NULL"]
    if query.start is not None and query.end is not None:
        args.extend([query.start, query.end])
        clauses.append(f"created_at BETWEEN ${len(args) - 1} AND ${len(args)}")
    for flt in query.filters:
        clauses.append(_filter_clause(flt, args))
    if query.metadata is not None:
        clauses.append(_metadata_clause(*query.metadata, args))
    return " AND ".join(clauses), args


def _filter_clause(flt: Filter, args: list[Any]) -> str:
    if flt.match is Match.PREFIX:
        escaped = str(flt.value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        args.append(escaped + "%")
        return f"{flt.column} ILIKE ${len(args)}"
    args.append(flt.value)
    if flt.match is Match.ANY:
        return f"{flt.column} = ANY(${len(args)})"
    return f"{flt.column} = ${len(args)}"


def _metadata_clause(key: str, value: str, args: list[Any]) -> str:
    """Exact match on one metadata key; a numeric or boolean text also matches the typed value.

    Written as containment (``@>``) so that the GIN index on metadata serves it.
    """
    candidates: list[object] = [value]
    with contextlib.suppress(msgspec.DecodeError):
        candidates.append(msgspec.json.decode(value))
    parts = []
    for candidate in candidates:
        if isinstance(candidate, dict | list) or (candidate is not value and candidate == value):
            continue
        args.append({key: candidate})
        parts.append(f"metadata @> ${len(args)}")
    return "(" + " OR ".join(parts) + ")"
