"""Phases f and g (issue 6): the events relay's cost, measured as phase b run again with it delivering.

kontor is restarted with its RabbitMQ sink on (``KONTOR_EVENTS_RABBITMQ_URL``), publishing every
event to a durable topic exchange, persistent, with publisher confirms. The sink's cursors start at
the journal's heads, so the relay begins caught up (the set-up and the earlier phases wrote some
100,000 events it would otherwise deliver first) and the phase measures the steady state: every
event of every transfer of the phase delivered while the phase runs. After the phase the harness
waits until the relay has delivered everything and reports how long that took, so a relay that fell
behind cannot pass for a cheap one.

The broker runs on the machine under test, so the two phases tell kontor's cost and the broker's
apart. In f no queue is bound: the broker confirms every message and drops it, using little CPU,
and what the phase loses against b is kontor's (and PostgreSQL's) work for the relay. In g one
durable queue takes every event, as a consumer's would: the broker then stores them, on the same
cores.

The broker is ``BENCH_RABBITMQ_URL``, else the local one (guest/guest on 127.0.0.1:5672) when it
answers; ``BENCH_RABBITMQ_URL=off`` skips both phases.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import urllib.parse
from dataclasses import dataclass

import aio_pika
import asyncpg

SINK = "rabbitmq"  # the relay's name for its RabbitMQ sink: its cursors are kept under it
EXCHANGE = "kontor.bench"
QUEUE = "kontor.bench.all"
LOCAL_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
DRAIN_TIMEOUT_S = 120.0


def broker_url() -> str | None:
    """The broker phases f and g publish to, or None when there is none (they are skipped)."""
    configured = os.environ.get("BENCH_RABBITMQ_URL", "").strip()
    if configured.lower() == "off":
        return None
    url = configured or LOCAL_BROKER
    parts = urllib.parse.urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), timeout=1):
            return url
    except OSError:
        return None


def kontor_env(url: str) -> dict[str, str]:
    """What kontor is started with in phases f and g."""
    return {"KONTOR_EVENTS_RABBITMQ_URL": url, "KONTOR_EVENTS_RABBITMQ_EXCHANGE": EXCHANGE}


async def prepare_broker(url: str, *, queue: bool) -> None:
    """The exchange, and with ``queue`` one durable queue bound to every event, empty."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        await channel.queue_delete(QUEUE)
        if queue:
            bound = await channel.declare_queue(QUEUE, durable=True)
            await bound.bind(exchange, "#")


async def queued(url: str) -> int:
    """How many messages the queue holds."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(QUEUE, durable=True, passive=True)
        return int(queue.declaration_result.message_count or 0)


async def drop_broker(url: str) -> None:
    with contextlib.suppress(Exception):
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(QUEUE)
            await channel.exchange_delete(EXCHANGE)


async def start_cursors_at_heads(database_url: str) -> None:
    """The RabbitMQ sink starts after every event the journal holds now."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            """INSERT INTO event_cursors (sink, organization_id, ledger_id, seq)
               SELECT $1, organization_id, ledger_id, seq FROM journal_heads
               ON CONFLICT (sink, organization_id, ledger_id) DO UPDATE SET seq = EXCLUDED.seq""",
            SINK,
        )
    finally:
        await conn.close()


async def undelivered(database_url: str) -> int:
    """Events in the journal the RabbitMQ sink has not delivered yet."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                """SELECT coalesce(sum(h.seq - coalesce(c.seq, 0)), 0) FROM journal_heads h
                     LEFT JOIN event_cursors c
                       ON c.sink = $1 AND c.organization_id = h.organization_id AND c.ledger_id = h.ledger_id""",
                SINK,
            )
        )
    finally:
        await conn.close()


@dataclass(frozen=True, slots=True)
class Drain:
    backlog_at_end: int  # events not yet delivered when the phase ended
    caught_up_after_s: float | None  # None: still behind after DRAIN_TIMEOUT_S


def wait_drained(database_url: str) -> Drain:
    """Wait until the relay has delivered every event; how far behind it was and for how long."""
    started = time.monotonic()
    backlog = asyncio.run(undelivered(database_url))
    left = backlog
    while left > 0 and time.monotonic() - started < DRAIN_TIMEOUT_S:
        time.sleep(0.1)
        left = asyncio.run(undelivered(database_url))
    return Drain(backlog, None if left > 0 else time.monotonic() - started)
