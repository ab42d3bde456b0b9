"""The SQL of the write funnel: one statement per step of a batch, whatever the batch size.

Lock order, the same in every process so that two batches can never deadlock:
idempotency keys (advisory locks, sorted) -> referenced transactions (sorted) -> balances (sorted by
id) -> journal heads (sorted). Each table's rows travel as one parameter, a JSON array (a row is an
array of its columns), or for the journal statement's tables of scalar columns one typed array per
column; a batch writes each table with one statement, and the double-entry trigger on
``operations`` checks the whole statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

LedgerKey = tuple[UUID, UUID]


def lock_idempotency_keys_sql(lock_ids: Sequence[int]) -> str:
    """SQL that locks ``lock_ids`` (advisory locks, in order) until the transaction ends; the ids
    are written into it (integers), so it needs no parameters and can travel with BEGIN."""
    ids = ",".join(str(int(i)) for i in lock_ids)
    return f"SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest('{{{ids}}}'::bigint[]) AS k ORDER BY 1) s"


_READ_IDEMPOTENCY = """SELECT i.organization_id, i.ledger_id, i.key, i.request_hash, coalesce(i.response, j.payload) AS response
             FROM idempotency_keys i
             JOIN unnest($1::uuid[], $2::uuid[], $3::text[]) AS r(o, l, k)
               ON i.organization_id = r.o AND i.ledger_id = r.l AND i.key = r.k
             LEFT JOIN journal j
               ON j.organization_id = i.organization_id AND j.ledger_id = i.ledger_id AND j.seq = i.journal_seq
            WHERE i.expires_at > $4"""


async def read_idempotency_keys(
    conn: asyncpg.Connection, keys: Sequence[tuple[UUID, UUID, str]], now: datetime
) -> dict[tuple[UUID, UUID, str], asyncpg.Record]:
    """The live records among ``keys``, whose advisory locks this transaction holds: a request
    with one of those is a replay.

    A statement of its own, after the locking one, on purpose: under READ COMMITTED a statement's
    snapshot is taken before it waits on a lock, so a read in the locking statement would miss the
    answer that the process holding the lock just committed, and the same request would be posted
    twice.
    """
    if not keys:
        return {}
    rows = await conn.fetch(
        _READ_IDEMPOTENCY,
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


# What the posting engine reads of a balance (not its metadata or timestamps: fewer values to decode).
_BALANCE_STATE = ", ".join(
    f"b.{name}"
    for name in (
        "organization_id",
        "ledger_id",
        "id",
        "account_id",
        "alias",
        "key",
        "asset_code",
        "account_type",
        "available",
        "on_hold",
        "overdraft_used",
        "version",
        "allow_sending",
        "allow_receiving",
        "direction",
        "settings",
    )
)


# The money-changes statement can keep a cached plan too (~0.4-0.75 ms of planning a batch), but
# only once PostgreSQL has statistics on balances and transactions: with them the planner knows a
# ledger holds many rows and reaches each updated row through its primary key; without them (a new
# database, never analyzed) a cached plan reached them through balances_account_idx and
# transactions_created_idx, which would scan a whole ledger per row as the tables grow, until the
# next ANALYZE (EXPLAIN EXECUTE under force_generic_plan). The funnel asks
# ``plans_cacheable`` now and then; once the writes may, the balance lock switches the rest of its
# transaction (``_CACHED_PLANS_AFTER``; the journal statement's own switch then changes nothing).
# An overdraft companion's lock, a read after it, switches back first. A batch of creates switches
# at its start instead (``CACHED_PLANS``, sent with BEGIN: ``service.posting.opening``), so that
# the idempotency read and the balance lock run cached plans as well: planning them per call cost
# more than running them (for one transfer in the server's log: binds 0.32 and 0.30 ms, executions
# 0.04 and 0.11 ms).
# The reads' cached plans wait for more: on a table of a few rows a generic plan walks the table
# whole and filters (EXPLAIN EXECUTE of the balance lock on 4 balances); from
# ``READ_PLANS_MIN_ROWS`` rows of statistics up in each table they read, they look every row up by
# its key, and PostgreSQL plans them again whenever autovacuum's ANALYZE renews the statistics as
# the tables grow (tests/integration/test_write_plans.py).
READ_PLANS_MIN_ROWS = 1000
_READ_TABLES = ("balances", "idempotency_keys", "journal")
_CACHEABLE = f"""SELECT count(DISTINCT tablename) = 2,
                        count(DISTINCT tablename) = 2
                          AND (SELECT min(reltuples) FROM pg_class
                                WHERE oid IN ({", ".join(f"'{t}'::regclass" for t in _READ_TABLES)})) >= {READ_PLANS_MIN_ROWS}
                   FROM pg_stats
                  WHERE schemaname = current_schema() AND tablename IN ('balances', 'transactions')
                    AND attname = 'ledger_id'"""


async def plans_cacheable(conn: asyncpg.Connection) -> tuple[bool, bool]:
    """Whether the money-changes statement may run a cached plan (its tables have statistics), and
    whether a batch's reads may too (each table they read has ``READ_PLANS_MIN_ROWS`` rows)."""
    row = await conn.fetchrow(_CACHEABLE)
    return bool(row[0]), bool(row[1])


