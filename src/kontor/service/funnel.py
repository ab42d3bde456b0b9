"""The write funnel: every change to money in this process passes through here.

Requests queue while a batch commits; the next batch takes everything queued (up to
``batch_max``), so under light load a batch is one command and waits for nothing, and under heavy
load one commit (one fsync) and one update per hot balance serve many commands.

Failure isolation: a rejected command is answered with its error inside the batch. If the batch's
database transaction itself fails for any other reason, each command is retried alone, so one bad
command cannot fail its neighbours. A deadlock or serialization failure retries the batch.

Idempotency inside one process: a command whose key is already in flight waits for that command's
answer and replays it (same request) or is refused 409 ``0084`` (same key, different request).
Across processes the same holds through the advisory lock taken in the batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service.posting import Command, Outcome, Result, opening, run_batch
from kontor.store.db import Connection, Database, is_retryable
from kontor.store.posting import plans_cacheable

log = logging.getLogger("kontor.funnel")

BATCH_RETRIES_MAX = 3
# A repeat of an in-flight idempotent request waits this long for the first one's answer.
IDEMPOTENCY_WAIT_S = 30.0
# Until the tables have what cached plans need (``plans_cacheable``: statistics, and rows for the
# reads), the funnel asks again this often: a catalog query, cheap beside a batch. At 60 s, a new
# ledger filled by the benchmark's set-up kept planning its reads per call for most of phase b.
PLANS_CHECK_INTERVAL_S = 5.0


@dataclass(slots=True)
class _Pending:
    command: Command
    future: asyncio.Future[Result]


@dataclass(slots=True)
class _Atomic:
    """Commands that commit together or not at all, in a database transaction of their own."""

    commands: list[Command]
    future: asyncio.Future[list[Result]]


class _RolledBack(Exception):
    """Raised inside an atomic group's database transaction to undo it."""

    def __init__(self, results: list[Result]) -> None:
        super().__init__("atomic group rolled back")
        self.results = results


