"""AMQP 0-9-1 for one publisher: a connection, one channel in confirm mode, one topic exchange.

A general client (aio-pika) spent about 160 µs of CPU per message on a task, a future and a dozen
event-loop handles per publish, and on generic property encoders. This publisher does what the
RabbitMQ sink needs and nothing more:

* pamqp marshals the handshake and the control methods and unmarshals everything received;
* a batch's frames (``amqp_frames``: packed by hand, the body cut at the negotiated
  ``frame_max``) go to the socket in one write;
* its confirms are settled as they arrive (one delivery tag, or with ``multiple`` every tag up to
  it, in any order) and the batch is awaited once.

Heartbeats: the broker's interval is accepted. The reader notes when anything last arrived; the
heartbeat task sends a heartbeat frame when nothing was written for half the interval, and drops
the connection when nothing arrived for two intervals. So an idle relay keeps its connection
through firewalls that cut silent ones, and finds a dead peer without waiting for a batch to time
out.

Anything that makes the connection unusable (the broker closing the channel or the connection, a
socket error, missed heartbeats, confirms that do not come in time) fails it for good with an
``AmqpError`` naming the reason (with the broker's reply text): the caller closes it and opens
another. URL query parameters (``?heartbeat=``...) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar
from urllib.parse import unquote, urlsplit

from pamqp import commands, frame, header, heartbeat
from pamqp.base import Frame
from pamqp.common import FieldTable
from pamqp.exceptions import PAMQPException

from kontor.errors import invariant
from kontor.events.sinks.amqp_frames import (
    FRAME_MAX_BYTES,
    Message,
    body_frames,
    content_header_frame,
    negotiated_frame_max,
    publish_frame,
    unmarshal_frames,
)

log = logging.getLogger("kontor.events")

CHANNEL = 1  # the one channel a publisher opens
CLOSE_TIMEOUT_S = 1.0  # how long a polite close waits for the broker's Connection.CloseOk
READ_CHUNK_BYTES = 65536
CLIENT_PROPERTIES: FieldTable = {
    "product": "kontor",
    # Without these capabilities RabbitMQ would neither say why it refuses a login nor tell a
    # publisher it is blocked.
    "capabilities": {
        "publisher_confirms": True,
        "basic.nack": True,
        "connection.blocked": True,
        "authentication_failure_close": True,
    },
}

F = TypeVar("F", bound=Frame)


class AmqpError(Exception):
    """The connection cannot be used any more: the broker closed it or its channel, the socket
    failed, or heartbeats or confirms did not come. ``acked``: how many leading messages of the
    batch in flight the broker had confirmed."""

    def __init__(self, reason: str, acked: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.acked = acked


# --- confirms --------------------------------------------------------------------------------

_PENDING, _ACKED, _NACKED = 0, 1, 2


class Confirms:
    """The broker's answers to one batch: delivery tags ``first`` to ``first + count - 1``.

    The batch is settled once its leading messages are all acked, or the first one that is not was
    nacked: what follows a nack does not count (the relay retries from the nacked message).
    """

    __slots__ = ("_first", "_states", "_unsettled", "acked")

    def __init__(self, first: int, count: int) -> None:
        self._first = first
        self._states = bytearray(count)
        self._unsettled = 0  # every message before this index is acked or nacked
        self.acked = 0  # the leading messages acked

    def settle(self, tag: int, multiple: bool, ok: bool) -> None:
        """A Basic.Ack (``ok``) or Basic.Nack of ``tag`` (with ``multiple``: of every tag up to it)."""
        state = _ACKED if ok else _NACKED
        states = self._states
        index = tag - self._first
        if multiple:
            for i in range(self._unsettled, min(index + 1, len(states))):
                if states[i] == _PENDING:
                    states[i] = state
        elif 0 <= index < len(states) and states[index] == _PENDING:
            states[index] = state
        while self._unsettled < len(states) and states[self._unsettled] != _PENDING:
            self._unsettled += 1
        while self.acked < len(states) and states[self.acked] == _ACKED:
            self.acked += 1

    @property
    def done(self) -> bool:
        return self.acked == len(self._states) or self._states[self.acked] == _NACKED

    @property
    def refused(self) -> bool:
        return self.acked < len(self._states) and self._states[self.acked] == _NACKED


class Confirmed(NamedTuple):
    """A settled batch: its first ``acked`` messages were confirmed; ``refused``: the next was nacked."""

    acked: int
    refused: bool


# --- the connection --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    user: str
    password: str
    vhost: str
    tls: bool


def endpoint_of(url: str) -> Endpoint:
    """``amqp://user:password@host:port/vhost`` (``amqps://`` for TLS); the vhost ``%2F`` is ``/``."""
    parts = urlsplit(url)
    if parts.scheme not in ("amqp", "amqps"):
        raise ValueError(f"not an AMQP URL (amqp:// or amqps://): {parts.scheme}://...")
    tls = parts.scheme == "amqps"
    return Endpoint(
        host=parts.hostname or "localhost",
        port=parts.port or (5671 if tls else 5672),
        user=unquote(parts.username or "guest"),
        password=unquote(parts.password or "guest"),
        vhost=unquote(parts.path.removeprefix("/")) or "/",
        tls=tls,
    )