async def plan_per_call(conn: asyncpg.Connection) -> None:
    """Back to planning each statement with its arguments, for a read after ``then_writes``."""
    await conn.execute(_PLAN_PER_CALL)


async def lock_balances(
    conn: asyncpg.Connection, refs: Sequence[tuple[UUID, UUID, str, str]], *, then_writes: bool = False
) -> list[asyncpg.Record]:
    """The live balances named by (org, ledger, alias, key), locked in id order. ``then_writes``:
    the statements after it in this transaction run cached plans (see above)."""
    if not refs:
        return []
    return list(
        await conn.fetch(
            _LOCK_BALANCES_THEN_CACHED if then_writes else _LOCK_BALANCES,
            [r[0] for r in refs],
            [r[1] for r in refs],
            [r[2] for r in refs],
            [r[3] for r in refs],
        )
    )


_LOCK_BALANCES_SQL = f"""SELECT {_BALANCE_STATE} FROM balances b
     JOIN (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[])) AS r(o, l, a, k)
       ON b.organization_id = r.o AND b.ledger_id = r.l AND b.alias = r.a AND b.key = r.k
    WHERE b.deleted_at IS NULL{{then}}
    ORDER BY b.organization_id, b.ledger_id, b.id
      FOR UPDATE OF b"""


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
    ("journal_seq", "bigint"),
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
    ("span", "integer"),
)


def _value(index: int, kind: str) -> str:
    """Column ``index`` of a row that travels as a JSON array, as SQL of the column's type."""
    if kind == "jsonb":
        return f"nullif(e->{index}, 'null')"  # a None is SQL NULL, not JSON null
    if kind == "text[]":
        return f"ARRAY(SELECT jsonb_array_elements_text(e->{index}))"
    if kind == "bytea":
        return f"decode(e->>{index}, 'base64')"
    if kind == "text":
        return f"e->>{index}"
    return f"(e->>{index})::{kind}"


def _rows_of(param: int, columns: Sequence[tuple[str, str]]) -> str:
    """A SELECT of the rows passed as parameter ``param``: a JSON array of rows, each an array."""
    values = ", ".join(_value(i, kind) for i, (_, kind) in enumerate(columns))
    return f"SELECT {values} FROM jsonb_array_elements(${param}::jsonb) AS e"


def _columns_of(first: int, columns: Sequence[tuple[str, str]]) -> str:
    """A SELECT of rows passed column by column, one typed array each, as parameters ``first``,
    ``first + 1``, ...: for tables of scalar columns. Nothing is parsed as JSON: a journal row's
    payload, ~2.5 kB of JSON text, would travel as an escaped JSON string inside the array
    (inserting 500 journal rows: ~31 µs a row that way, ~15 this way, measured)."""
    arrays = ", ".join(f"${first + i}::{kind}[]" for i, (_, kind) in enumerate(columns))
    return f"SELECT * FROM unnest({arrays})"


