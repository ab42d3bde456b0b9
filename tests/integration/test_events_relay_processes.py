"""``kontor relay`` in two processes: one relays each sink (the other waits on its advisory lock),
and when that one is killed the other takes over without losing an event."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.store.events import RELAY_LOCK_NAMESPACE, lock_key
from tests.integration.events_support import (
    RABBITMQ_URL,
    assert_in_chain_order,
    fast_settings,
    funded_ledger,
    journal,
    transfer,
    unique_name,
)
from tests.integration.test_events_brokers import Queue

KONTOR = Path(sys.executable).parent / "kontor"


def start_relay(database_url: str, exchange: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KONTOR_EVENTS_RABBITMQ_URL": RABBITMQ_URL,
        "KONTOR_EVENTS_RABBITMQ_EXCHANGE": exchange,
        "KONTOR_EVENTS_WEBHOOKS": "false",
        "KONTOR_EVENTS_POLL_S": "0.2",
        "KONTOR_EVENTS_RETRY_BASE_S": "0.05",
        "KONTOR_LOG_LEVEL": "warning",
    }
    return subprocess.Popen(
        [str(KONTOR), "relay"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


async def lock_holder(database_url: str, timeout_s: float = 15) -> int:
    """The pid of the ``kontor relay`` process holding the RabbitMQ sink's advisory lock."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            name = await conn.fetchval(
                """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                    WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid""",
                RELAY_LOCK_NAMESPACE,
                lock_key("rabbitmq") & 0xFFFFFFFF,
            )
            if name:
                return int(name.rsplit("/", 1)[1])
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    raise TimeoutError("no relay took the lock")


async def test_one_relay_per_sink_and_a_takeover_when_it_dies(own_database_url):
    exchange = unique_name("kontor.relays")
    queue = Queue(exchange)
    await queue.open()
    relays = [start_relay(own_database_url, exchange) for _ in range(2)]
    try:
        settings = fast_settings(own_database_url, events_relay=False)
        async with AsyncTestClient(app=create_app(settings), base_url="http://kontor.test") as client:
            _, _, base = await funded_ledger(client)
            for i in range(10):
                await client.post(f"{base}/transactions/json", json=transfer(1, description=f"before {i}"))
            received = await queue.wait_for(len(await journal(own_database_url)))
            assert len(received) == len({e["id"] for e in received}), "two relays delivered the same events"

            holder = await lock_holder(own_database_url)
            victim = next(p for p in relays if p.pid == holder)
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait()
            for i in range(10):
                await client.post(f"{base}/transactions/json", json=transfer(1, description=f"after {i}"))
            rows = await journal(own_database_url)
            received = await queue.wait_for(len(rows), timeout_s=30)
            assert await lock_holder(own_database_url) != holder
    finally:
        for process in relays:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
                process.wait(timeout=20)
        await queue.close()
    assert {e["id"] for e in received} == {str(r["id"]) for r in rows}
    assert_in_chain_order(received)
