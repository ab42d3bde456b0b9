"""The HTTP load generator: one phase in one process, run by ``bench.run`` in a few processes at once.

Three shapes of load:

- **closed**: each connection posts a transfer, waits for the answer, posts the next, until the
  window ends; throughput is what the server sustains with that many clients.
- **open**: transfers are sent on a clock at a fixed offered rate, whatever the answers do, and
  each latency is measured from the *scheduled* send time, so a stalled server shows as latency
  instead of as fewer requests (coordinated omission). A request waiting for a free connection is
  still waiting: that wait counts too.
- **bulk**: closed loop posting batches of ``BULK_BATCH_SIZE`` transfers to ``.../transactions/batch``.

Only answers 201 (per item, for bulk) count as transfers; everything else is tallied as an error
by status and Midaz code. The process reports its own CPU time over the window, because it shares
the machine with the server it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from bench.wire import Connection, ConnectionClosed, request

ASSET = "BRL"
ALIAS = "@acct{}"
HOT_ALIAS = "@hot"
BULK_BATCH_SIZE = 1000
# One request of a closed or bulk loop that has not answered this long after the window closed is
# abandoned: the phase must end even if the server hangs.
DRAIN_TIMEOUT_S = 30.0

TRANSFER = (
    b'{"send":{"asset":"BRL","value":"1",'
    b'"source":{"from":[{"accountAlias":"%s","amount":{"asset":"BRL","value":"1"}}]},'
    b'"distribute":{"to":[{"accountAlias":"%s","amount":{"asset":"BRL","value":"1"}}]}}}'
)
# A bulk item carries a unique description: with no per-item idempotency key, the body's hash is the
# key, and two identical transfers would otherwise be answered as one.
TRANSFER_DESCRIBED = b'{"description":"%s",' + TRANSFER[1:]


Shape = Literal["closed", "open", "bulk"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to send: kontor's address and the ledger's path (``/v1/organizations/.../ledgers/...``)."""

    host: str
    port: int
    ledger_path: str
    accounts: int


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One process's share of one phase."""

    name: str
    shape: Shape
    target: Target
    connections: int
    seconds: float
    start_at: float  # wall clock (time.time()), the same for every process of the phase
    seed: int
    hot: bool = False
    rate_per_s: float = 0.0  # open: this process's offered rate
    phase_offset: float = 0.0  # open: this process's sends are shifted by this fraction of its interval


@dataclass(slots=True)
class PhaseResult:
    """What one process saw: transfers, errors, latencies, its CPU time."""

    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    per_second: list[int] = field(default_factory=list)
    send_lag_ms: list[float] = field(default_factory=list)  # open: the generator's wake-up time - scheduled time
    cpu_s: float = 0.0
    window_s: float = 0.0  # from the start to the last answer: sending stops at the deadline, answers are awaited
    unanswered: int = 0  # transfers sent whose answer never came (connection lost, drain timeout): may exist
    late_start_s: float = 0.0


class Transfers:
    """Random transfer bodies: two distinct uniformly random accounts, or a random one into the hot account."""

    def __init__(self, spec: PhaseSpec) -> None:
        self._rng = random.Random(spec.seed)
        self._accounts = spec.target.accounts
        self._hot = spec.hot
        self._tag = f"{spec.name}-{spec.seed}-{time.time_ns()}"
        self._sequence = 0
        target = spec.target
        self._host = f"{target.host}:{target.port}"
        self._json_path = f"{target.ledger_path}/transactions/json"
        self._batch_path = f"{target.ledger_path}/transactions/batch"

    def _pair(self) -> tuple[bytes, bytes]:
        source = self._rng.randrange(self._accounts)
        if self._hot:
            return ALIAS.format(source).encode(), HOT_ALIAS.encode()
        destination = self._rng.randrange(self._accounts - 1)
        destination += destination >= source
        return ALIAS.format(source).encode(), ALIAS.format(destination).encode()

    def _key(self) -> str:
        self._sequence += 1
        return f"{self._tag}-{self._sequence}"

    def single(self) -> bytes:
        """A POST .../transactions/json with its own idempotency key."""
        body = TRANSFER % self._pair()
        return request("POST", self._host, self._json_path, body, {"X-Idempotency": self._key()})

    def batch(self, size: int) -> bytes:
        """A POST .../transactions/batch of ``size`` transfers."""
        items = [TRANSFER_DESCRIBED % (self._key().encode(), *self._pair()) for _ in range(size)]
        body = b'{"transactions":[' + b",".join(items) + b"]}"
        return request("POST", self._host, self._batch_path, body)


class BatchItem(msgspec.Struct):
    """The fields of a bulk answer's item that tell success from failure; the rest is skipped unread."""

    id: Any = None
    status: Any = None
    code: Any = None
    error: Any = None
    transaction: Any = None


class BatchAnswer(msgspec.Struct):
    items: list[BatchItem] = []


def item_outcome(item: BatchItem) -> str | None:
    """None when the item created a transaction; else its error as ``"<status> <code>"``."""
    if isinstance(item.status, int) and not isinstance(item.status, bool):
        return None if 200 <= item.status < 300 else f"{item.status} {_code_of(item)}"
    if item.error is not None:
        return f"item {_code_of(item)}"
    if item.id is not None or item.transaction is not None:
        return None
    return f"item {_code_of(item)}"


def _code_of(item: BatchItem) -> str:
    if item.code is not None:
        return str(item.code)
    if isinstance(item.error, dict):
        return str(item.error.get("code", "?"))
    return "?"


