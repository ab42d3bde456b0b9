"""What a process runs for events: the notifier (always, for SSE) and, if enabled, the relay.

``kontor serve`` starts both in every worker (``KONTOR_EVENTS_RELAY=false`` leaves the relay to a
separate ``kontor relay``); the sinks come from the settings: RabbitMQ and NATS when their URL is
set, webhooks unless ``KONTOR_EVENTS_WEBHOOKS=false``.
"""

from __future__ import annotations

import asyncio

import httpx

from kontor.config import Settings
from kontor.events import catalog
from kontor.events.notify import Notifier
from kontor.events.relay import Relay, Sink, SinkSource
from kontor.events.sinks import webhooks
from kontor.store.db import Database


def chosen_types(raw: str, variable: str) -> frozenset[str]:
    """The event types a sink is limited to (``a,b``; empty: every type). Unknown names are refused."""
    types = frozenset(name.strip() for name in raw.split(",") if name.strip())
    unknown = sorted(name for name in types if not catalog.is_known(name))
    if unknown:
        raise ValueError(f"{variable}: not event types: {', '.join(unknown)} (docs/events.md lists them)")
    return types


def check(settings: Settings) -> None:
    """Refuse event settings the relay could not run with; call it before serving or relaying."""
    chosen_types(settings.events_rabbitmq_types, "KONTOR_EVENTS_RABBITMQ_TYPES")
    chosen_types(settings.events_nats_types, "KONTOR_EVENTS_NATS_TYPES")


def sinks(settings: Settings, db: Database, client: httpx.AsyncClient) -> list[SinkSource]:
    """The sink sources the settings ask for."""
    fixed: list[Sink] = []
    if settings.events_rabbitmq_url:
        from kontor.events.sinks.rabbitmq import RabbitMQSink

        fixed.append(
            RabbitMQSink(
                settings.events_rabbitmq_url,
                settings.events_rabbitmq_exchange,
                settings.events_timeout_s,
                chosen_types(settings.events_rabbitmq_types, "KONTOR_EVENTS_RABBITMQ_TYPES"),
            )
        )
    if settings.events_nats_url:
        from kontor.events.sinks.nats import NatsSink

        fixed.append(
            NatsSink(
                settings.events_nats_url,
                settings.events_nats_stream,
                settings.events_nats_subject,
                settings.events_timeout_s,
                chosen_types(settings.events_nats_types, "KONTOR_EVENTS_NATS_TYPES"),
            )
        )
    sources: list[SinkSource] = []
    if fixed:

        async def fixed_sinks() -> list[Sink]:
            return fixed

        sources.append(fixed_sinks)
    if settings.events_webhooks:

        async def webhook_sinks() -> list[Sink]:
            return await webhooks.subscriptions(db, client)

        sources.append(webhook_sinks)
    return sources


class Events:
    """The notifier and the relay of one process, started and stopped together."""

    def __init__(self, settings: Settings, db: Database, url: str, *, relay: bool | None = None) -> None:
        self.notifier = Notifier(url)
        self.relay: Relay | None = None
        self._settings = settings
        self._db = db
        self._url = url
        self._run_relay = settings.events_relay if relay is None else relay
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self.notifier.start()
        if self._run_relay and self.relay is None:
            self._client = httpx.AsyncClient(timeout=self._settings.events_timeout_s, follow_redirects=False)
            sources = sinks(self._settings, self._db, self._client)
            self.relay = Relay(self._url, self._settings, self.notifier, sources)
            self.relay.start()

    async def stop(self) -> None:
        if self.relay is not None:
            await self.relay.stop()
            self.relay = None
        await self.notifier.stop()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


async def run_relay(settings: Settings, url: str, stop: asyncio.Event) -> None:
    """``kontor relay``: the relay alone, until ``stop`` is set."""
    db = Database(url, min_size=1, max_size=4, connect_timeout_s=settings.db_connect_timeout_s)
    events = Events(settings, db, url, relay=True)
    events.start()
    try:
        await stop.wait()
    finally:
        await events.stop()
        await db.close()
