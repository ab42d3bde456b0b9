"""Which driver failures mean "the database is unreachable" (503) rather than a bug (500)."""

from __future__ import annotations

import asyncpg
import pytest

from kontor.store.db import is_unavailable

OUTAGES = [
    ConnectionRefusedError(),
    FileNotFoundError(),
    ConnectionResetError(),
    TimeoutError(),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.ConnectionFailureError(),
    asyncpg.exceptions.ClientCannotConnectError(),
    asyncpg.exceptions.AdminShutdownError(),
    asyncpg.exceptions.CrashShutdownError(),
    asyncpg.exceptions.CannotConnectNowError(),
    asyncpg.exceptions.DatabaseDroppedError(),
    asyncpg.exceptions.IdleSessionTimeoutError(),
    asyncpg.exceptions.TooManyConnectionsError(),
    asyncpg.exceptions.InterfaceError("pool is closed"),
    asyncpg.exceptions.InterfaceError("pool is closing"),
    asyncpg.exceptions.InterfaceError("cannot call Connection.fetch(): connection has been released back to the pool"),
]
BUGS = [
    ValueError(),
    asyncpg.exceptions.UniqueViolationError(),
    asyncpg.exceptions.ProtocolViolationError(),
    asyncpg.exceptions.QueryCanceledError(),
    asyncpg.exceptions.DataError("invalid input for query argument $1"),
    asyncpg.exceptions.InterfaceError("the number of query arguments cannot exceed 32767"),
]


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_outages_are_unavailable(exc: BaseException) -> None:
    assert is_unavailable(exc)


@pytest.mark.parametrize("exc", BUGS, ids=lambda e: type(e).__name__)
def test_bugs_are_not(exc: BaseException) -> None:
    assert not is_unavailable(exc)
