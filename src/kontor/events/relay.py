"""The relay: reads the journal by cursor and delivers every event to every sink, at least once.

Per sink and per chain (a ledger, or an organization's own chain), events are delivered strictly
in journal order: a batch is read after the sink's cursor, handed to the sink, and the cursor moves
past what the sink confirmed. A failed delivery is retried with exponential backoff
(``events_retry_base_s`` doubling up to ``events_retry_max_s``):

* a sink that cannot be reached (broker down, connection refused) is retried for as long as it
  takes; nothing is skipped, so nothing is lost while a broker is down;
* an event the sink refuses (a broker's nack, a webhook's error answer) counts an attempt; after
  ``events_attempts_max`` attempts it is written to ``event_dead_letters`` and the cursor moves on.

A sink can only confirm after it was given an event, and the cursor is saved after the
confirmation: a crash in between re-delivers (at least once; consumers de-duplicate by event id).

Several processes may run relays: each sink is relayed by the one process holding that sink's
PostgreSQL advisory lock, held by the relay's own connection (not a pooled one), on which the
delivery loops also read the journal and move their cursors, in turn. When that
connection is lost the locks go with it, the relay stops its sinks, reconnects and competes again.
The relay reads the journal and the heads without locks and writes only its own tables, so it
never holds anything the write funnel waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar
from uuid import UUID

from kontor.config import Settings
from kontor.events import journal
from kontor.events.notify import Notifier
from kontor.store import events as store
from kontor.store.events import JournalEvent

log = logging.getLogger("kontor.events")

T = TypeVar("T")

# How often a relay that does not hold a sink's lock tries again to take it.
LOCK_RETRY_S = 2.0


class DeliveryError(Exception):
    """A sink delivered the first ``delivered`` events of a batch, then failed.

    ``refused``: the sink answered and said no to the next event (it counts as an attempt); else the
    sink could not be reached and the event is simply tried again later.
    """

    def __init__(self, delivered: int, reason: str, *, refused: bool) -> None:
        super().__init__(reason)
        self.delivered = delivered
        self.reason = reason
        self.refused = refused


class Sink(Protocol):
    """Where events go. ``deliver`` sends events in order and returns once all are confirmed."""

    @property
    def name(self) -> str: ...  # the cursor's and the advisory lock's key

    @property
    def organization_id(self) -> UUID | None: ...  # only this organization's chains, if set

    @property
    def ledger_id(self) -> UUID | None: ...  # only this ledger's chain, if set

    def wants(self, event: JournalEvent) -> bool: ...

    async def deliver(self, events: Sequence[JournalEvent], first_attempt: int) -> None: ...

    async def close(self) -> None: ...


SinkSource = Callable[[], Awaitable[list[Sink]]]


@dataclass(slots=True)
class Backoff:
    """Exponential backoff: ``base``, ``2 base``, ``4 base``... never more than ``ceiling``."""

    base_s: float
    ceiling_s: float
    failures: int = 0

    def next_delay_s(self) -> float:
        self.failures += 1
        return float(min(self.ceiling_s, self.base_s * 2 ** (self.failures - 1)))

    def reset(self) -> None:
        self.failures = 0


@dataclass(slots=True)
class _Running:
    sink: Sink
    task: asyncio.Task[None]


@dataclass(slots=True)
class Stats:
    delivered: int = 0
    dead_letters: int = 0
    failures: int = 0


class Relay:
    """Runs one delivery loop per sink whose advisory lock this process holds."""

    def __init__(self, url: str, settings: Settings, notifier: Notifier, sources: list[SinkSource]):
        self._url = url
        self._settings = settings
        self._notifier = notifier
        self._sources = sources
        self._running: dict[str, _Running] = {}
        self._lock_conn: store.Connection | None = None
        self._lock_guard = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.stats = Stats()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kontor-events-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # --- supervision: the lock connection and the set of sinks ---------------------------------

    async def _run(self) -> None:
        backoff = Backoff(0.1, 5.0)
        while True:
            lost = asyncio.Event()
            try:
                self._lock_conn = await store.connect(self._url, "relay")
                store.on_termination(self._lock_conn, lost.set)
                backoff.reset()
                while not lost.is_set():
                    await self._refresh()
                    with contextlib.suppress(TimeoutError):
                        # The set of sinks (webhook subscriptions come and go) is read again each poll.
                        await asyncio.wait_for(lost.wait(), self._settings.events_poll_s)
                log.warning("events: the relay's connection was lost; its sinks stop until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("events: relay connection failed: %s", exc)
            finally:
                await self._stop_all()
                if self._lock_conn is not None:
                    await store.close(self._lock_conn)
                    self._lock_conn = None
            await asyncio.sleep(backoff.next_delay_s())

    async def _refresh(self) -> None:
        """Start a loop for each new sink, stop the loops of sinks that are gone."""
        wanted: dict[str, Sink] = {}
        for source in self._sources:
            for sink in await source():
                wanted[sink.name] = sink
        for name in [n for n in self._running if n not in wanted]:
            await self._stop(name)
        for name, sink in wanted.items():
            if name not in self._running:
                task = asyncio.get_running_loop().create_task(self._own(sink), name=f"kontor-relay-{name}")
                self._running[name] = _Running(sink, task)
            elif sink is not self._running[name].sink:
                await sink.close()  # a fresh copy of a sink already running: the running one stays

    async def _stop(self, name: str) -> None:
        running = self._running.pop(name)
        running.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running.task

    async def _stop_all(self) -> None:
        for name in list(self._running):
            await self._stop(name)

    async def _locked(self, action: Callable[[store.Connection], Awaitable[bool | None]]) -> bool | None:
        """Run ``action`` on the lock connection (one statement at a time on it)."""
        async with self._lock_guard:
            if self._lock_conn is None:
                return False
            return await action(self._lock_conn)

    async def _query(self, action: Callable[[store.Connection], Awaitable[T]]) -> T:
        """Run a delivery loop's read or cursor write on the relay's own connection: short
        statements, taken in turn by the loops, without a pool round trip and reset each."""
        async with self._lock_guard:
            if self._lock_conn is None:
                raise ConnectionError("the relay's connection is closed")
            return await action(self._lock_conn)

    async def _own(self, sink: Sink) -> None:
        """Hold the sink's advisory lock, then deliver; give the lock back when stopped."""
        try:
            while True:  # another process holds the lock while it relays this sink
                if await self._locked(lambda conn: store.try_lock_sink(conn, sink.name)):
                    break
                await asyncio.sleep(LOCK_RETRY_S)
            log.info("events: relaying to %s", sink.name)
            try:
                await self._deliver_forever(sink)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._locked(lambda conn: store.unlock_sink(conn, sink.name)))
        finally:
            await sink.close()

    # --- delivery ------------------------------------------------------------------------------

    async def _deliver_forever(self, sink: Sink) -> None:
        backoff = Backoff(self._settings.events_retry_base_s, self._settings.events_retry_max_s)
        loop = asyncio.get_running_loop()
        passed_at = 0.0
        while True:
            token = self._notifier.token(None if sink.ledger_id is None else _chain_of(sink))
            try:
                pending = await self._query(
                    lambda conn: store.pending(conn, sink.name, sink.organization_id, sink.ledger_id)
                )
                behind = False  # a chain gave a full batch: more may wait right behind it
                for chain in pending:
                    behind = await self._drain(sink, chain, backoff) or behind
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is down: read again later
                log.warning("events: %s cannot read the journal: %s", sink.name, exc)
                await asyncio.sleep(backoff.next_delay_s())
                continue
            passed_at = loop.time()
            # Caught up with what ``pending`` saw (a commit after that set ``token`` already): wait.
            # A pass costs its reads and a cursor write whatever its size, and under load a commit
            # (and its notification) comes every few milliseconds: passes start at most one per
            # ``events_linger_s``, so each carries the events of many commits. A notification
            # after a quiet spell is acted on at once.
            if not behind and await self._notifier.wait(token, self._settings.events_poll_s):
                await asyncio.sleep(max(0.0, passed_at + self._settings.events_linger_s - loop.time()))

    async def _drain(self, sink: Sink, chain: store.Pending, backoff: Backoff) -> bool:
        """Deliver one batch of one chain; whether it was a full batch (more may follow)."""
        limit = self._settings.events_batch_max
        events = await self._query(lambda conn: journal.read(conn, chain.chain, chain.delivered, limit))
        if not events:
            return False
        todo = [e for e in events if sink.wants(e)]
        done = 0
        attempts = 1
        while done < len(todo):
            try:
                await sink.deliver(todo[done:], attempts)
                done = len(todo)
            except DeliveryError as failure:
                if failure.delivered:
                    done += failure.delivered
                    attempts = 1
                    await self._save(sink, todo[done - 1])
                if done >= len(todo):  # a sink that says it failed after delivering everything
                    break
                attempts = await self._failed(sink, todo[done], failure, attempts, backoff)
                if attempts == 0:  # dead-lettered: move past it
                    done += 1
                    attempts = 1
                    await self._save(sink, todo[done - 1])
        backoff.reset()
        self.stats.delivered += len(todo)
        await self._save(sink, events[-1])
        return len(events) >= limit

    async def _failed(
        self, sink: Sink, event: JournalEvent, failure: DeliveryError, attempts: int, backoff: Backoff
    ) -> int:
        """After a failed delivery of ``event``: the next attempt's number, or 0 once dead-lettered."""
        self.stats.failures += 1
        if failure.refused and attempts >= self._settings.events_attempts_max:
            log.error(
                "events: %s gave up on %s (seq %d) after %d attempts: %s",
                sink.name,
                event.id,
                event.seq,
                attempts,
                failure.reason,
            )
            await self._query(lambda conn: store.dead_letter(conn, sink.name, event, attempts, failure.reason))
            self.stats.dead_letters += 1
            return 0
        delay_s = backoff.next_delay_s()
        log.warning("events: %s failed on seq %d (%s); retry in %.2f s", sink.name, event.seq, failure.reason, delay_s)
        await asyncio.sleep(delay_s)
        return attempts + 1 if failure.refused else attempts

    async def _save(self, sink: Sink, event: JournalEvent) -> None:
        await self._query(lambda conn: store.save_cursor(conn, sink.name, event.chain, event.seq))


def _chain_of(sink: Sink) -> tuple[UUID, UUID]:
    organization_id, ledger_id = sink.organization_id, sink.ledger_id
    if organization_id is None or ledger_id is None:
        raise ValueError("a sink of one ledger names its organization too")
    return (organization_id, ledger_id)
