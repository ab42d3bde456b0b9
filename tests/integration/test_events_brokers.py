"""The relay against the machine's real RabbitMQ and NATS JetStream: every journal event arrives,
in chain order, as a CloudEvents envelope that validates against its published schema."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import asyncpg
import nats
import pytest
from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from tests.helpers import create
from tests.integration.events_support import (
    NATS_URL,
    RABBITMQ_URL,
    assert_in_chain_order,
    assert_valid,
    fast_settings,
    funded_ledger,
    journal,
    transfer,
    unique_name,
)

DELIVERY_TIMEOUT_S = 20


class Queue:
    """An exclusive queue bound to every routing key of an exchange; collects the envelopes."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.received: list[dict[str, Any]] = []
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None

    async def open(self) -> None:
        self._connection = await aio_pika.connect_robust(RABBITMQ_URL)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(self.exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.messages.append(message)
        self.received.append(json.loads(message.body))

    async def wait_for(self, count: int, timeout_s: float = DELIVERY_TIMEOUT_S) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len({e["id"] for e in self.received}) < count:
            assert time.monotonic() < deadline, f"{len(self.received)} of {count} events arrived"
            await asyncio.sleep(0.05)
        return self.received

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


async def jetstream_events(stream: str, subject: str, count: int) -> list[dict[str, Any]]:
    """Read ``count`` messages of ``stream`` from the start with a pull consumer."""
    client = await nats.connect(NATS_URL)
    try:
        js = client.jetstream()
        deadline = time.monotonic() + DELIVERY_TIMEOUT_S
        while True:
            info = await js.stream_info(stream) if await _has_stream(js, stream) else None
            if info is not None and info.state.messages >= count:
                break
            assert time.monotonic() < deadline, f"JetStream holds {info.state.messages if info else 0} of {count}"
            await asyncio.sleep(0.1)
        consumer = await js.pull_subscribe(f"{subject}.>", stream=stream)
        received: list[dict[str, Any]] = []
        while len(received) < count:
            for message in await consumer.fetch(min(500, count - len(received)), timeout=5):
                received.append(json.loads(message.data))
                assert message.headers and message.headers["Nats-Msg-Id"] == received[-1]["id"]
                await message.ack()
        await js.delete_stream(stream)
        return received
    finally:
        await client.close()


async def _has_stream(js: Any, stream: str) -> bool:
    try:
        await js.stream_info(stream)
        return True
    except nats.js.errors.NotFoundError:
        return False


@contextlib.asynccontextmanager
async def relaying(database_url: str, **extra: Any) -> AsyncIterator[tuple[AsyncTestClient, Queue, str, str]]:
    """kontor relaying to a fresh exchange (read by ``Queue``) and a fresh JetStream stream."""
    exchange, stream, subject = unique_name("kontor.test"), unique_name("KONTOR_TEST"), unique_name("kontortest")
    queue = Queue(exchange)
    await queue.open()
    settings = fast_settings(
        database_url,
        events_rabbitmq_url=RABBITMQ_URL,
        events_rabbitmq_exchange=exchange,
        events_nats_url=NATS_URL,
        events_nats_stream=stream,
        events_nats_subject=subject,
        **extra,
    )
    try:
        async with AsyncTestClient(app=create_app(settings), base_url="http://kontor.test") as client:
            yield client, queue, stream, subject
    finally:
        await queue.close()
        await _drop_stream(stream)


async def _drop_stream(stream: str) -> None:
    client = await nats.connect(NATS_URL)
    try:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await client.jetstream().delete_stream(stream)
    finally:
        await client.close()


@pytest.fixture
async def brokers(own_database_url: str) -> AsyncIterator[tuple[AsyncTestClient, Queue, str, str]]:
    async with relaying(own_database_url) as brokers:
        yield brokers


async def test_rabbitmq_and_jetstream_receive_every_event_in_journal_order(brokers, own_database_url):
    client, queue, stream, subject = brokers
    _, _, base = await funded_ledger(client)
    posted = await create(client, f"{base}/transactions/json", transfer(30))
    pending = await create(client, f"{base}/transactions/json", transfer(10, pending=True))
    await create(client, f"{base}/transactions/{pending['id']}/commit", {})
    await create(client, f"{base}/transactions/{posted['id']}/revert", {})

    rows = await journal(own_database_url)
    amqp = await queue.wait_for(len(rows))
    assert {e["id"] for e in amqp} == {str(r["id"]) for r in rows}
    chains = assert_in_chain_order(amqp)
    expected: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        expected.setdefault((str(r["organization_id"]), str(r["ledger_id"])), []).append(r["seq"])
    assert chains == expected
    assert assert_valid(amqp) == len(rows)
    by_id = {str(r["id"]): r for r in rows}
    for envelope, message in zip(amqp, queue.messages, strict=True):
        row = by_id[envelope["id"]]
        assert envelope["type"] == row["event_type"] == message.routing_key and envelope["subject"] == row["subject"]
        assert message.message_id == envelope["id"] and message.content_type == "application/cloudevents+json"
    types = [e["type"] for e in amqp if e["ledgerid"] == base.rsplit("/", 1)[1]]
    # A pending creation publishes nothing (as Midaz); its commit does.
    assert types.count("transaction.posted") == 2 and types.count("transaction.reverted") == 1
    assert types.count("transaction.committed") == 1 and "balance.changed" in types

    js = await jetstream_events(stream, subject, len(rows))
    assert [e["id"] for e in js if e["ledgerid"] == base.rsplit("/", 1)[1]] == [
        str(r["id"]) for r in rows if str(r["ledger_id"]) == base.rsplit("/", 1)[1]
    ]
    assert_in_chain_order(js)
    assert assert_valid(js) == len(rows)


async def _caught_up(database_url: str, sinks: tuple[str, ...]) -> None:
    """Until every sink's cursor stands at every chain's head: it has passed over every event."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_S
    conn = await asyncpg.connect(database_url)
    try:
        while True:
            behind = await conn.fetchval(
                """SELECT count(*) FROM journal_heads h CROSS JOIN unnest($1::text[]) AS s(sink)
                     LEFT JOIN event_cursors c
                       ON c.sink = s.sink AND c.organization_id = h.organization_id AND c.ledger_id = h.ledger_id
                    WHERE coalesce(c.seq, 0) < h.seq""",
                list(sinks),
            )
            if behind == 0:
                return
            assert time.monotonic() < deadline, f"{behind} chains not yet relayed"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def test_each_broker_publishes_only_the_event_types_it_is_limited_to(own_database_url):
    limits = {
        "events_rabbitmq_types": "transaction.posted, transaction.reverted",
        "events_nats_types": "balance.changed",
    }
    async with relaying(own_database_url, **limits) as (client, queue, stream, subject):
        _, _, base = await funded_ledger(client)
        posted = await create(client, f"{base}/transactions/json", transfer(30))
        await create(client, f"{base}/transactions/{posted['id']}/revert", {})
        await _caught_up(own_database_url, ("rabbitmq", "nats"))
        rows = await journal(own_database_url)
        transactions = [r for r in rows if r["event_type"] in ("transaction.posted", "transaction.reverted")]
        balances = [r for r in rows if r["event_type"] == "balance.changed"]
        assert len(transactions) == 3 and len(balances) >= 6  # the funding, the transfer, its reversal
        amqp = await queue.wait_for(len(transactions))
        assert sorted(e["id"] for e in amqp) == sorted(str(r["id"]) for r in transactions)
        js = await jetstream_events(stream, subject, len(balances))
        assert sorted(e["id"] for e in js) == sorted(str(r["id"]) for r in balances)


async def test_a_commit_after_a_quiet_spell_is_delivered_at_once_whatever_the_linger(own_database_url):
    """Passes are spaced by ``events_linger_s`` under load only: a lone commit is not held back."""
    # The poll must not be what delivers it.
    async with relaying(own_database_url, events_linger_s=2.0, events_poll_s=5.0) as (client, queue, _, _):
        _, _, base = await funded_ledger(client)
        await _caught_up(own_database_url, ("rabbitmq", "nats"))
        await asyncio.sleep(2.5)  # longer than the linger since the relay's last pass
        seen = len(queue.received)
        posted = await create(client, f"{base}/transactions/json", transfer(5))
        answered = time.monotonic()
        while not any(
            e["type"] == "transaction.posted" and e["subject"] == posted["id"] for e in queue.received[seen:]
        ):
            assert time.monotonic() - answered < 1.0, "the event was held back by the linger"
            await asyncio.sleep(0.01)
