"""The AMQP publisher: its URL, its confirm bookkeeping, and its conversation with a fake broker
on a loopback socket (what RabbitMQ cannot be made to do on demand: a small frame_max, confirms
out of order, a closed channel mid-batch, silence)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from pamqp import body, commands, frame, header, heartbeat
from pamqp.base import Frame

from kontor.events.sinks import amqp
from kontor.events.sinks.amqp_frames import Message, unmarshal_frames

# --- the URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest:guest@127.0.0.1:5672/", amqp.Endpoint("127.0.0.1", 5672, "guest", "guest", "/", False)),
        ("amqp://u:p@h", amqp.Endpoint("h", 5672, "u", "p", "/", False)),
        ("amqp://u:p@h/%2F", amqp.Endpoint("h", 5672, "u", "p", "/", False)),
        ("amqp://u:p@h:5673/prod", amqp.Endpoint("h", 5673, "u", "p", "prod", False)),
        ("amqp://u%40x:p%3Aw@h/%2Fprod", amqp.Endpoint("h", 5672, "u@x", "p:w", "/prod", False)),
        ("amqps://u:p@h/v", amqp.Endpoint("h", 5671, "u", "p", "v", True)),
        ("amqp://[::1]:5670/", amqp.Endpoint("::1", 5670, "guest", "guest", "/", False)),
    ],
)
def test_the_url_names_the_endpoint(url, expected):
    assert amqp.endpoint_of(url) == expected


def test_a_url_of_another_scheme_is_refused_without_its_password():
    with pytest.raises(ValueError) as refused:
        amqp.endpoint_of("http://u:secret@h/")
    assert "secret" not in str(refused.value)


# --- confirms ----------------------------------------------------------------------------------


def test_a_batch_is_settled_when_every_tag_is_acked_in_any_order():
    confirms = amqp.Confirms(first=11, count=4)
    confirms.settle(13, multiple=False, ok=True)
    assert (confirms.acked, confirms.done) == (0, False)
    confirms.settle(12, multiple=True, ok=True)  # 11 and 12
    assert (confirms.acked, confirms.done) == (3, False)
    confirms.settle(14, multiple=False, ok=True)
    assert (confirms.acked, confirms.done, confirms.refused) == (4, True, False)


def test_a_nack_settles_the_batch_once_what_precedes_it_is_acked():
    confirms = amqp.Confirms(first=1, count=5)
    confirms.settle(3, multiple=False, ok=False)
    assert not confirms.done  # 1 and 2 may still be nacked too
    confirms.settle(2, multiple=True, ok=True)
    assert (confirms.acked, confirms.done, confirms.refused) == (2, True, True)


def test_a_multiple_nack_refuses_from_the_first_unacked():
    confirms = amqp.Confirms(first=1, count=5)
    confirms.settle(1, multiple=False, ok=True)
    confirms.settle(4, multiple=True, ok=False)
    assert (confirms.acked, confirms.refused) == (1, True)


def test_confirms_of_other_batches_are_ignored():
    confirms = amqp.Confirms(first=6, count=2)
    confirms.settle(5, multiple=True, ok=False)
    confirms.settle(4, multiple=False, ok=False)
    confirms.settle(9, multiple=False, ok=False)
    assert (confirms.acked, confirms.done) == (0, False)
    confirms.settle(9, multiple=True, ok=True)  # a multiple past the batch covers all of it
    assert (confirms.acked, confirms.done) == (2, True)


# --- a fake broker -----------------------------------------------------------------------------


class FakeBroker:
    """Just enough of an AMQP 0-9-1 server for one publisher. It acks each message as it arrives
    unless ``auto_ack`` is off; ``send`` answers anything a test wants."""

    def __init__(self, *, frame_max: int = 4096, heartbeat_s: int = 0) -> None:
        self.frame_max = frame_max
        self.heartbeat_s = heartbeat_s
        self.auto_ack = True
        self.refuse_declare = False
        self.refuse_login = False
        self.answer_close = True
        self.received: list[Frame | heartbeat.Heartbeat | body.ContentBody | header.ContentHeader] = []
        self.messages: list[tuple[commands.Basic.Publish, header.ContentHeader, bytes]] = []
        self.heartbeats = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._partial: list = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"amqp://guest:guest@127.0.0.1:{port}/%2F"

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.transport.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def send(self, *methods: Frame) -> None:
        assert self._writer is not None
        for method in methods:
            channel = 0 if method.name.startswith("Connection.") else amqp.CHANNEL
            self._writer.write(frame.marshal(method, channel))

    def of(self, kind: type) -> list:
        return [f for f in self.received if isinstance(f, kind)]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        assert await reader.readexactly(8) == header.ProtocolHeader().marshal()
        self.send(commands.Connection.Start(mechanisms="AMQPLAIN PLAIN"))
        buffer = bytearray()
        while data := await reader.read(65536):
            buffer += data
            for value in unmarshal_frames(buffer):
                self.received.append(value)
                self._on(value)

    def _on(self, value: object) -> None:
        answers: dict[type, Frame | None] = {
            commands.Connection.TuneOk: None,
            commands.Connection.Open: commands.Connection.OpenOk(),
            commands.Channel.Open: commands.Channel.OpenOk(),
            commands.Confirm.Select: commands.Confirm.SelectOk(),
        }
        if isinstance(value, commands.Connection.StartOk):
            if self.refuse_login:
                self.send(commands.Connection.Close(403, "ACCESS_REFUSED - Login was refused", 0, 0))
            else:
                self.send(commands.Connection.Tune(2047, self.frame_max, self.heartbeat_s))
        elif type(value) in answers:
            answer = answers[type(value)]
            if answer is not None:
                self.send(answer)
        elif isinstance(value, commands.Exchange.Declare):
            if self.refuse_declare:
                self.send(commands.Channel.Close(406, "PRECONDITION_FAILED - inequivalent arg 'type'", 40, 10))
            else:
                self.send(commands.Exchange.DeclareOk())
        elif isinstance(value, commands.Connection.Close):
            if self.answer_close:
                self.send(commands.Connection.CloseOk())
        elif isinstance(value, heartbeat.Heartbeat):
            self.heartbeats += 1
        elif isinstance(value, commands.Basic.Publish | header.ContentHeader | body.ContentBody):
            self._content(value)

    def _content(self, value: commands.Basic.Publish | header.ContentHeader | body.ContentBody) -> None:
        self._partial.append(value)
        if len(self._partial) < 2:
            return
        method, content, *bodies = self._partial
        data = b"".join(b.value for b in bodies)
        if len(data) == content.body_size:
            self.messages.append((method, content, data))
            self._partial = []
            if self.auto_ack:
                self.send(commands.Basic.Ack(delivery_tag=len(self.messages)))


@pytest.fixture
async def broker() -> AsyncIterator[FakeBroker]:
    fake = FakeBroker()
    await fake.start()
    yield fake
    await fake.stop()


def messages(count: int, size: int = 10) -> list[Message]:
    return [
        Message("balance.changed", bytes([65 + i % 26]) * size, "application/json", f"id-{i}", "balance.changed", {})
        for i in range(count)
    ]


async def until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


# --- the conversation --------------------------------------------------------------------------


async def test_the_handshake_takes_the_brokers_terms_and_declares_a_durable_topic_exchange(broker):
    publisher = await amqp.Publisher.open(broker.url, "kontor.events")
    try:
        (login,) = broker.of(commands.Connection.StartOk)
        assert (login.mechanism, login.response) == ("PLAIN", "\0guest\0guest")
        (tune,) = broker.of(commands.Connection.TuneOk)
        assert (tune.channel_max, tune.frame_max, tune.heartbeat) == (1, 4096, 0)
        assert broker.of(commands.Connection.Open)[0].virtual_host == "/"
        (declare,) = broker.of(commands.Exchange.Declare)
        assert (declare.exchange, declare.exchange_type, declare.durable) == ("kontor.events", "topic", True)
        assert await publisher.publish(messages(3), 1.0) == amqp.Confirmed(3, False)
    finally:
        await publisher.close()
    assert broker.of(commands.Connection.Close)


async def test_a_body_longer_than_the_negotiated_frame_max_arrives_whole(broker):
    publisher = await amqp.Publisher.open(broker.url, "x")
    sent = messages(3, size=10_000)
    assert await publisher.publish(sent, 1.0) == amqp.Confirmed(3, False)
    await publisher.close()
    assert [data for _, _, data in broker.messages] == [m.body for m in sent]
    assert all(len(b.value) <= 4096 - 8 for b in broker.of(body.ContentBody))
    assert len(broker.of(body.ContentBody)) == 9


async def test_confirms_out_of_order_and_multiple_settle_the_batch_once_all_came(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    batch = asyncio.ensure_future(publisher.publish(messages(5), 2.0))
    await until(lambda: len(broker.messages) == 5)
    broker.send(commands.Basic.Ack(3), commands.Basic.Ack(2, multiple=True), commands.Basic.Ack(5))
    await asyncio.sleep(0.05)
    assert not batch.done()
    broker.send(commands.Basic.Ack(4))
    assert await batch == amqp.Confirmed(5, False)
    await publisher.close()


async def test_a_nack_refuses_the_batch_from_it_and_the_connection_goes_on(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    batch = asyncio.ensure_future(publisher.publish(messages(5), 2.0))
    await until(lambda: len(broker.messages) == 5)
    broker.send(commands.Basic.Ack(2, multiple=True), commands.Basic.Nack(3))
    assert await batch == amqp.Confirmed(2, True)
    broker.send(commands.Basic.Ack(4), commands.Basic.Nack(5))  # late answers to the old batch
    broker.auto_ack = True
    assert await publisher.publish(messages(2), 2.0) == amqp.Confirmed(2, False)  # tags 6 and 7
    assert publisher.usable
    await publisher.close()


async def test_a_channel_closed_mid_batch_fails_the_connection_with_the_brokers_words(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    batch = asyncio.ensure_future(publisher.publish(messages(3), 2.0))
    await until(lambda: len(broker.messages) == 3)
    broker.send(commands.Basic.Ack(1), commands.Channel.Close(404, "NOT_FOUND - no exchange 'x'", 60, 40))
    with pytest.raises(amqp.AmqpError) as failed:
        await batch
    assert failed.value.acked == 1 and "404 NOT_FOUND - no exchange 'x'" in failed.value.reason
    assert not publisher.usable
    await until(lambda: bool(broker.of(commands.Channel.CloseOk)))
    with pytest.raises(amqp.AmqpError):
        await publisher.publish(messages(1), 1.0)
    await publisher.close()
    assert broker.of(commands.Connection.Close)


async def test_a_refused_declare_fails_the_open_politely(broker):
    broker.refuse_declare = True
    with pytest.raises(amqp.AmqpError, match="406 PRECONDITION_FAILED - inequivalent arg 'type'"):
        await amqp.Publisher.open(broker.url, "x")
    assert broker.of(commands.Channel.CloseOk) and broker.of(commands.Connection.Close)


async def test_a_refused_login_says_why(broker):
    broker.refuse_login = True
    with pytest.raises(amqp.AmqpError, match="403 ACCESS_REFUSED"):
        await amqp.Publisher.open(broker.url, "x")
    assert broker.of(commands.Connection.CloseOk)


async def test_a_connection_closed_by_the_broker_fails_the_batch(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    batch = asyncio.ensure_future(publisher.publish(messages(2), 2.0))
    await until(lambda: len(broker.messages) == 2)
    broker.send(commands.Connection.Close(320, "CONNECTION_FORCED - shutdown", 0, 0))
    with pytest.raises(amqp.AmqpError, match="320 CONNECTION_FORCED"):
        await batch
    await until(lambda: bool(broker.of(commands.Connection.CloseOk)))
    await publisher.close()


async def test_confirms_that_do_not_come_in_time_fail_the_connection(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    with pytest.raises(amqp.AmqpError, match="confirmed 0 of 2") as failed:
        await publisher.publish(messages(2), 0.2)
    assert failed.value.acked == 0 and not publisher.usable
    await publisher.close()


async def test_a_blocked_publisher_waits_and_the_timeout_says_why(broker):
    broker.auto_ack = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    broker.send(commands.Connection.Blocked("low on memory"))
    with pytest.raises(amqp.AmqpError, match=r"confirmed 0 of 1 .*blocks publishers: low on memory"):
        await publisher.publish(messages(1), 0.2)
    await publisher.close()


async def test_close_gives_up_on_a_broker_that_does_not_answer(broker):
    broker.answer_close = False
    publisher = await amqp.Publisher.open(broker.url, "x")
    started = time.monotonic()
    await publisher.close()
    assert time.monotonic() - started < amqp.CLOSE_TIMEOUT_S + 0.5
    await publisher.close()  # twice is harmless


async def test_heartbeats_are_sent_when_idle_and_a_silent_broker_is_dropped():
    broker = FakeBroker(heartbeat_s=1)  # the fake never sends a heartbeat
    await broker.start()
    try:
        publisher = await amqp.Publisher.open(broker.url, "x")
        assert broker.of(commands.Connection.TuneOk)[0].heartbeat == 1
        await until(lambda: broker.heartbeats >= 1, timeout_s=1.5)
        assert publisher.usable
        await until(lambda: not publisher.usable, timeout_s=3.0)
        with pytest.raises(amqp.AmqpError, match="heartbeats"):
            await publisher.publish(messages(1), 1.0)
        await publisher.close()
    finally:
        await broker.stop()
