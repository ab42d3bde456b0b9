"""The RabbitMQ sink against the machine's real RabbitMQ: what a consumer receives, and how each
kind of failure surfaces as a DeliveryError (a nack refuses; a closed channel, a refused declare
or missing confirms fail the connection, and the next delivery reconnects)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
import pytest

from kontor.events import catalog
from kontor.events.relay import DeliveryError
from kontor.events.sinks.amqp_frames import FRAME_MAX_BYTES
from kontor.events.sinks.rabbitmq import RabbitMQSink
from kontor.store.events import JournalEvent
from tests.integration.events_support import RABBITMQ_URL, Proxy, unique_name
from tests.integration.server import free_port

RABBITMQ_PORT = 5672
TIMEOUT_S = 3.0


def events(count: int, first_seq: int = 1, payload_bytes: int = 100) -> list[JournalEvent]:
    organization_id, ledger_id = uuid.uuid4(), uuid.uuid4()
    payload = json.dumps({"note": "ação " + "x" * payload_bytes})
    now = datetime.now(UTC)
    return [
        JournalEvent(organization_id, ledger_id, seq, uuid.uuid4(), "balance.changed", f"s{seq}", now, payload)
        for seq in range(first_seq, first_seq + count)
    ]


class Consumer:
    """An exclusive queue bound to every routing key of an exchange (``arguments`` as given)."""

    def __init__(self, exchange: str, exchange_type: aio_pika.ExchangeType = aio_pika.ExchangeType.TOPIC) -> None:
        self.exchange = exchange
        self.exchange_type = exchange_type
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []
        self.connection: aio_pika.abc.AbstractConnection | None = None
        self.queue: aio_pika.abc.AbstractQueue | None = None

    async def open(self, **arguments: object) -> None:
        self.connection = await aio_pika.connect(RABBITMQ_URL)
        channel = await self.connection.channel()
        exchange = await channel.declare_exchange(self.exchange, self.exchange_type, durable=True)
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True, arguments=arguments or None)
        await self.queue.bind(exchange, routing_key="#")

    async def consume(self) -> None:
        assert self.queue is not None
        await self.queue.consume(self.messages.append, no_ack=True)  # type: ignore[arg-type]

    async def wait_for(self, count: int, timeout_s: float = 10.0) -> list[aio_pika.abc.AbstractIncomingMessage]:
        deadline = time.monotonic() + timeout_s
        while len({m.message_id for m in self.messages}) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} messages arrived"
            await asyncio.sleep(0.02)
        return self.messages

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


@pytest.fixture
async def exchange() -> AsyncIterator[str]:
    name = unique_name("kontor.sink")
    yield name
    connection = await aio_pika.connect(RABBITMQ_URL)
    try:
        channel = await connection.channel()
        await channel.exchange_delete(name)
    finally:
        await connection.close()


async def test_consumers_receive_each_event_as_aio_pika_published_it_a_body_past_frame_max_whole(exchange):
    consumer = Consumer(exchange)
    await consumer.open()
    await consumer.consume()
    sink = RabbitMQSink(RABBITMQ_URL, exchange, TIMEOUT_S)
    small, large = events(3, first_seq=1), events(2, first_seq=70_000, payload_bytes=3 * FRAME_MAX_BYTES)
    try:
        await sink.deliver(small, 1)
        await sink.deliver(large, 1)
        received = await consumer.wait_for(5)
    finally:
        await sink.close()
        await consumer.close()
    assert len(received) == 5
    for message, event in zip(received, small + large, strict=True):
        assert message.body == catalog.encode(event)
        assert message.routing_key == "balance.changed" and message.exchange == exchange
        assert message.content_type == catalog.CONTENT_TYPE and message.content_encoding is None
        assert message.message_id == str(event.id) and message.type == event.event_type
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT and message.priority == 0
        assert message.headers == {
            "organizationid": str(event.organization_id),
            "ledgerid": str(event.ledger_id),
            "seq": event.seq,
        }
    assert len(received[-1].body) > 3 * FRAME_MAX_BYTES


async def test_a_nack_refuses_from_the_first_nacked_event_and_the_connection_stays(exchange):
    consumer = Consumer(exchange)
    await consumer.open(**{"x-max-length": 2, "x-overflow": "reject-publish"})  # a third is nacked
    sink = RabbitMQSink(RABBITMQ_URL, exchange, TIMEOUT_S)
    batch = events(5)
    try:
        with pytest.raises(DeliveryError) as refused:
            await sink.deliver(batch, 1)
        assert (refused.value.delivered, refused.value.refused) == (2, True)
        assert "seq 3" in refused.value.reason
        publisher = sink._publisher
        assert publisher is not None and publisher.usable
        await consumer.consume()  # the queue empties
        await consumer.wait_for(2)
        await sink.deliver(batch[2:4], 1)
        assert sink._publisher is publisher  # the same connection
        received = await consumer.wait_for(4)
    finally:
        await sink.close()
        await consumer.close()
    assert [m.headers["seq"] for m in received] == [1, 2, 3, 4]


async def test_an_exchange_of_another_type_surfaces_the_brokers_reply_each_time(exchange):
    consumer = Consumer(exchange, aio_pika.ExchangeType.DIRECT)
    await consumer.open()
    await consumer.close()
    sink = RabbitMQSink(RABBITMQ_URL, exchange, TIMEOUT_S)
    try:
        for _ in range(2):
            with pytest.raises(DeliveryError) as failed:
                await sink.deliver(events(2), 1)
            assert (failed.value.delivered, failed.value.refused) == (0, False)
            assert "406 PRECONDITION_FAILED - inequivalent arg 'type'" in failed.value.reason
            assert sink._publisher is None
    finally:
        await sink.close()


async def test_a_channel_closed_mid_run_fails_the_batch_and_the_next_delivery_reconnects(exchange):
    consumer = Consumer(exchange)
    await consumer.open()
    await consumer.consume()
    sink = RabbitMQSink(RABBITMQ_URL, exchange, TIMEOUT_S)
    batch = events(6)
    try:
        await sink.deliver(batch[:2], 1)
        await consumer.wait_for(2)
        await consumer.close()
        connection = await aio_pika.connect(RABBITMQ_URL)
        await (await connection.channel()).exchange_delete(exchange)  # publishing to it closes the channel
        await connection.close()
        with pytest.raises(DeliveryError) as failed:
            await sink.deliver(batch[2:4], 1)
        assert (failed.value.delivered, failed.value.refused) == (0, False)
        assert "404 NOT_FOUND" in failed.value.reason and sink._publisher is None

        consumer = Consumer(exchange)
        await consumer.open()
        await consumer.consume()
        await sink.deliver(batch[2:], 1)  # a new connection declares the exchange again
        received = await consumer.wait_for(4)
    finally:
        await sink.close()
        await consumer.close()
    assert [m.headers["seq"] for m in received] == [3, 4, 5, 6]


async def test_confirms_that_do_not_come_fail_the_batch_and_the_next_delivery_reconnects(exchange):
    consumer = Consumer(exchange)
    await consumer.open()
    await consumer.consume()
    proxy = Proxy(free_port(), RABBITMQ_PORT)
    await proxy.start()
    sink = RabbitMQSink(f"amqp://guest:guest@127.0.0.1:{proxy.port}/", exchange, 1.0)
    batch = events(6)
    try:
        await sink.deliver(batch[:2], 1)
        proxy.hold()  # the broker hangs: nothing comes back
        started = time.monotonic()
        with pytest.raises(DeliveryError) as failed:
            await sink.deliver(batch[2:4], 1)
        assert time.monotonic() - started < 1.0 + 2.0  # the timeout, and a short polite close
        assert (failed.value.delivered, failed.value.refused) == (0, False)
        assert "confirmed 0 of 2" in failed.value.reason and sink._publisher is None
        proxy.release()
        await sink.deliver(batch[2:], 1)
        received = await consumer.wait_for(6)
    finally:
        await sink.close()
        await proxy.stop()
        await consumer.close()
    seqs = [m.headers["seq"] for m in received]
    assert sorted(set(seqs)) == [1, 2, 3, 4, 5, 6]  # at least once: 3 and 4 may come twice
