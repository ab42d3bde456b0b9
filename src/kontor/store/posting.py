"""The SQL of the write funnel: one statement per step of a batch, whatever the batch size.

Lock order, the same in every process so that two batches can never deadlock:
idempotency keys (advisory locks, sorted) -> referenced transactions (sorted) -> balances (sorted by
id) -> journal heads (sorted). Rows are written with ``unnest`` so each table gets one statement per
batch; the double-entry trigger on ``operations`` checks the whole statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

LedgerKey = tuple[UUID, UUID]


async def claim_idempotency_keys(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, UUID, str]], lock_ids: Sequence[int], now: datetime
) -> dict[tuple[UUID, UUID, str], asyncpg.Record]:
    """Lock ``keys`` until this batch commits (advisory locks, in order), then return the live
    records among them: a request with one of those is a replay.

    Two statements on purpose: under READ COMMITTED a statement's snapshot is taken before it waits
    on a lock, so a read in the locking statement would miss the answer that the process holding
    the lock just committed, and the same request would be posted twice.
    """
    if not keys:
        return {}
    await conn.execute(
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest($1::bigint[]) AS k ORDER BY 1) s",
        list(lock_ids),
    )
    rows = await conn.fetch(
        """SELECT i.organization_id, i.ledger_id, i.key, i.request_hash, i.response
             FROM idempotency_keys i
             JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS r(o, l, k)
               ON i.organization_id = r.o AND i.ledger_id = r.l AND i.key = r.k
            WHERE i.expires_at > $4""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        now,
    )
    return {(r["organization_id"], r["ledger_id"], r["key"]): r for r in rows}


async def lock_transactions(conn: asyncpg.Connection, refs: Sequence[tuple[UUID, UUID, UUID]]) -> list[asyncpg.Record]:
    """The transactions a batch commits, cancels or reverts, locked in id order."""
    if not refs:
        return []
    return list(
        await conn.fetch(
            """SELECT t.* FROM transactions t
                 JOIN unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS r(o, l, i)
                   ON t.organization_id = r.o AND t.ledger_id = r.l AND t.id = r.i
                WHERE t.deleted_at IS NULL
                ORDER BY t.organization_id, t.ledger_id, t.id
                  FOR UPDATE OF t""",
            [r[0] for r in refs],
            [r[1] for r in refs],
            [r[2] for r in refs],
        )
    )


async def reversals_of(
    conn: asyncpg.Connection, refs: Sequence[tuple[UUID, UUID, UUID]]
) -> set[tuple[UUID, UUID, UUID]]:
    """Which of these transactions already have a reversal."""
    if not refs:
        return set()
    rows = await conn.fetch(
        """SELECT t.organization_id, t.ledger_id, t.parent_transaction_id FROM transactions t
             JOIN unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS r(o, l, i)
               ON t.organization_id = r.o AND t.ledger_id = r.l AND t.parent_transaction_id = r.i""",
        [r[0] for r in refs],
        [r[1] for r in refs],
        [r[2] for r in refs],
    )
    return {(r[0], r[1], r[2]) for r in rows}


async def operations_of(conn: asyncpg.Connection, refs: Sequence[tuple[UUID, UUID, UUID]]) -> list[asyncpg.Record]:
    if not refs:
        return []
    return list(
        await conn.fetch(
            """SELECT o.* FROM operations o
                 JOIN unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS r(org, l, t)
                   ON o.organization_id = r.org AND o.ledger_id = r.l AND o.transaction_id = r.t
                ORDER BY o.transaction_id, o.id""",
            [r[0] for r in refs],
            [r[1] for r in refs],
            [r[2] for r in refs],
        )
    )


async def lock_balances(conn: asyncpg.Connection, refs: Sequence[tuple[UUID, UUID, str, str]]) -> list[asyncpg.Record]:
    """The live balances named by (org, ledger, alias, key), locked in id order."""
    if not refs:
        return []
    return list(
        await conn.fetch(
            """SELECT b.* FROM balances b
                 JOIN (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])) AS r(o, l, a, k)
                   ON b.organization_id = r.o AND b.ledger_id = r.l AND b.alias = r.a AND b.key = r.k
                WHERE b.deleted_at IS NULL
                ORDER BY b.organization_id, b.ledger_id, b.id
                  FOR UPDATE OF b""",
            [r[0] for r in refs],
            [r[1] for r in refs],
            [r[2] for r in refs],
            [r[3] for r in refs],
        )
    )


