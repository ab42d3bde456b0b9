"""RabbitMQ: each event is published to a durable topic exchange, with publisher confirms.

Routing key: the event type (``transaction.posted``), so a queue binds to what it wants
(``transaction.*``, ``balance.changed``, ``#``). Body: the CloudEvents JSON envelope; the AMQP
``message_id`` is the event id (consumers de-duplicate by it), ``type`` the event type, and the
headers carry the chain (``organizationid``, ``ledgerid``, ``seq``). Messages are persistent.

A batch is published on one channel in one write (AMQP keeps a channel's order), then its
confirms are awaited together: a batch costs about one round trip, not one per event. The
publisher is ``amqp.Publisher``, a lean AMQP 0-9-1 client: about 17 µs of CPU per event, the
envelope's encoding included, where aio-pika took about 170.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from uuid import UUID

from kontor.events import catalog
from kontor.events.relay import DeliveryError
from kontor.events.sinks import amqp
from kontor.events.sinks.amqp_frames import Message
from kontor.store.events import JournalEvent

NAME = "rabbitmq"


class RabbitMQSink:
    organization_id: UUID | None = None
    ledger_id: UUID | None = None

    def __init__(self, url: str, exchange: str, timeout_s: float, types: frozenset[str] = frozenset()) -> None:
        self.name = NAME
        self._url = url
        self._exchange = exchange
        self._timeout_s = timeout_s
        self._types = types  # empty: every event type
        self._publisher: amqp.Publisher | None = None

    def wants(self, event: JournalEvent) -> bool:
        return not self._types or event.event_type in self._types

    async def _open(self) -> amqp.Publisher:
        if self._publisher is not None and self._publisher.usable:
            return self._publisher
        await self.close()
        async with asyncio.timeout(self._timeout_s):
            self._publisher = await amqp.Publisher.open(self._url, self._exchange)
        return self._publisher

    async def deliver(self, events: Sequence[JournalEvent], first_attempt: int) -> None:
        try:
            publisher = await self._open()
        except Exception as exc:
            await self.close()
            raise DeliveryError(0, f"cannot reach RabbitMQ: {exc!r}", refused=False) from exc
        try:
            confirmed = await publisher.publish(_messages(events), self._timeout_s)
        except amqp.AmqpError as exc:
            await self.close()
            raise DeliveryError(exc.acked, f"RabbitMQ: {exc.reason}", refused=False) from exc
        if confirmed.refused:
            refused = events[confirmed.acked]
            raise DeliveryError(confirmed.acked, f"RabbitMQ refused event seq {refused.seq} (nack)", refused=True)

    async def close(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            await publisher.close()


def _messages(events: Sequence[JournalEvent]) -> Iterator[Message]:
    """The batch's messages. The relay reads one chain at a time: its ids become text once."""
    organization_id, ledger_id, organization_text, ledger_text = None, None, "", ""
    for event in events:
        if event.organization_id != organization_id or event.ledger_id != ledger_id:
            organization_id, ledger_id = event.organization_id, event.ledger_id
            organization_text, ledger_text = str(organization_id), str(ledger_id)
        headers: dict[str, str | int] = {"organizationid": organization_text, "ledgerid": ledger_text, "seq": event.seq}
        body = catalog.encode(event)
        yield Message(event.event_type, body, catalog.CONTENT_TYPE, str(event.id), event.event_type, headers)