def by_column(rows: Sequence[Sequence[Any]], columns: Sequence[tuple[str, str]]) -> list[Sequence[Any]]:
    """``rows`` as the arguments of ``_columns_of``: one sequence per column."""
    return list(zip(*rows, strict=True)) if rows else [()] * len(columns)


def _insert(
    table: str, columns: Sequence[tuple[str, str]], param: int, suffix: str = "", *, by_columns: bool = False
) -> str:
    """``INSERT INTO table`` of the rows in parameter ``param`` (``_rows_of``), or ``by_columns``
    in parameters ``param``, ``param + 1``, ... (``_columns_of``)."""
    names = ", ".join(name for name, _ in columns)
    rows = _columns_of(param, columns) if by_columns else _rows_of(param, columns)
    return f"INSERT INTO {table} ({names}) {rows} {suffix}"


BALANCE_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("id", "uuid"),
    ("available", "numeric"),
    ("on_hold", "numeric"),
    ("overdraft_used", "numeric"),
    ("version", "bigint"),
    ("updated_at", "timestamptz"),
)
STATUS_COLUMNS = (
    ("organization_id", "uuid"),
    ("ledger_id", "uuid"),
    ("id", "uuid"),
    ("status", "text"),
    ("updated_at", "timestamptz"),
)
HEAD_COLUMNS = (("organization_id", "uuid"), ("ledger_id", "uuid"), ("seq", "bigint"), ("hash", "bytea"))

_UPSERT_IDEMPOTENCY_SUFFIX = (
    "ON CONFLICT (organization_id, ledger_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, "
    "transaction_id = EXCLUDED.transaction_id, response = EXCLUDED.response, journal_seq = EXCLUDED.journal_seq, "
    "expires_at = EXCLUDED.expires_at, "
    "created_at = now()"
)


def _update(
    table: str, columns: Sequence[tuple[str, str]], keys: int, param: int, sets: str, *, by_columns: bool = False
) -> str:
    """``UPDATE table`` from rows whose first ``keys`` columns are the key; ``sets`` reads them as
    ``u``. The rows are in parameter ``param`` or, ``by_columns``, from ``param`` on (as ``_insert``)."""
    names = ", ".join(name for name, _ in columns)
    match = " AND ".join(f"target.{name} = u.{name}" for name, _ in columns[:keys])
    rows = _columns_of(param, columns) if by_columns else _rows_of(param, columns)
    return f"UPDATE {table} target SET {sets} FROM ({rows}) AS u({names}) WHERE {match}"


def _move_heads(first: int) -> str:
    """Moved journal heads, in parameters ``first`` to ``first + 3``."""
    return _update("journal_heads", HEAD_COLUMNS, 2, first, "seq = u.seq, hash = u.hash", by_columns=True)


_INSERT_JOURNAL = _insert("journal", JOURNAL_COLUMNS, 1, by_columns=True)
_MOVE_HEADS = _move_heads(1)


async def insert_journal(conn: asyncpg.Connection, rows: Sequence[Sequence[Any]]) -> None:
    """Journal rows in ``JOURNAL_COLUMNS`` order."""
    if rows:
        await conn.execute(_INSERT_JOURNAL, *by_column(rows, JOURNAL_COLUMNS))


_LOCK_HEADS = """INSERT INTO journal_heads AS h (organization_id, ledger_id, seq, hash)
           SELECT o, l, 0, decode(repeat('00', 32), 'hex') FROM unnest(${o}::uuid[], ${l}::uuid[]) AS u(o, l)
            {where} ORDER BY o, l
           ON CONFLICT (organization_id, ledger_id) DO UPDATE SET seq = h.seq
           RETURNING h.organization_id, h.ledger_id, h.seq, h.hash"""