TRANSACTION_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("id", "uuid"),
    ("parent_transaction_id", "uuid"),
    ("description", "text"),
    ("code", "text"),
    ("chart_of_accounts_group_name", "text"),
    ("status", "text"),
    ("status_description", "text"),
    ("amount", "numeric"),
    ("asset_code", "text"),
    ("source", "text[]"),
    ("destination", "text[]"),
    ("route", "text"),
    ("route_id", "uuid"),
    ("legs", "jsonb"),
    ("metadata", "jsonb"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)

OPERATION_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("id", "uuid"),
    ("transaction_id", "uuid"),
    ("description", "text"),
    ("type", "text"),
    ("direction", "text"),
    ("asset_code", "text"),
    ("chart_of_accounts", "text"),
    ("amount", "numeric"),
    ("available_before", "numeric"),
    ("on_hold_before", "numeric"),
    ("overdraft_before", "numeric"),
    ("version_before", "bigint"),
    ("available_after", "numeric"),
    ("on_hold_after", "numeric"),
    ("overdraft_after", "numeric"),
    ("version_after", "bigint"),
    ("account_id", "uuid"),
    ("account_alias", "text"),
    ("balance_key", "text"),
    ("balance_id", "uuid"),
    ("route", "text"),
    ("route_id", "uuid"),
    ("balance_affected", "boolean"),
    ("metadata", "jsonb"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
)

IDEMPOTENCY_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("key", "text"),
    ("request_hash", "text"),
    ("transaction_id", "uuid"),
    ("response", "text"),
    ("expires_at", "timestamptz"),
)

JOURNAL_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("seq", "bigint"),
    ("id", "uuid"),
    ("event_type", "text"),
    ("subject", "text"),
    ("payload", "text"),
    ("created_at", "timestamptz"),
    ("prev_hash", "bytea"),
    ("hash", "bytea"),
)


def _unnest_insert(table: str, columns: Sequence[tuple[str, str]], suffix: str = "") -> str:
    """``INSERT ... SELECT FROM unnest(...)``; jsonb and text[] travel as JSON text and are cast here."""
    names = ", ".join(name for name, _ in columns)
    params = []
    selects = []
    for i, (name, kind) in enumerate(columns, start=1):
        if kind == "jsonb":
            params.append(f"${i}::text[]")
            selects.append(f"{name}::jsonb")
        elif kind == "text[]":
            params.append(f"${i}::text[]")
            selects.append(f"ARRAY(SELECT jsonb_array_elements_text({name}::jsonb))")
        else:
            params.append(f"${i}::{kind}[]")
            selects.append(name)
    return (
        f"INSERT INTO {table} ({names}) SELECT {', '.join(selects)} "
        f"FROM unnest({', '.join(params)}) AS u({names}) {suffix}"
    )


_INSERT_TRANSACTIONS = _unnest_insert("transactions", TRANSACTION_COLUMNS)
_INSERT_OPERATIONS = _unnest_insert("operations", OPERATION_COLUMNS)
_INSERT_JOURNAL = _unnest_insert("journal", JOURNAL_COLUMNS)
_UPSERT_IDEMPOTENCY = _unnest_insert(
    "idempotency_keys",
    IDEMPOTENCY_COLUMNS,
    "ON CONFLICT (organization_id, ledger_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
    "transaction_id = EXCLUDED.transaction_id, response = EXCLUDED.response, expires_at = EXCLUDED.expires_at, "
    "created_at = now()",
)


async def _insert_columns(conn: asyncpg.Connection, sql: str, width: int, rows: Sequence[Sequence[Any]]) -> None:
    if rows:
        await conn.execute(sql, *[[row[i] for row in rows] for i in range(width)])


