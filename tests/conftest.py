"""Shared fixtures: one PostgreSQL database per test session, migrated, and an HTTP client on kontor.

With ``DATABASE_URL`` set, the session creates a fresh database on that server (for example the
machine's PostgreSQL 15) and drops it afterwards; otherwise it starts an embedded PostgreSQL in a
temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.config import Settings
from kontor.store import embedded, migrate


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[embedded.EmbeddedServer | None]:
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = embedded.prepare(Path(tmp_path_factory.mktemp("pg")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def database_url(pg_server: embedded.EmbeddedServer | None) -> Iterator[str]:
    name = f"kontor_test_{uuid.uuid4().hex[:12]}"
    admin = os.environ.get("DATABASE_URL") or (pg_server.admin_url() if pg_server else "")
    asyncio.run(migrate.ensure_database(admin, name))
    url = _with_database(admin, name)
    asyncio.run(migrate.apply(url))
    yield url
    asyncio.run(_drop(admin, name))


async def _drop(admin: str, name: str) -> None:
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # No relay on the shared database: webhook subscriptions created there (the fuzzer makes them
    # with generated URLs) must never be delivered. Event tests run their own relays.
    return Settings(database_url=database_url, events_relay=False)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://kontor.test") as test_client:
        yield test_client
