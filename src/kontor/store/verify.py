"""The SQL behind ``kontor verify``: every balance recomputed from its operations, in the database.

Each check returns the offending rows (at most ``EXAMPLES_MAX``) so the report can name them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg

from kontor.store.db import init_connection

Connection = asyncpg.Connection
EXAMPLES_MAX = 20


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    return conn


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    rule: str
    sql: str


# Each balance's operations form a chain ordered by version: every operation starts where the
# previous one ended (the first from zero), moves exactly its amount the way its type says, and
# bumps the version by one. A credit-direction balance grows with credits, a debit-direction one
# with debits (s = +1 / -1 below).
_CHAIN = """
WITH o AS (
    SELECT op.*, CASE WHEN b.direction = 'credit' THEN 1 ELSE -1 END AS s,
           -- What a balance holds net of its overdraft: a debit beyond available counts here.
           op.available_before - op.overdraft_before AS eff_before,
           op.available_after - op.overdraft_after AS eff_after,
           lag(op.available_after) OVER w AS prev_available,
           lag(op.on_hold_after) OVER w AS prev_on_hold,
           lag(op.overdraft_after) OVER w AS prev_overdraft,
           lag(op.version_after) OVER w AS prev_version
      FROM operations op
      JOIN balances b ON b.organization_id = op.organization_id AND b.ledger_id = op.ledger_id
                     AND b.id = op.balance_id
     WHERE op.balance_affected
    WINDOW w AS (PARTITION BY op.organization_id, op.ledger_id, op.balance_id ORDER BY op.version_after)
)
"""

CHECKS: tuple[Check, ...] = (
    Check(
        "operation chain",
        "each operation of a balance starts where the previous one ended (the first at zero)",
        _CHAIN
        + """
        SELECT balance_id, id FROM o
         WHERE (prev_version IS NULL AND (available_before, on_hold_before, overdraft_before, version_before) <> (0, 0, 0, 0))
            OR (prev_version IS NOT NULL AND (available_before, on_hold_before, overdraft_before, version_before)
                IS DISTINCT FROM (prev_available, prev_on_hold, prev_overdraft, prev_version))
         LIMIT $1""",
    ),
    Check(
        "operation arithmetic",
        "each operation moves exactly its amount as its type says and bumps the version by one",
        _CHAIN
        + """
        SELECT balance_id, id FROM o
         WHERE version_after <> version_before + 1
            OR NOT CASE type
                WHEN 'CREDIT' THEN eff_after - eff_before = s * amount AND on_hold_after = on_hold_before
                WHEN 'DEBIT' THEN (eff_after - eff_before = -s * amount AND on_hold_after = on_hold_before)
                               OR (on_hold_before - on_hold_after = amount AND eff_after = eff_before)
                WHEN 'BLOCK' THEN eff_after - eff_before = CASE direction WHEN 'debit' THEN -s ELSE s END * amount
                WHEN 'UNBLOCK' THEN eff_after - eff_before = CASE direction WHEN 'debit' THEN -s ELSE s END * amount
                WHEN 'OVERDRAFT' THEN eff_after - eff_before = CASE direction WHEN 'debit' THEN -s ELSE s END * amount
                WHEN 'ON_HOLD' THEN on_hold_after - on_hold_before = amount AND eff_after - eff_before = -s * amount
                WHEN 'RELEASE' THEN on_hold_before - on_hold_after = amount AND eff_after - eff_before = s * amount
                ELSE false END
         LIMIT $1""",
    ),
    Check(
        "balance = last operation",
        "each balance holds exactly what its last operation left (zero if it has none)",
        """
        SELECT b.id, b.alias FROM balances b
          LEFT JOIN LATERAL (
                SELECT available_after, on_hold_after, overdraft_after, version_after FROM operations op
                 WHERE op.organization_id = b.organization_id AND op.ledger_id = b.ledger_id
                   AND op.balance_id = b.id AND op.balance_affected
                 ORDER BY op.version_after DESC LIMIT 1) last ON true
         WHERE (b.available, b.on_hold, b.overdraft_used, b.version)
               IS DISTINCT FROM (coalesce(last.available_after, 0), coalesce(last.on_hold_after, 0),
                                 coalesce(last.overdraft_after, 0), coalesce(last.version_after, 0))
         LIMIT $1""",
    ),
    Check(
        "double entry",
        "each transaction's debits and credits sum to the same amount per asset",
        """
        SELECT transaction_id, asset_code FROM operations
         GROUP BY organization_id, ledger_id, transaction_id, asset_code
        HAVING sum(CASE WHEN type IN ('DEBIT', 'CREDIT', 'BLOCK', 'UNBLOCK')
                        THEN CASE direction WHEN 'debit' THEN amount ELSE -amount END ELSE 0 END) <> 0
         LIMIT $1""",
    ),
    Check(
        "no negative balance",
        "no balance of a non-external account is negative",
        """SELECT id, alias FROM balances
            WHERE account_type <> 'external' AND (available < 0 OR on_hold < 0) LIMIT $1""",
    ),
    Check(
        "approved transactions are whole",
        "every approved or noted transaction has operations, and a pending one holds its sources",
        """
        SELECT t.id, t.status FROM transactions t
         WHERE t.status IN ('APPROVED', 'PENDING', 'NOTED') AND NOT EXISTS (
               SELECT 1 FROM operations op WHERE op.organization_id = t.organization_id
                  AND op.ledger_id = t.ledger_id AND op.transaction_id = t.id)
         LIMIT $1""",
    ),
)


async def run_check(conn: asyncpg.Connection, check: Check) -> list[asyncpg.Record]:
    return list(await conn.fetch(check.sql, EXAMPLES_MAX))


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM balances) AS balances, (SELECT count(*) FROM operations) AS operations,
                  (SELECT count(*) FROM transactions) AS transactions, (SELECT count(*) FROM journal) AS journal_rows,
                  (SELECT count(*) FROM journal_heads) AS ledgers"""
    )
    return {key: int(value) for key, value in row.items()}


async def journal_rows(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Record]:
    """Every journal row in chain order (ledger, seq), streamed."""
    async with conn.transaction():
        async for row in conn.cursor(
            """SELECT organization_id, ledger_id, seq, id, event_type, subject, payload,
                      created_at, prev_hash, hash, span
                 FROM journal ORDER BY organization_id, ledger_id, seq""",
            prefetch=2000,
        ):
            yield row


# The columns of a journal row that make a ``store.events.JournalEvent``, in its fields' order.
JOURNAL_EVENT_FIELDS = (
    "organization_id",
    "ledger_id",
    "seq",
    "id",
    "event_type",
    "subject",
    "created_at",
    "payload",
    "span",
)


async def journal_heads(conn: asyncpg.Connection) -> dict[tuple[object, object], tuple[int, bytes]]:
    rows = await conn.fetch("SELECT organization_id, ledger_id, seq, hash FROM journal_heads")
    return {(r[0], r[1]): (int(r[2]), bytes(r[3])) for r in rows}