class Publisher:
    """One connection with one channel in confirm mode, publishing to one durable topic exchange."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: str) -> None:
        self._reader = reader
        self._writer = writer
        self._exchange = exchange
        self._frame_max = FRAME_MAX_BYTES
        self._publish_frames: dict[str, bytes] = {}
        self._next_tag = 1  # delivery tags count from 1 on the channel
        self._confirms: Confirms | None = None
        self._handshaking = True
        self._replies: deque[frame.FrameTypes] = deque()  # answers to the handshake's methods
        self._waiter: asyncio.Future[None] | None = None
        self._failure: str | None = None
        self._blocked: str | None = None  # why RabbitMQ blocks publishers, while it does
        self._wrote = False
        self._received_at = asyncio.get_running_loop().time()
        self._reading = asyncio.get_running_loop().create_task(self._read(), name="kontor-amqp-reader")
        self._beating: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, exchange: str) -> Publisher:
        """Connect, log in, open the channel, select confirms and declare the exchange (the caller
        bounds the time it takes)."""
        endpoint = endpoint_of(url)
        tls = ssl.create_default_context() if endpoint.tls else None
        reader, writer = await asyncio.open_connection(endpoint.host, endpoint.port, ssl=tls)
        publisher = cls(reader, writer, exchange)
        try:
            await publisher._handshake(endpoint)
        except AmqpError:
            await publisher.close()
            raise
        except BaseException:
            publisher._abort()
            raise
        return publisher

    @property
    def usable(self) -> bool:
        return self._failure is None

    async def _handshake(self, endpoint: Endpoint) -> None:
        self._writer.write(header.ProtocolHeader().marshal())
        start = await self._call(None, commands.Connection.Start)
        if "PLAIN" not in str(start.mechanisms).split():
            raise AmqpError(f"RabbitMQ does not offer PLAIN authentication: {start.mechanisms}")
        login = commands.Connection.StartOk(
            client_properties=CLIENT_PROPERTIES, mechanism="PLAIN", response=f"\0{endpoint.user}\0{endpoint.password}"
        )
        tune = await self._call(login, commands.Connection.Tune)
        if 0 < tune.channel_max < CHANNEL:
            raise AmqpError(f"RabbitMQ allows no channel (channel_max {tune.channel_max})")
        self._frame_max = negotiated_frame_max(tune.frame_max)
        self._send(commands.Connection.TuneOk(channel_max=CHANNEL, frame_max=self._frame_max, heartbeat=tune.heartbeat))
        if tune.heartbeat:
            self._beating = asyncio.get_running_loop().create_task(self._beat(tune.heartbeat), name="kontor-amqp-beat")
        await self._call(commands.Connection.Open(virtual_host=endpoint.vhost), commands.Connection.OpenOk)
        await self._call(commands.Channel.Open(), commands.Channel.OpenOk, CHANNEL)
        await self._call(commands.Confirm.Select(), commands.Confirm.SelectOk, CHANNEL)
        declare = commands.Exchange.Declare(exchange=self._exchange, exchange_type="topic", durable=True)
        await self._call(declare, commands.Exchange.DeclareOk, CHANNEL)
        self._handshaking = False

    async def _call(self, method: Frame | None, answer: type[F], channel: int = 0) -> F:
        """Send ``method`` (if any) and wait for the broker's next answer, which must be ``answer``."""
        if method is not None:
            self._send(method, channel)
        while not self._replies:
            if self._failure is not None:
                raise AmqpError(self._failure)
            await self._wait()
        reply = self._replies.popleft()
        if not isinstance(reply, answer):
            raise AmqpError(f"RabbitMQ answered {reply.name} where {answer.name} was due")
        return reply

    async def publish(self, messages: Iterable[Message], timeout_s: float) -> Confirmed:
        """Publish ``messages`` in order with one write and wait up to ``timeout_s`` for their confirms."""
        invariant(self._confirms is None, "a publisher sends one batch at a time")
        if self._failure is not None:
            raise AmqpError(self._failure)
        parts: list[bytes] = []
        count = 0
        for message in messages:
            self._append_frames(message, parts)
            count += 1
        if count == 0:
            return Confirmed(0, False)
        confirms = Confirms(self._next_tag, count)
        self._next_tag += count
        self._confirms = confirms
        try:
            self._write(b"".join(parts))
            async with asyncio.timeout(timeout_s):
                await self._writer.drain()
                while not confirms.done and self._failure is None:
                    await self._wait()
        except TimeoutError:
            blocked = f" (it blocks publishers: {self._blocked})" if self._blocked is not None else ""
            self._fail(f"RabbitMQ confirmed {confirms.acked} of {count} messages in {timeout_s} s{blocked}")
        except OSError as exc:
            self._fail(f"socket error: {exc!r}")
        finally:
            self._confirms = None
        if confirms.done:
            return Confirmed(confirms.acked, confirms.refused)
        raise AmqpError(self._failure or "the connection failed", confirms.acked)

    def _append_frames(self, message: Message, out: list[bytes]) -> None:
        method = self._publish_frames.get(message.routing_key)
        if method is None:
            method = publish_frame(CHANNEL, self._exchange, message.routing_key)
            self._publish_frames[message.routing_key] = method
        out += (method, content_header_frame(CHANNEL, message))
        body_frames(CHANNEL, message.body, self._frame_max, out)

    async def close(self) -> None:
        """Close politely (Connection.Close, then the broker's CloseOk or ``CLOSE_TIMEOUT_S``); never raises."""
        self._fail("the connection was closed")
        try:
            if not self._reading.done() and not self._writer.is_closing():
                self._writer.write(frame.marshal(commands.Connection.Close(200, "Normal shutdown", 0, 0), 0))
                await asyncio.wait([self._reading], timeout=CLOSE_TIMEOUT_S)  # the reader ends at CloseOk
            self._writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT_S)
        except Exception as exc:
            log.warning("events: closing the AMQP connection: %r", exc)
        finally:
            self._abort()

    def _abort(self) -> None:
        """Drop the connection at once, its tasks with it."""
        self._fail("the connection was closed")
        for task in (self._reading, self._beating):
            if task is not None:
                task.cancel()
        self._writer.transport.abort()

    # --- plumbing ----------------------------------------------------------------------------

    def _send(self, method: Frame, channel: int = 0) -> None:
        self._write(frame.marshal(method, channel))

    def _write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)
            self._wrote = True

    async def _wait(self) -> None:
        """Until the reader has news: a reply, a settled batch, a failure."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, reason: str) -> None:
        """The connection is unusable from now on; the first reason stays."""
        if self._failure is None:
            self._failure = reason
        self._wake()

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        try:
            while chunk := await self._reader.read(READ_CHUNK_BYTES):
                self._received_at = loop.time()
                buffer += chunk
                for value in unmarshal_frames(buffer):
                    if not self._on_frame(value):
                        return
            self._fail("RabbitMQ closed the connection")
        except OSError as exc:
            self._fail(f"socket error: {exc!r}")
        except (ValueError, PAMQPException) as exc:
            self._fail(f"RabbitMQ sent what is not AMQP 0-9-1: {exc!r}")

    def _on_frame(self, value: frame.FrameTypes) -> bool:
        """Act on one frame from the broker; whether to read on."""
        if isinstance(value, commands.Basic.Ack | commands.Basic.Nack):
            confirms = self._confirms
            if confirms is not None:
                confirms.settle(value.delivery_tag, value.multiple, isinstance(value, commands.Basic.Ack))
                if confirms.done:
                    self._wake()
        elif isinstance(value, commands.Channel.Close):
            self._send(commands.Channel.CloseOk(), CHANNEL)
            self._fail(f"RabbitMQ closed the channel: {value.reply_code} {value.reply_text}")
        elif isinstance(value, commands.Connection.Close):
            self._send(commands.Connection.CloseOk())
            self._fail(f"RabbitMQ closed the connection: {value.reply_code} {value.reply_text}")
            return False
        elif isinstance(value, commands.Connection.CloseOk):
            return False
        elif isinstance(value, commands.Connection.Blocked):
            self._blocked = value.reason
            log.warning("events: RabbitMQ blocks publishers: %s", value.reason)
        elif isinstance(value, commands.Connection.Unblocked):
            self._blocked = None
            log.info("events: RabbitMQ takes messages again")
        elif self._handshaking:
            if not isinstance(value, heartbeat.Heartbeat):
                self._replies.append(value)
                self._wake()
        elif not isinstance(value, heartbeat.Heartbeat):
            log.debug("events: ignored from RabbitMQ: %s", value.name)
        return True

    async def _beat(self, interval_s: int) -> None:
        """Send a heartbeat when nothing was written for half the interval; give up after two silent ones."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval_s / 2)
            if not self._wrote:
                self._write(heartbeat.Heartbeat.marshal())
            self._wrote = False
            if loop.time() - self._received_at > 2 * interval_s:
                self._fail(f"RabbitMQ sent nothing for {2 * interval_s} s (heartbeats)")
                self._writer.transport.abort()
                return
