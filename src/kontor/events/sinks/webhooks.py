"""Webhooks: each subscription is a sink of its own, with its own cursor, lock and retries.

A delivery is an HTTP POST of the CloudEvents JSON envelope to the subscription's URL, signed with
the subscription's secret::

    X-Kontor-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant
time, and refuses old timestamps (replays). Any 2xx answer confirms; anything else (another
status, a refused connection, a timeout) is a refusal, retried with backoff and dead-lettered
after ``events_attempts_max`` attempts. Every attempt is recorded in ``webhook_attempts``.
Events of one subscription and chain are sent one at a time, in journal order.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import uuid_utils

from kontor import __version__
from kontor.events import catalog
from kontor.events.relay import DeliveryError, Sink
from kontor.store import webhooks as store
from kontor.store.db import Database, Record
from kontor.store.events import JournalEvent

SIGNATURE_HEADER = "X-Kontor-Signature"
ERROR_TEXT_MAX = 500


def sink_name(subscription_id: UUID) -> str:
    return f"webhook:{subscription_id}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Kontor-Signature`` value of ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` at a time within ``tolerance_s`` of ``now``.

    What a receiver does; kontor's tests use it, and docs/events.md shows it.
    """
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return abs(now - timestamp) <= tolerance_s and hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookSink:
    def __init__(self, subscription: Record, client: httpx.AsyncClient, db: Database) -> None:
        self.name = sink_name(subscription["id"])
        self.organization_id: UUID | None = subscription["organization_id"]
        self.ledger_id: UUID | None = subscription["ledger_id"]
        self._id: UUID = subscription["id"]
        self._url: str = subscription["url"]
        self._secret: str = subscription["secret"]
        self._types = frozenset(subscription["event_types"])
        self._client = client
        self._db = db

    def wants(self, event: JournalEvent) -> bool:
        return not self._types or event.event_type in self._types

    async def deliver(self, events: Sequence[JournalEvent], first_attempt: int) -> None:
        for index, event in enumerate(events):
            attempt = first_attempt if index == 0 else 1
            error = await self._post(event, attempt)
            if error is not None:
                raise DeliveryError(index, error, refused=True)

    async def _post(self, event: JournalEvent, attempt: int) -> str | None:
        """One attempt: None when the receiver confirmed, else why not. Recorded either way."""
        body = catalog.encode(event)
        headers = {
            "Content-Type": catalog.CONTENT_TYPE,
            "User-Agent": f"kontor/{__version__}",
            SIGNATURE_HEADER: signature(self._secret, int(time.time()), body),
            "X-Kontor-Event-Id": str(event.id),
            "X-Kontor-Event-Type": event.event_type,
            "X-Kontor-Delivery-Attempt": str(attempt),
        }
        started = time.perf_counter()
        status: int | None = None
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
            status = response.status_code
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_MAX] or type(exc).__name__
        await self._record(event, attempt, status, error, (time.perf_counter() - started) * 1000)
        return error

    async def _record(
        self, event: JournalEvent, attempt: int, status: int | None, error: str | None, duration_ms: float
    ) -> None:
        values: dict[str, Any] = {
            "organization_id": event.organization_id,
            "subscription_id": self._id,
            "id": UUID(bytes=uuid_utils.uuid7().bytes),
            "ledger_id": event.ledger_id,
            "seq": event.seq,
            "event_id": event.id,
            "event_type": event.event_type,
            "attempt": attempt,
            "status_code": status,
            "error": error,
            "succeeded": error is None,
            "duration_ms": round(duration_ms, 3),
            "created_at": datetime.now(UTC),
        }
        async with self._db.connection() as conn:
            await store.record_attempt(conn, values)

    async def close(self) -> None:
        return None


async def subscriptions(db: Database, client: httpx.AsyncClient) -> list[Sink]:
    """A sink for every live subscription (the relay reads this again every few seconds)."""
    async with db.connection() as conn:
        rows = await store.live(conn)
    return [WebhookSink(row, client, db) for row in rows]
