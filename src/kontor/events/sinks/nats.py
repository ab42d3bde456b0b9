"""NATS JetStream: each event is published to a stream and its acknowledgement awaited.

Subject: ``<prefix>.<organization_id>.<ledger_id>.<event type>`` (so a consumer filters by
organization, ledger or type with NATS wildcards). Body: the CloudEvents JSON envelope. The
``Nats-Msg-Id`` header is the event id: JetStream drops a re-delivery that arrives within the
stream's duplicate window, so a relay restart rarely shows a consumer the same event twice.
The stream (``<prefix>.>``) is created if it does not exist.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from kontor.events import catalog
from kontor.events.relay import DeliveryError
from kontor.store.events import JournalEvent

NAME = "nats"


def subject_of(prefix: str, event: JournalEvent) -> str:
    return f"{prefix}.{event.organization_id}.{event.ledger_id}.{event.event_type}"


class NatsSink:
    organization_id: UUID | None = None
    ledger_id: UUID | None = None

    def __init__(
        self, url: str, stream: str, subject_prefix: str, timeout_s: float, types: frozenset[str] = frozenset()
    ) -> None:
        self.name = NAME
        self._url = url
        self._stream = stream
        self._prefix = subject_prefix
        self._timeout_s = timeout_s
        self._types = types  # empty: every event type
        self._client: Client | None = None
        self._js: JetStreamContext | None = None

    def wants(self, event: JournalEvent) -> bool:
        return not self._types or event.event_type in self._types

    async def _open(self) -> JetStreamContext:
        if self._js is not None and self._client is not None and self._client.is_connected:
            return self._js
        await self.close()
        # The relay retries on its own schedule: the client must fail fast, not reconnect forever.
        self._client = await nats.connect(
            self._url, connect_timeout=self._timeout_s, allow_reconnect=False, max_reconnect_attempts=0
        )
        js = self._client.jetstream(timeout=self._timeout_s)
        try:
            await js.stream_info(self._stream)
        except NotFoundError:
            await js.add_stream(name=self._stream, subjects=[f"{self._prefix}.>"])
        self._js = js
        return js

    async def deliver(self, events: Sequence[JournalEvent], first_attempt: int) -> None:
        try:
            js = await asyncio.wait_for(self._open(), self._timeout_s)
        except Exception as exc:
            await self.close()
            raise DeliveryError(0, f"cannot reach NATS: {exc!r}", refused=False) from exc
        delivered = 0
        acks: list[asyncio.Future[Any]] = []
        try:
            for event in events:  # published in order; the acks are awaited after
                acks.append(
                    await js.publish_async(
                        subject_of(self._prefix, event),
                        catalog.encode(event),
                        headers={"Nats-Msg-Id": str(event.id)},
                    )
                )
            for ack in acks:
                await asyncio.wait_for(ack, self._timeout_s)
                delivered += 1
        except Exception as exc:
            for ack in acks:
                ack.cancel()
            refused = isinstance(exc, APIError)
            if not refused:
                await self.close()
            raise DeliveryError(delivered, f"NATS: {exc!r}", refused=refused) from exc

    async def close(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.close(), self._timeout_s)