class Funnel:
    """Batches commands into database transactions; one worker task per process."""

    def __init__(self, db: Database, batch_max: int, clock: Callable[[], datetime] | None = None) -> None:
        self._db = db
        self._batch_max = batch_max
        self._clock = clock or (lambda: datetime.now(UTC))
        self._queue: deque[_Pending | _Atomic] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: dict[tuple[UUID, UUID, str], tuple[str, asyncio.Future[Result]]] = {}
        self.batches = 0
        self.commands = 0
        self._plans_cacheable = (False, False)  # the writes', the reads'
        self._plans_checked_at = -PLANS_CHECK_INTERVAL_S

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="kontor-funnel")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def submit(self, command: Command) -> Outcome:
        """Queue ``command`` and wait for its answer; raises its KontorError when refused."""
        key = command.idempotency
        slot = (command.organization_id, command.ledger_id, key.key) if key else None
        if slot is not None and key is not None and slot in self._in_flight:
            return await self._join(slot, key.request_hash)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        if slot is not None and key is not None:
            self._in_flight[slot] = (key.request_hash, future)
            future.add_done_callback(lambda _: self._in_flight.pop(slot, None))
        self._queue.append(_Pending(command, future))
        self._wakeup.set()
        self.start()
        return _unwrap(await asyncio.shield(future), replayed=False)

    async def submit_many(self, commands: list[Command]) -> list[Result]:
        """Queue ``commands`` together (they share batches) and answer each, in order."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Result]] = []
        for command in commands:
            future: asyncio.Future[Result] = loop.create_future()
            futures.append(future)
            self._queue.append(_Pending(command, future))
        self._wakeup.set()
        self.start()
        return list(await asyncio.shield(asyncio.gather(*futures)))

    async def submit_atomic(self, commands: list[Command]) -> list[Result]:
        """Apply ``commands`` all or none: if any is refused, nothing commits.

        The answers keep their order; when the group rolls back, the refused commands carry their
        own errors and the others ``BATCH_ROLLED_BACK``.
        """
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._queue.append(_Atomic(commands, future))
        self._wakeup.set()
        self.start()
        return await asyncio.shield(future)

    async def _join(self, slot: tuple[UUID, UUID, str], request_hash: str) -> Outcome:
        first_hash, future = self._in_flight[slot]
        if first_hash != request_hash:
            raise KontorError(codes.IDEMPOTENCY_IN_FLIGHT, entity_type="Transaction")
        try:
            result = await asyncio.wait_for(asyncio.shield(future), IDEMPOTENCY_WAIT_S)
        except TimeoutError as exc:
            raise KontorError(codes.IDEMPOTENCY_IN_FLIGHT, entity_type="Transaction") from exc
        return _unwrap(result, replayed=True)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                if isinstance(self._queue[0], _Atomic):
                    await self._process_atomic(self._queue.popleft())  # type: ignore[arg-type]
                    continue
                batch: list[_Pending] = []
                while self._queue and len(batch) < self._batch_max and isinstance(self._queue[0], _Pending):
                    batch.append(self._queue.popleft())  # type: ignore[arg-type]
                await self._process(batch)

    async def _process_atomic(self, group: _Atomic) -> None:
        self.batches += 1
        self.commands += len(group.commands)
        try:
            results = await self._attempt(group.commands, atomic=True)
        except _RolledBack as rolled_back:
            results = [
                r if isinstance(r, KontorError) else KontorError(codes.BATCH_ROLLED_BACK, entity_type="Transaction")
                for r in rolled_back.results
            ]
        except Exception as exc:
            error = exc if isinstance(exc, KontorError) else KontorError(codes.PERSISTENCE_FAILED)
            if not isinstance(exc, KontorError):
                log.error("atomic group failed: %r", exc, exc_info=exc)
            results = [error] * len(group.commands)
        if not group.future.done():
            group.future.set_result(results)

    async def _process(self, batch: list[_Pending]) -> None:
        self.batches += 1
        self.commands += len(batch)
        try:
            results = await self._attempt([p.command for p in batch])
        except Exception as exc:
            if len(batch) > 1 and not isinstance(exc, KontorError):
                log.warning("batch of %d failed (%s); retrying each command alone", len(batch), exc)
                for pending in batch:
                    await self._process_alone(pending)
                return
            _fail(batch, exc)
            return
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():
                pending.future.set_result(result)

    async def _process_alone(self, pending: _Pending) -> None:
        try:
            results = await self._attempt([pending.command])
        except Exception as exc:
            _fail([pending], exc)
            return
        if not pending.future.done():
            pending.future.set_result(results[0])

    async def _attempt(self, commands: list[Command], *, atomic: bool = False) -> list[Result]:
        for attempt in range(1, BATCH_RETRIES_MAX + 1):
            try:
                reads = self._plans_cacheable[1]  # as known before BEGIN, which may switch the reads
                async with self._db.write(opening(commands, cached_reads=reads)) as conn:
                    writes, _ = await self._cached_plans(conn)
                    results = await run_batch(
                        conn, commands, self._clock(), opened=True, cached_plans=writes, cached_reads=reads
                    )
                    if atomic and any(isinstance(r, KontorError) for r in results):
                        raise _RolledBack(results)
                    return results
            except Exception as exc:
                if attempt < BATCH_RETRIES_MAX and is_retryable(exc) and not isinstance(exc, _RolledBack):
                    log.info("batch retry %d after %s", attempt, type(exc).__name__)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _cached_plans(self, conn: Connection) -> tuple[bool, bool]:
        """Whether the batch's writes, and its reads, may run cached plans
        (``store.posting.plans_cacheable``); asked of PostgreSQL once a minute at most until both
        hold, then kept (statistics, once there, stay)."""
        now = time.monotonic()
        if not all(self._plans_cacheable) and now >= self._plans_checked_at + PLANS_CHECK_INTERVAL_S:
            self._plans_checked_at = now
            self._plans_cacheable = await plans_cacheable(conn)
        return self._plans_cacheable


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    if isinstance(exc, KontorError):
        error = exc
    else:
        log.error("command failed: %r", exc, exc_info=exc)
        error = KontorError(codes.PERSISTENCE_FAILED, entity_type="Transaction")
    for pending in batch:
        if not pending.future.done():
            pending.future.set_result(error)


def _unwrap(result: Result, *, replayed: bool) -> Outcome:
    if isinstance(result, KontorError):
        raise result
    if replayed and not result.replayed:
        return Outcome(result.body, replayed=True)
    return result