async def lock_journal_heads(
    conn: asyncpg.Connection, ledgers: Sequence[LedgerKey]
) -> dict[LedgerKey, tuple[int, bytes]]:
    """Each ledger's chain head (last seq and hash), locked in order; created at (0, zero hash) on
    first use. One round trip: an upsert locks the rows it touches and returns them."""
    ordered = sorted(set(ledgers))
    rows = await conn.fetch(_LOCK_HEADS.format(o=1, l=2, where=""), [k[0] for k in ordered], [k[1] for k in ordered])
    return _heads(rows)


def _heads(rows: Sequence[asyncpg.Record]) -> dict[LedgerKey, tuple[int, bytes]]:
    return {(r[0], r[1]): (int(r[2]), bytes(r[3])) for r in rows}


async def move_journal_heads(conn: asyncpg.Connection, heads: dict[LedgerKey, tuple[int, bytes]]) -> None:
    if heads:
        await conn.execute(_MOVE_HEADS, *by_column(_head_rows(heads), HEAD_COLUMNS))


def _head_rows(heads: dict[LedgerKey, tuple[int, bytes]]) -> list[tuple[UUID, UUID, int, bytes]]:
    return [(key[0], key[1], seq, digest) for key, (seq, digest) in heads.items()]


def _ctes(parts: dict[str, str]) -> str:
    """Writes as CTEs of one statement, each reading the parameter its SQL names."""
    return ",\n".join(f"{name} AS ({sql} RETURNING 1)" for name, sql in parts.items())


def _written(parts: dict[str, str]) -> str:
    """A condition that holds once every write of ``parts`` is done (it needs their counts)."""
    return " AND ".join(f"(SELECT count(*) FROM {name}) >= 0" for name in parts)


_CHANGES = {
    "t": _insert("transactions", TRANSACTION_COLUMNS, 1),
    "o": _insert("operations", OPERATION_COLUMNS, 2),
    "b": _update(
        "balances",
        BALANCE_COLUMNS,
        3,
        3,
        "available = u.available, on_hold = u.on_hold, overdraft_used = u.overdraft_used, "
        "version = u.version, updated_at = u.updated_at",
    ),
    "s": _update(
        "transactions",
        STATUS_COLUMNS,
        3,
        4,
        "status = u.status, status_description = u.status, updated_at = u.updated_at",
    ),
}
# The journal heads are locked last in the statement: their upsert reads no row before every
# change above is written (its condition needs their counts), so the heads, which every batch of a
# ledger waits for, are held from the end of this statement to the commit.
# The journal statement that follows only inserts, and updates the journal heads through their
# primary key, their only index: its plan cannot depend on its arguments (each table's rows arrive
# as arrays, whose unnest is counted as 100 rows whatever they hold), so it runs a cached generic plan
# instead of being planned per call (the connection's ``force_custom_plan``). The switch lasts
# until COMMIT or ROLLBACK (``set_config(..., true)``) and turns hash joins, merge joins and
# sequential scans off: a cached plan sees its tables as they were when it was made, and on a new
# database it hashed a sequential scan of the heads; this way every updated row is found through an
# index whatever the tables' size (tests/integration/test_write_plans.py).
# Each setting: its value for cached plans, and the connection's own, which ``plan_per_call`` restores.
_CACHED_PLAN_SETTINGS = {
    "plan_cache_mode": ("force_generic_plan", "force_custom_plan"),
    "enable_hashjoin": ("off", "on"),
    "enable_mergejoin": ("off", "on"),
    "enable_seqscan": ("off", "on"),
}
_SET_CACHED = [f"set_config('{name}', '{cached}', true)" for name, (cached, _) in _CACHED_PLAN_SETTINGS.items()]
# The switch as a condition inside a statement (a scalar subquery: evaluated once per statement,
# not per row), and as a statement of its own without parameters (it travels with BEGIN).
_CACHED_PLANS_AFTER = "(SELECT " + " || ".join(_SET_CACHED) + ") IS NOT NULL"
CACHED_PLANS = "SELECT " + ", ".join(_SET_CACHED)
_LOCK_BALANCES = _LOCK_BALANCES_SQL.format(then="")
_LOCK_BALANCES_THEN_CACHED = _LOCK_BALANCES_SQL.format(then=f" AND {_CACHED_PLANS_AFTER}")
_PLAN_PER_CALL = "; ".join(f"SET LOCAL {name} = {own}" for name, (_, own) in _CACHED_PLAN_SETTINGS.items())
_WRITE_CHANGES = (
    f"WITH {_ctes(_CHANGES)},\n"
    f"h AS ({_LOCK_HEADS.format(o=5, l=6, where='WHERE ' + _written(_CHANGES))})\n"
    f"SELECT * FROM h WHERE {_CACHED_PLANS_AFTER}"
)
# A large batch's chunks before its last statement write their changes only: they neither lock
# the heads nor switch the transaction to cached plans, which the next chunk's money changes may
# not run yet (``plans_cacheable``; the switch is for the journal statement after the last).
_WRITE_CHUNK = f"WITH {_ctes(_CHANGES)}\nSELECT {_written(_CHANGES)}"
# The journal statement's tables, in the order of its parameters: each column its own typed array.
_JOURNAL_TABLES = (IDEMPOTENCY_COLUMNS, JOURNAL_COLUMNS, HEAD_COLUMNS)
_JOURNAL_FIRST = [1 + sum(len(t) for t in _JOURNAL_TABLES[:i]) for i in range(len(_JOURNAL_TABLES))]
_JOURNAL_WRITES = {
    "i": _insert(
        "idempotency_keys", IDEMPOTENCY_COLUMNS, _JOURNAL_FIRST[0], _UPSERT_IDEMPOTENCY_SUFFIX, by_columns=True
    ),
    "j": _insert("journal", JOURNAL_COLUMNS, _JOURNAL_FIRST[1], by_columns=True),
    "h": _move_heads(_JOURNAL_FIRST[2]),
}
_WRITE_JOURNAL = f"WITH {_ctes(_JOURNAL_WRITES)}\nSELECT {_written(_JOURNAL_WRITES)}"
# Its parameters' types, in order (for PREPARE).
JOURNAL_PARAMETER_TYPES = [f"{kind}[]" for table in _JOURNAL_TABLES for _, kind in table]


