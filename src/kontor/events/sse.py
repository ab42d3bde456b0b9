"""Server-Sent Events: one ledger's journal, live, resumable by ``Last-Event-ID``.

Each message is one event: ``id`` is its journal ``seq`` (so a client that reconnects with
``Last-Event-ID`` resumes right after the last event it saw, with no gap and no repeat), ``event``
its type, ``data`` its CloudEvents JSON envelope. A client without ``Last-Event-ID`` starts at the
ledger's present. With a type filter, events of other types are skipped but still advance the
position. A comment line every ``HEARTBEAT_S`` keeps idle connections (and proxies) open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

from kontor.events import catalog, journal
from kontor.events.notify import Notifier
from kontor.store import events as store
from kontor.store.db import Database

HEARTBEAT_S = 15.0
READ_BATCH_MAX = 500
# How long a stream waits for a notification before reading anyway (the polling fallback).
POLL_S = 1.0


async def start_seq(db: Database, chain: tuple[UUID, UUID], last_event_id: str | None) -> int:
    """Where a stream starts: after ``Last-Event-ID`` when given, else after the chain's head."""
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    async with db.connection() as conn:
        return await store.head(conn, chain)


def message(event: store.JournalEvent) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.seq, event.event_type.encode(), catalog.encode(event))


async def stream(
    db: Database, notifier: Notifier, chain: tuple[UUID, UUID], after: int, types: frozenset[str]
) -> AsyncIterator[bytes]:
    """The chain's events after ``seq = after``, forever (until the client goes)."""
    yield b"retry: 1000\n\n"
    idle_s = 0.0
    while True:
        token = notifier.token(chain)
        async with db.connection() as conn:
            events = await journal.read(conn, chain, after, READ_BATCH_MAX)
        for event in events:
            after = event.seq
            if not types or event.event_type in types:
                yield message(event)
        if len(events) == READ_BATCH_MAX:
            continue
        if events:
            idle_s = 0.0
        if not await notifier.wait(token, POLL_S):
            idle_s += POLL_S
            if idle_s >= HEARTBEAT_S:
                idle_s = 0.0
                yield b": keepalive\n\n"
