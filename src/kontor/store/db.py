"""The connection pool, the unit of work, and the translation of driver failures.

Everything above the store sees ``Database`` and ``Connection`` only; a database that cannot be
reached surfaces as ``KontorError(codes.DATABASE_UNAVAILABLE)`` (503), never as a driver trace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec

from kontor.errors import KontorError, codes, invariant

Connection = asyncpg.Connection
Record = asyncpg.Record

# Failures that mean "the database is not there right now", as opposed to a bad statement: the
# socket (OSError, timeouts); SQLSTATE class 08 except 08P01, a protocol violation (a bug, not an
# outage); the server going down or ending the session (57P01-57P05); no free server slot (53300).
_UNAVAILABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.exceptions.ClientCannotConnectError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.ConnectionRejectionError,
    asyncpg.exceptions.TransactionResolutionUnknownError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.DatabaseDroppedError,
    asyncpg.exceptions.IdleSessionTimeoutError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# What the pool says, as InterfaceError, when it or its connection is closed or closing.
_UNAVAILABLE_INTERFACE_WORDS = ("closed", "closing", "connection")


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is unreachable (answered 503), not that a query failed."""
    if isinstance(exc, asyncpg.exceptions.InterfaceError):
        # The pool raises InterfaceError for a closed pool or a broken connection; other
        # InterfaceErrors are programmer errors and must stay 500s.
        text = str(exc)
        return any(word in text for word in _UNAVAILABLE_INTERFACE_WORDS)
    return isinstance(exc, _UNAVAILABLE)


# jsonb and json travel in PostgreSQL's binary format: for jsonb a version byte, then the JSON
# text. msgspec's bytes go out as they are (the text format would decode them to str for asyncpg
# to encode back to UTF-8: two copies of a write statement's megabytes).
_JSONB_VERSION = b"\x01"
_encode = msgspec.json.encode


def _encode_jsonb(value: Any) -> bytes:
    return _JSONB_VERSION + _encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return msgspec.json.decode(memoryview(data)[1:])


async def init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=_encode, decoder=msgspec.json.decode, format="binary"
    )


# kontor's statements look rows up by key through arrays (unnest): a cached generic plan cannot
# see how few rows that is, and one made while a table was small may scan a whole ledger's rows
# per lookup once it is large (measured: seconds per batch). Every statement is planned with its
# arguments instead.
SERVER_SETTINGS = {"plan_cache_mode": "force_custom_plan"}
# The write funnel's own connection, kept for the life of the process: no pool acquire and reset
# (a round trip) per batch.
WRITER_SETTINGS = {**SERVER_SETTINGS, "application_name": "kontor-funnel"}


class Database:
    """A pool of connections to one PostgreSQL database."""

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 2,
        max_size: int = 10,
        connect_timeout_s: float = 5.0,
        command_timeout_s: float = 30.0,
    ) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._connect_timeout_s = connect_timeout_s
        self._command_timeout_s = command_timeout_s
        self._pool: asyncpg.Pool | None = None
        # Serialises lazy opening: concurrent first requests must share one pool, not open one each.
        self._opening = asyncio.Lock()
        self._writer: asyncpg.Connection | None = None
        self._writer_lock = asyncio.Lock()

    async def open(self) -> None:
        self._pool = await asyncpg.create_pool(
            self.url,
            min_size=self._min_size,
            max_size=self._max_size,
            timeout=self._connect_timeout_s,
            command_timeout=self._command_timeout_s,
            init=init_connection,
            max_inactive_connection_lifetime=60.0,
            server_settings=SERVER_SETTINGS,
        )

    async def close(self) -> None:
        await self._drop_writer()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection from the pool, for reads that need no transaction."""
        async with self._translate(), self._acquire() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A unit of work: commits if the block returns, rolls back if it raises."""
        async with self._translate(), self._acquire() as conn, conn.transaction():
            yield conn

    @contextlib.asynccontextmanager
    async def write(self, opening: str = "") -> AsyncIterator[asyncpg.Connection]:
        """A unit of work on the write funnel's own connection, one at a time; a connection that
        failed is replaced at the next call. ``opening``, SQL without parameters, runs right after
        BEGIN in the same message: one round trip for both."""
        async with self._translate(), self._writer_lock:
            conn = await self._writer_connection()
            try:
                await conn.execute(f"BEGIN; {opening}" if opening else "BEGIN")
                yield conn
                await conn.execute("COMMIT")
            except BaseException as exc:
                if conn.is_closed() or is_unavailable(exc) or isinstance(exc, asyncio.CancelledError):
                    await self._drop_writer()
                elif conn.is_in_transaction():
                    await self._roll_back(conn)
                raise

    async def _roll_back(self, conn: asyncpg.Connection) -> None:
        try:
            await conn.execute("ROLLBACK")
        except Exception:
            await self._drop_writer()

    async def _writer_connection(self) -> asyncpg.Connection:
        if self._writer is None or self._writer.is_closed():
            self._writer = await asyncpg.connect(
                self.url,
                timeout=self._connect_timeout_s,
                command_timeout=self._command_timeout_s,
                server_settings=WRITER_SETTINGS,
            )
            await init_connection(self._writer)
        return self._writer

    async def _drop_writer(self) -> None:
        conn, self._writer = self._writer, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def ping(self) -> float:
        """Round-trip one query; returns its latency in milliseconds or raises 503."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self.connection() as conn:
            await conn.fetchval("SELECT 1")
        return (loop.time() - started) * 1000

    @contextlib.asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        pool = self._pool or await self._open_lazily()
        async with pool.acquire(timeout=self._connect_timeout_s) as conn:
            yield conn

    async def _open_lazily(self) -> asyncpg.Pool:
        """Open the pool on first use: kontor starts (and answers 503) even if the database is down."""
        async with self._opening:
            if self._pool is None:
                await self.open()
        pool = self._pool
        invariant(pool is not None, "the pool opened without error")
        return pool

    @contextlib.asynccontextmanager
    async def _translate(self) -> AsyncIterator[None]:
        try:
            yield
        except KontorError:
            raise
        except Exception as exc:
            if is_unavailable(exc):
                raise KontorError(codes.DATABASE_UNAVAILABLE) from exc
            raise


def unique_violation(exc: BaseException) -> str | None:
    """The name of the unique index a statement violated, or None."""
    if isinstance(exc, asyncpg.exceptions.UniqueViolationError):
        return str(exc.constraint_name or "")
    return None


def as_params(values: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """Split a column->value mapping into column names and positional parameters."""
    return list(values), list(values.values())


def is_retryable(exc: BaseException) -> bool:
    """A transient conflict between database transactions: the same work may simply be retried."""
    return isinstance(exc, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError)
