"""Integration tests that judge the whole database (``kontor verify``, load and crash tests) get a
fresh database of their own, so that what other tests do to the session database cannot decide
their outcome."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from kontor.store import migrate
from tests.conftest import _drop, _with_database


@pytest.fixture
def own_database_url(database_url: str) -> Iterator[str]:
    name = f"kontor_own_{uuid.uuid4().hex[:12]}"
    admin = _with_database(database_url, "postgres")
    asyncio.run(migrate.ensure_database(admin, name))
    url = _with_database(database_url, name)
    asyncio.run(migrate.apply(url))
    yield url
    asyncio.run(_drop(admin, name))


@pytest.fixture
async def own_client(own_database_url: str):  # type: ignore[no-untyped-def]
    """An in-process HTTP client on kontor over ``own_database_url``."""
    from litestar.testing import AsyncTestClient

    from kontor.api.app import create_app
    from kontor.config import Settings

    async with AsyncTestClient(
        app=create_app(Settings(database_url=own_database_url)), base_url="http://kontor.test"
    ) as client:
        yield client