def error_key(status: int, body: bytes) -> str:
    """``"<status> <Midaz code>"`` for a refused request (the code when the body carries one)."""
    code = "?"
    with contextlib.suppress(msgspec.DecodeError):
        decoded = msgspec.json.decode(body)
        if isinstance(decoded, dict):
            code = str(decoded.get("code", "?"))
    return f"{status} {code}"


class Recorder:
    """Counts transfers per second of the window and keeps every successful latency."""

    def __init__(self, result: PhaseResult, started: float, seconds: float) -> None:
        self.result = result
        self.started = started
        result.per_second = [0] * (int(seconds) + 1)

    def single(self, status: int, body: bytes, since: float, done: float) -> None:
        if status == 201:
            self._ok(1, since, done)
        else:
            self.result.errors[error_key(status, body)] += 1

    def batch(self, status: int, body: bytes, since: float, done: float) -> None:
        if not 200 <= status < 300:
            self.result.errors[f"batch {error_key(status, body)}"] += 1
            return
        ok = 0
        for item in msgspec.json.decode(body, type=BatchAnswer).items:
            outcome = item_outcome(item)
            if outcome is None:
                ok += 1
            else:
                self.result.errors[outcome] += 1
        self._ok(ok, since, done)

    def _ok(self, count: int, since: float, done: float) -> None:
        self.result.ok += count
        self.result.latencies_ms.append((done - since) * 1000)
        second = min(int(done - self.started), len(self.result.per_second) - 1)
        self.result.per_second[second] += count


def run_phase(spec: PhaseSpec) -> PhaseResult:
    """Entry point in a load generator process: run this process's share of one phase."""
    with contextlib.suppress(ImportError):
        import uvloop

        return uvloop.run(_phase(spec))
    return asyncio.run(_phase(spec))


def warm_up() -> None:
    """Run in each new load generator process so its imports are done before any phase starts."""


async def _phase(spec: PhaseSpec) -> PhaseResult:
    target = spec.target
    connections = [await Connection.open(target.host, target.port) for _ in range(spec.connections)]
    result = PhaseResult()
    result.late_start_s = max(0.0, time.time() - spec.start_at)
    await asyncio.sleep(max(0.0, spec.start_at - time.time()))
    transfers = Transfers(spec)
    cpu_before = _cpu_s()
    started = time.perf_counter()
    recorder = Recorder(result, started, spec.seconds)
    try:
        if spec.shape == "open":
            await _open_loop(spec, connections, transfers, recorder)
        else:
            await _closed_loops(spec, connections, transfers, recorder)
    finally:
        for connection in connections:
            connection.close()
    result.cpu_s = _cpu_s() - cpu_before
    result.window_s = time.perf_counter() - started
    return result


async def _reopen(target: Target) -> Connection:
    """A new connection; a closed one if the server refuses, so the caller's next send fails and counts."""
    try:
        return await Connection.open(target.host, target.port)
    except OSError:
        await asyncio.sleep(0.1)
        connection = Connection()
        connection.closed = True
        return connection


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _closed_loops(
    spec: PhaseSpec, connections: list[Connection], transfers: Transfers, recorder: Recorder
) -> None:
    deadline = recorder.started + spec.seconds
    make: Callable[[], bytes] = transfers.single
    record, size = recorder.single, 1
    if spec.shape == "bulk":
        make, record, size = functools.partial(transfers.batch, BULK_BATCH_SIZE), recorder.batch, BULK_BATCH_SIZE
    result = recorder.result

    async def client(connection: Connection) -> None:
        while time.perf_counter() < deadline:
            raw = make()
            sent = time.perf_counter()
            try:
                status, body = await connection.send(raw)
            except ConnectionClosed:
                result.errors["connection lost"] += 1
                result.unanswered += size
                connection = await _reopen(spec.target)
                continue
            record(status, body, sent, time.perf_counter())

    tasks = [asyncio.create_task(client(c)) for c in connections]
    _, stuck = await asyncio.wait(tasks, timeout=spec.seconds + DRAIN_TIMEOUT_S)
    _abandon(stuck, result, size)


def _abandon(stuck: set[asyncio.Task[None]], result: PhaseResult, size: int) -> None:
    """Stop waiting for requests still unanswered after the drain timeout; each may have committed."""
    for task in stuck:
        task.cancel()
    if stuck:
        result.errors[f"no answer within {DRAIN_TIMEOUT_S:.0f} s"] += len(stuck) * size
        result.unanswered += len(stuck) * size


async def _open_loop(spec: PhaseSpec, connections: list[Connection], transfers: Transfers, recorder: Recorder) -> None:
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    interval_s = 1.0 / spec.rate_per_s
    result = recorder.result

    async def one(scheduled: float, raw: bytes) -> None:
        connection = await idle.get()
        try:
            status, body = await connection.send(raw)
        except ConnectionClosed:
            result.errors["connection lost"] += 1
            result.unanswered += 1
            connection = await _reopen(spec.target)
        else:
            recorder.single(status, body, scheduled, time.perf_counter())
        finally:
            idle.put_nowait(connection)

    pending: set[asyncio.Task[None]] = set()
    for index in range(int(spec.seconds * spec.rate_per_s)):
        scheduled = recorder.started + (index + spec.phase_offset) * interval_s
        raw = transfers.single()
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        result.send_lag_ms.append((time.perf_counter() - scheduled) * 1000)
        task = asyncio.create_task(one(scheduled, raw))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        _, stuck = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT_S)
        _abandon(stuck, result, 1)