async def insert_transactions(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    await _insert_columns(conn, _INSERT_TRANSACTIONS, len(TRANSACTION_COLUMNS), rows)


async def insert_operations(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """All operations of a batch in one statement (the double-entry trigger checks per statement)."""
    await _insert_columns(conn, _INSERT_OPERATIONS, len(OPERATION_COLUMNS), rows)


async def upsert_idempotency(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    await _insert_columns(conn, _UPSERT_IDEMPOTENCY, len(IDEMPOTENCY_COLUMNS), rows)


async def insert_journal(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    await _insert_columns(conn, _INSERT_JOURNAL, len(JOURNAL_COLUMNS), rows)


async def set_statuses(conn: asyncpg.Connection, rows: Sequence[tuple[UUID, UUID, UUID, str, datetime]]) -> None:
    """Move pending transactions to APPROVED or CANCELED."""
    if not rows:
        return
    await conn.execute(
        """UPDATE transactions t SET status = u.s, status_description = u.s, updated_at = u.at
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[]) AS u(o, l, i, s, at)
            WHERE t.organization_id = u.o AND t.ledger_id = u.l AND t.id = u.i""",
        *[[row[i] for row in rows] for i in range(5)],
    )


async def update_balances(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Write each touched balance once: (org, ledger, id, available, on_hold, overdraft_used, version, at)."""
    if not rows:
        return
    await conn.execute(
        """UPDATE balances b
              SET available = u.a, on_hold = u.h, overdraft_used = u.od, version = u.v, updated_at = u.at
             FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::numeric[], $5::numeric[], $6::numeric[],
                         $7::bigint[], $8::timestamptz[]) AS u(o, l, i, a, h, od, v, at)
            WHERE b.organization_id = u.o AND b.ledger_id = u.l AND b.id = u.i""",
        *[[row[i] for row in rows] for i in range(8)],
    )


async def lock_journal_heads(
    conn: asyncpg.Connection, ledgers: Sequence[LedgerKey]
) -> dict[LedgerKey, tuple[int, bytes]]:
    """Each ledger's chain head (last seq and hash), locked in order; created at (0, zero hash) on
    first use. One round trip: an upsert locks the rows it touches and returns them."""
    ordered = sorted(set(ledgers))
    rows = await conn.fetch(
        """INSERT INTO journal_heads AS h (organization_id, ledger_id, seq, hash)
           SELECT o, l, 0, decode(repeat('00', 32), 'hex') FROM unnest($1::uuid[], $2::uuid[]) AS u(o, l)
            ORDER BY o, l
           ON CONFLICT (organization_id, ledger_id) DO UPDATE SET seq = h.seq
           RETURNING h.organization_id, h.ledger_id, h.seq, h.hash""",
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    return {(r[0], r[1]): (int(r[2]), bytes(r[3])) for r in rows}


async def move_journal_heads(conn: asyncpg.Connection, heads: dict[LedgerKey, tuple[int, bytes]]) -> None:
    if not heads:
        return
    keys = list(heads)
    await conn.execute(
        """UPDATE journal_heads h SET seq = u.s, hash = u.h
             FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::bytea[]) AS u(o, l, s, h)
            WHERE h.organization_id = u.o AND h.ledger_id = u.l""",
        [k[0] for k in keys],
        [k[1] for k in keys],
        [heads[k][0] for k in keys],
        [heads[k][1] for k in keys],
    )


def _cte_insert(name: str, table: str, columns: Sequence[tuple[str, str]], first: int, suffix: str = "") -> str:
    names = ", ".join(n for n, _ in columns)
    params, selects = [], []
    for i, (column, kind) in enumerate(columns, start=first):
        if kind == "jsonb":
            params.append(f"${i}::text[]")
            selects.append(f"{column}::jsonb")
        elif kind == "text[]":
            params.append(f"${i}::text[]")
            selects.append(f"ARRAY(SELECT jsonb_array_elements_text({column}::jsonb))")
        else:
            params.append(f"${i}::{kind}[]")
            selects.append(column)
    return (
        f"{name} AS (INSERT INTO {table} ({names}) SELECT {', '.join(selects)} "
        f"FROM unnest({', '.join(params)}) AS u({names}) {suffix} RETURNING 1)"
    )


def _write_batch_sql() -> str:
    n = 1
    parts = []
    parts.append(_cte_insert("t", "transactions", TRANSACTION_COLUMNS, n))
    n += len(TRANSACTION_COLUMNS)
    parts.append(_cte_insert("o", "operations", OPERATION_COLUMNS, n))
    n += len(OPERATION_COLUMNS)
    parts.append(
        _cte_insert(
            "i",
            "idempotency_keys",
            IDEMPOTENCY_COLUMNS,
            n,
            "ON CONFLICT (organization_id, ledger_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
            "transaction_id = EXCLUDED.transaction_id, response = EXCLUDED.response, "
            "expires_at = EXCLUDED.expires_at, created_at = now()",
        )
    )
    n += len(IDEMPOTENCY_COLUMNS)
    parts.append(_cte_insert("j", "journal", JOURNAL_COLUMNS, n))
    n += len(JOURNAL_COLUMNS)
    parts.append(
        f"""b AS (UPDATE balances bl
              SET available = u.a, on_hold = u.h, overdraft_used = u.od, version = u.v, updated_at = u.at
             FROM unnest(${n}::uuid[], ${n + 1}::uuid[], ${n + 2}::uuid[], ${n + 3}::numeric[], ${n + 4}::numeric[],
                         ${n + 5}::numeric[], ${n + 6}::bigint[], ${n + 7}::timestamptz[]) AS u(o, l, i, a, h, od, v, at)
            WHERE bl.organization_id = u.o AND bl.ledger_id = u.l AND bl.id = u.i RETURNING 1)"""
    )
    n += 8
    parts.append(
        f"""s AS (UPDATE transactions tr SET status = u.s, status_description = u.s, updated_at = u.at
             FROM unnest(${n}::uuid[], ${n + 1}::uuid[], ${n + 2}::uuid[], ${n + 3}::text[], ${n + 4}::timestamptz[])
                  AS u(o, l, i, s, at)
            WHERE tr.organization_id = u.o AND tr.ledger_id = u.l AND tr.id = u.i RETURNING 1)"""
    )
    n += 5
    parts.append(
        f"""h AS (UPDATE journal_heads jh SET seq = u.s, hash = u.h
             FROM unnest(${n}::uuid[], ${n + 1}::uuid[], ${n + 2}::bigint[], ${n + 3}::bytea[]) AS u(o, l, s, h)
            WHERE jh.organization_id = u.o AND jh.ledger_id = u.l RETURNING 1)"""
    )
    counts = ", ".join(f"(SELECT count(*) FROM {name})" for name in "toijbsh")
    return "WITH " + ",\n".join(parts) + f"\nSELECT {counts}"


_WRITE_BATCH = _write_batch_sql()


def _columns_of(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def write_batch(
    conn: asyncpg.Connection,
    *,
    transactions: Sequence[Sequence[Any]],
    operations: Sequence[Sequence[Any]],
    idempotency: Sequence[Sequence[Any]],
    journal: Sequence[Sequence[Any]],
    balances: Sequence[Sequence[Any]],
    statuses: Sequence[Sequence[Any]],
    heads: dict[LedgerKey, tuple[int, bytes]],
) -> None:
    """Everything a batch writes, in one statement (one round trip): new transactions, all their
    operations (so the double-entry trigger sees the whole batch), idempotency records, journal
    rows, each touched balance once, settled statuses, and the moved journal heads."""
    keys = list(heads)
    head_rows = [(k[0], k[1], heads[k][0], heads[k][1]) for k in keys]
    await conn.execute(
        _WRITE_BATCH,
        *_columns_of(transactions, len(TRANSACTION_COLUMNS)),
        *_columns_of(operations, len(OPERATION_COLUMNS)),
        *_columns_of(idempotency, len(IDEMPOTENCY_COLUMNS)),
        *_columns_of(journal, len(JOURNAL_COLUMNS)),
        *_columns_of(balances, 8),
        *_columns_of(statuses, 5),
        *_columns_of(head_rows, 4),
    )
