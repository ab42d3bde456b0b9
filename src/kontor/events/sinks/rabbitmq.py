"""RabbitMQ: each event is published to a durable topic exchange, with publisher confirms.

Routing key: the event type (``transaction.posted``), so a queue binds to what it wants
(``transaction.*``, ``balance.changed``, ``#``). Body: the CloudEvents JSON envelope; the AMQP
``message_id`` is the event id (consumers de-duplicate by it), ``type`` the event type, and the
headers carry the chain (``organizationid``, ``ledgerid``, ``seq``). Messages are persistent.

A batch is published on one channel without waiting between messages (AMQP keeps a channel's
order), then every confirm is awaited: a batch costs about one round trip, not one per event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from uuid import UUID

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange

from kontor.events import catalog
from kontor.events.relay import DeliveryError
from kontor.store.events import JournalEvent

NAME = "rabbitmq"


class RabbitMQSink:
    organization_id: UUID | None = None
    ledger_id: UUID | None = None

    def __init__(self, url: str, exchange: str, timeout_s: float) -> None:
        self.name = NAME
        self._url = url
        self._exchange_name = exchange
        self._timeout_s = timeout_s
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None

    def wants(self, event: JournalEvent) -> bool:
        return True

    async def _open(self) -> AbstractExchange:
        if self._exchange is not None and self._connection is not None and not self._connection.is_closed:
            return self._exchange
        await self.close()
        self._connection = await aio_pika.connect(self._url, timeout=self._timeout_s)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        return self._exchange

    async def deliver(self, events: Sequence[JournalEvent], first_attempt: int) -> None:
        try:
            exchange = await asyncio.wait_for(self._open(), self._timeout_s)
        except Exception as exc:
            await self.close()
            raise DeliveryError(0, f"cannot reach RabbitMQ: {exc!r}", refused=False) from exc
        publishes = [
            asyncio.ensure_future(
                exchange.publish(_message(e), routing_key=e.event_type, mandatory=False, timeout=self._timeout_s)
            )
            for e in events
        ]
        delivered = 0
        try:
            for publish in publishes:
                await publish
                delivered += 1
        except Exception as exc:
            for publish in publishes:
                publish.cancel()
            refused = isinstance(exc, aiormq.exceptions.DeliveryError)
            if not refused:
                await self.close()
            raise DeliveryError(delivered, f"RabbitMQ: {exc!r}", refused=refused) from exc
        finally:
            await asyncio.gather(*publishes, return_exceptions=True)

    async def close(self) -> None:
        connection, self._connection, self._channel, self._exchange = self._connection, None, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), self._timeout_s)


def _message(event: JournalEvent) -> aio_pika.Message:
    return aio_pika.Message(
        body=catalog.encode(event),
        content_type=catalog.CONTENT_TYPE,
        message_id=str(event.id),
        type=event.event_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        headers={"organizationid": str(event.organization_id), "ledgerid": str(event.ledger_id), "seq": event.seq},
    )
