"""The SQL of event delivery: reading the journal by cursor, moving cursors, dead letters, the
relay's advisory locks and the LISTEN connection.

Nothing here locks a row the write funnel uses: the journal and its heads are only read (MVCC
reads take no row locks), and cursors and dead letters are the relay's own tables. Every row at or
below a chain's committed head is committed, so reading up to the head never skips an event.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from kontor.store.db import init_connection

Connection = asyncpg.Connection
CHANNEL = "kontor_journal"
# The relay's advisory locks use the two-key form: (this namespace, a hash of the sink's name).
# PostgreSQL keeps two-key and one-key (bigint) advisory locks apart, so these can never collide
# with the funnel's idempotency locks or the migration lock.
RELAY_LOCK_NAMESPACE = 0x6B6E7472  # "kntr"

Chain = tuple[UUID, UUID]


@dataclass(frozen=True, slots=True)
class JournalEvent:
    """One event as delivery needs it: a journal row as stored (its payload the JSON text the
    journal stores), or one of the events a row of ``span`` > 1 carries (``kontor.events.journal``)."""

    organization_id: UUID
    ledger_id: UUID
    seq: int
    id: UUID
    event_type: str
    subject: str
    created_at: datetime
    payload_text: str
    span: int = 1  # how many events the row carries: the seqs (seq - span, seq]

    @property
    def chain(self) -> Chain:
        return (self.organization_id, self.ledger_id)


@dataclass(frozen=True, slots=True)
class Pending:
    """A chain with events a sink has not delivered: everything in ``(delivered, head]``."""

    organization_id: UUID
    ledger_id: UUID
    delivered: int
    head: int

    @property
    def chain(self) -> Chain:
        return (self.organization_id, self.ledger_id)


async def connect(url: str, purpose: str) -> asyncpg.Connection:
    """A connection of its own, outside the pool (the relay's locks and LISTEN live on it).

    Its ``application_name`` says what it is and which process holds it (``kontor-relay/<pid>``),
    so ``pg_stat_activity`` shows which process relays each sink.
    """
    conn = await asyncpg.connect(url, server_settings={"application_name": f"kontor-{purpose}/{os.getpid()}"})
    await init_connection(conn)
    return conn


def on_termination(conn: asyncpg.Connection, callback: Callable[[], None]) -> None:
    """Call ``callback`` when ``conn`` is lost (its advisory locks and LISTEN are gone with it)."""
    conn.add_termination_listener(lambda _conn: callback())


async def ping(conn: asyncpg.Connection) -> None:
    await conn.fetchval("SELECT 1")


async def close(conn: asyncpg.Connection) -> None:
    """Close ``conn``; a connection that cannot close cleanly is terminated."""
    try:
        await conn.close(timeout=2)
    except Exception:
        conn.terminate()


def lock_key(sink: str) -> int:
    """The second key of a sink's advisory lock: 32 bits of a hash of its name."""
    return int.from_bytes(hashlib.blake2b(sink.encode(), digest_size=4).digest(), "big", signed=True)


async def try_lock_sink(conn: asyncpg.Connection, sink: str) -> bool:
    """Take the sink's session advisory lock on ``conn`` if no other session holds it."""
    return bool(await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", RELAY_LOCK_NAMESPACE, lock_key(sink)))


async def unlock_sink(conn: asyncpg.Connection, sink: str) -> None:
    await conn.fetchval("SELECT pg_advisory_unlock($1, $2)", RELAY_LOCK_NAMESPACE, lock_key(sink))


async def listen(conn: asyncpg.Connection, callback: Callable[[str], None]) -> None:
    """Call ``callback('<organization_id>/<ledger_id>')`` for each chain a commit extends."""

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        callback(payload)

    await conn.add_listener(CHANNEL, on_notify)


async def pending(
    conn: asyncpg.Connection, sink: str, organization_id: UUID | None = None, ledger_id: UUID | None = None
) -> list[Pending]:
    """The chains whose head is past the sink's cursor, optionally of one organization or ledger."""
    rows = await conn.fetch(
        """SELECT h.organization_id, h.ledger_id, coalesce(c.seq, 0) AS delivered, h.seq AS head
             FROM journal_heads h
             LEFT JOIN event_cursors c
               ON c.sink = $1 AND c.organization_id = h.organization_id AND c.ledger_id = h.ledger_id
            WHERE h.seq > coalesce(c.seq, 0)
              AND ($2::uuid IS NULL OR h.organization_id = $2)
              AND ($3::uuid IS NULL OR h.ledger_id = $3)
            ORDER BY h.organization_id, h.ledger_id""",
        sink,
        organization_id,
        ledger_id,
    )
    return [Pending(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


_READ = """SELECT organization_id, ledger_id, seq, id, event_type, subject, created_at, payload, span
             FROM journal
            WHERE organization_id = $1 AND ledger_id = $2 AND seq > $3
            ORDER BY seq
            LIMIT $4"""


async def read(conn: asyncpg.Connection, chain: Chain, after: int, limit: int) -> list[JournalEvent]:
    """At most ``limit`` rows of one chain that carry events after ``seq = after``, in order (a
    row's seq is its last event's: the first row read may carry events at or before ``after``)."""
    rows = await conn.fetch(_READ, chain[0], chain[1], after, limit)
    return [JournalEvent(*row) for row in rows]


async def head(conn: asyncpg.Connection, chain: Chain) -> int:
    """The chain's last committed seq (0 for a chain with no event yet)."""
    seq = await conn.fetchval(
        "SELECT seq FROM journal_heads WHERE organization_id = $1 AND ledger_id = $2", chain[0], chain[1]
    )
    return int(seq or 0)


async def save_cursor(conn: asyncpg.Connection, sink: str, chain: Chain, seq: int) -> None:
    """Every event of ``chain`` up to ``seq`` is done for ``sink``; a cursor never moves back."""
    await conn.execute(
        """INSERT INTO event_cursors (sink, organization_id, ledger_id, seq) VALUES ($1, $2, $3, $4)
           ON CONFLICT (sink, organization_id, ledger_id)
           DO UPDATE SET seq = greatest(event_cursors.seq, EXCLUDED.seq), updated_at = now()""",
        sink,
        chain[0],
        chain[1],
        seq,
    )


async def start_cursors_at_heads(conn: asyncpg.Connection, sink: str, organization_id: UUID) -> None:
    """Start ``sink`` after everything the organization's chains hold now (a new subscription)."""
    await conn.execute(
        """INSERT INTO event_cursors (sink, organization_id, ledger_id, seq)
           SELECT $1, organization_id, ledger_id, seq FROM journal_heads WHERE organization_id = $2
           ON CONFLICT (sink, organization_id, ledger_id) DO NOTHING""",
        sink,
        organization_id,
    )


async def cursors(conn: asyncpg.Connection, sink: str) -> dict[Chain, int]:
    rows = await conn.fetch("SELECT organization_id, ledger_id, seq FROM event_cursors WHERE sink = $1", sink)
    return {(r[0], r[1]): int(r[2]) for r in rows}


async def dead_letter(conn: asyncpg.Connection, sink: str, event: JournalEvent, attempts: int, error: str) -> None:
    """Record that ``sink`` gave up on ``event``; the caller then moves its cursor past it."""
    await conn.execute(
        """INSERT INTO event_dead_letters
               (sink, organization_id, ledger_id, seq, event_id, event_type, attempts, last_error)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (sink, organization_id, ledger_id, seq)
           DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, created_at = now()""",
        sink,
        event.organization_id,
        event.ledger_id,
        event.seq,
        event.id,
        event.event_type,
        attempts,
        error,
    )


async def dead_letters(conn: asyncpg.Connection, sink: str) -> Sequence[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM event_dead_letters WHERE sink = $1 ORDER BY organization_id, ledger_id, seq", sink
        )
    )