async def write_changes(
    conn: asyncpg.Connection,
    *,
    transactions: Sequence[Sequence[Any]],
    operations: Sequence[Sequence[Any]],
    balances: Sequence[Sequence[Any]],
    statuses: Sequence[Sequence[Any]],
    chains: Sequence[LedgerKey],
) -> dict[LedgerKey, tuple[int, bytes]]:
    """A batch's money changes, in one statement: new transactions, all their operations (so the
    double-entry trigger sees the whole batch), each touched balance once (``BALANCE_COLUMNS``)
    and settled statuses (``STATUS_COLUMNS``); then it locks the heads of ``chains`` and returns
    them, as ``lock_journal_heads`` does (with no chains, a chunk before a batch's last, it only
    writes: no heads, and no switch to cached plans). Each table's rows travel as one JSON array of rows in its
    columns' order: encoded in C by msgspec, where typed arrays cost ~1 µs per numeric value."""
    if not chains:  # a chunk before the last (or a batch with no events): nothing to lock or switch
        await conn.execute(_WRITE_CHUNK, transactions, operations, balances, statuses)
        return {}
    ordered = sorted(set(chains))
    rows = await conn.fetch(
        _WRITE_CHANGES,
        transactions,
        operations,
        balances,
        statuses,
        [k[0] for k in ordered],
        [k[1] for k in ordered],
    )
    return _heads(rows)


async def write_journal(
    conn: asyncpg.Connection,
    *,
    idempotency: Sequence[Sequence[Any]],
    journal: Sequence[Sequence[Any]],
    heads: dict[LedgerKey, tuple[int, bytes]],
) -> None:
    """What follows the journal heads' lock, in one statement: the journal rows, the moved heads
    and the idempotency records (which point at journal rows)."""
    await conn.execute(
        _WRITE_JOURNAL,
        *by_column(idempotency, IDEMPOTENCY_COLUMNS),
        *by_column(journal, JOURNAL_COLUMNS),
        *by_column(_head_rows(heads), HEAD_COLUMNS),
    )
