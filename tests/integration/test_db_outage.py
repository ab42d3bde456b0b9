"""A database outage: kontor keeps answering, 503 problem+json, quickly, and heals by itself.

The test owns its PostgreSQL server (it stops and restarts it), so it cannot run against a shared
one named by ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.config import Settings
from kontor.errors import KontorError, codes
from kontor.store import embedded, migrate
from kontor.store.db import Database
from tests.helpers import assert_problem, create, ledger, organization

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="stops and restarts its own PostgreSQL server"
)

# An answer during the outage, or the first ones after it, must come at least this fast: a pool
# that waits out its connect timeout (5 s) per request would already be too slow for a client.
ANSWER_WAIT_S = 3.0
DATABASE = "kontor_outage"
POOL_MAX = 5


@pytest.fixture
def server(tmp_path: Path) -> Iterator[embedded.EmbeddedServer]:
    pg = embedded.prepare(tmp_path)
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


async def migrated_database(server: embedded.EmbeddedServer) -> str:
    await migrate.ensure_database(server.admin_url(), DATABASE)
    url = server.admin_url(DATABASE)
    await migrate.apply(url)
    return url


@pytest.fixture
async def client(server: embedded.EmbeddedServer) -> AsyncIterator[AsyncTestClient]:
    url = await migrated_database(server)
    async with AsyncTestClient(
        app=create_app(Settings(database_url=url)), base_url="http://kontor.test"
    ) as test_client:
        yield test_client


async def timed(label: str, request: Awaitable[httpx.Response], times: dict[str, float]) -> httpx.Response:
    """The response, which must arrive within ``ANSWER_WAIT_S``; its latency is kept in ``times``."""
    started = time.perf_counter()
    response = await asyncio.wait_for(request, ANSWER_WAIT_S)
    times[label] = round(time.perf_counter() - started, 3)
    return response


def inflow(alias: str, value: str) -> dict[str, Any]:
    to = [{"accountAlias": alias, "amount": {"asset": "BRL", "value": value}}]
    return {"send": {"asset": "BRL", "value": value, "distribute": {"to": to}}}


async def test_outage_answers_503_and_recovers_without_restart(
    server: embedded.EmbeddedServer, client: AsyncTestClient
) -> None:
    times: dict[str, float] = {}
    ready = await timed("readyz before", client.get("/readyz"), times)
    assert ready.status_code == 200 and ready.json()["status"] == "healthy", ready.text
    org = await organization(client)
    base = f"/v1/organizations/{org['id']}/ledgers/{(await ledger(client, org['id']))['id']}"
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": "@alice"})

    await asyncio.to_thread(server.stop)
    down = await timed("readyz down", client.get("/readyz"), times)
    assert down.status_code == 503, down.text
    assert down.headers["content-type"].startswith("application/json")
    assert down.json()["status"] == "unhealthy" and down.json()["checks"]["database"]["status"] == "down"
    requests = {
        "GET organizations down": lambda: client.get("/v1/organizations"),
        "POST organization down": lambda: client.post(
            "/v1/organizations", json={"legalName": "O", "legalDocument": "1"}
        ),
        "POST inflow down": lambda: client.post(f"{base}/transactions/inflow", json=inflow("@alice", "5")),
    }
    for label, request in requests.items():
        assert_problem(await timed(label, request(), times), 503, "KTR-0001")

    await asyncio.to_thread(server.start)
    back = await timed("readyz back", client.get("/readyz"), times)
    assert back.status_code == 200 and back.json()["status"] == "healthy", back.text
    assert (await timed("GET organizations back", client.get("/v1/organizations"), times)).status_code == 200
    posted = await timed(
        "POST inflow back", client.post(f"{base}/transactions/inflow", json=inflow("@alice", "5")), times
    )
    assert posted.status_code == 201, posted.text
    print("outage answer times (s):", times)


async def test_starts_while_the_database_is_down(server: embedded.EmbeddedServer) -> None:
    url = await migrated_database(server)
    await asyncio.to_thread(server.stop)
    times: dict[str, float] = {}
    async with AsyncTestClient(app=create_app(Settings(database_url=url)), base_url="http://kontor.test") as client:
        down = await timed("readyz down", client.get("/readyz"), times)
        assert down.status_code == 503 and down.json()["status"] == "unhealthy", down.text
        assert_problem(await timed("GET organizations down", client.get("/v1/organizations"), times), 503, "KTR-0001")
        await asyncio.to_thread(server.start)
        assert (await timed("readyz back", client.get("/readyz"), times)).status_code == 200
        assert (await timed("GET organizations back", client.get("/v1/organizations"), times)).status_code == 200
    print("start-while-down answer times (s):", times)


async def test_concurrent_first_use_opens_one_pool(server: embedded.EmbeddedServer) -> None:
    """Requests racing to open the pool after an outage share one pool: none leaks its connections."""
    db = Database(await migrated_database(server), max_size=POOL_MAX)

    async def query() -> int:
        async with db.connection() as conn:
            value: int = await conn.fetchval("SELECT 1 FROM pg_sleep(0.05)")
            return value

    await asyncio.to_thread(server.stop)
    failures = await asyncio.gather(*[query() for _ in range(POOL_MAX * 2)], return_exceptions=True)
    assert all(isinstance(f, KontorError) and f.code == codes.DATABASE_UNAVAILABLE for f in failures), failures
    await asyncio.to_thread(server.start)
    try:
        assert await asyncio.wait_for(asyncio.gather(*[query() for _ in range(POOL_MAX * 2)]), ANSWER_WAIT_S) == [1] * (
            POOL_MAX * 2
        )
        conn = await asyncpg.connect(server.admin_url())
        try:
            sessions = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", DATABASE)
        finally:
            await conn.close()
        assert sessions <= POOL_MAX, f"{sessions} sessions for a pool of {POOL_MAX}: a pool leaked"
    finally:
        await db.close()
