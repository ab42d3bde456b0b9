"""Webhook subscriptions: create (the secret is answered once), list, read, delete, attempts.

A subscription belongs to an organization and receives the events of its chains (or of one of
its ledgers, with ``ledger_id``), filtered by event type (none listed: every type). It receives
what happens after it was created: its cursors start at the chains' heads. Rules, in order:
the URL is an absolute http(s) URL (400 0047), every event type is in the catalog (400 0047),
the organization exists (404 0038), the ledger exists in it (404 0037).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from kontor.core.limits import PAGE_LIMIT_MAX
from kontor.errors import FieldError, FieldErrors, KontorError, codes
from kontor.events import catalog
from kontor.events.sinks.webhooks import sink_name
from kontor.service import organizations
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.store import events, webhooks
from kontor.store.db import Connection, Record

ENTITY = "Webhook"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
URL_LENGTH_MAX = 2048


def check_url(url: str) -> str:
    """An absolute ``http`` or ``https`` URL with a host: else 400 0047."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > URL_LENGTH_MAX:
        raise FieldErrors(
            codes.INVALID_FIELD,
            "url must be an absolute http or https URL.",
            entity_type=ENTITY,
            errors=[FieldError("url", "not an absolute http(s) URL", url)],
        )
    return url


def check_event_types(types: list[str]) -> list[str]:
    """Every name is an event type of the catalog: else 400 0047."""
    unknown = catalog.unknown_types(types)
    if unknown:
        raise FieldErrors(
            codes.INVALID_FIELD,
            f"Unknown event types: {', '.join(unknown)}.",
            entity_type=ENTITY,
            errors=[FieldError("eventTypes", "not an event type", name) for name in unknown],
        )
    return sorted(set(types))


async def create(ctx: Context, organization_id: UUID, values: dict[str, Any]) -> Record:
    """A new subscription, answered with its secret (the only time the secret is shown)."""
    check_url(values["url"])
    types = check_event_types(values.get("event_types") or [])
    now = datetime.now(UTC)
    async with ctx.db.transaction() as conn:
        await _require_scope(conn, organization_id, values.get("ledger_id"))
        row = {
            "organization_id": organization_id,
            "id": new_id(),
            "ledger_id": values.get("ledger_id"),
            "url": values["url"],
            "secret": SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES),
            "event_types": types,
            "description": values.get("description"),
            "created_at": now,
            "updated_at": now,
        }
        created = await webhooks.insert(conn, row)
        await events.start_cursors_at_heads(conn, sink_name(created["id"]), organization_id)
        return created


async def _require_scope(conn: Connection, organization_id: UUID, ledger_id: UUID | None) -> None:
    if ledger_id is None:
        await organizations.require(conn, organization_id)
    else:
        await require_ledger(conn, organization_id, ledger_id)


async def list_(ctx: Context, organization_id: UUID) -> list[Record]:
    async with ctx.db.connection() as conn:
        await organizations.require(conn, organization_id)
        return await webhooks.of_organization(conn, organization_id)


async def get(ctx: Context, organization_id: UUID, subscription_id: UUID) -> Record:
    async with ctx.db.connection() as conn:
        return await _require(conn, organization_id, subscription_id)


async def _require(conn: Connection, organization_id: UUID, subscription_id: UUID) -> Record:
    await organizations.require(conn, organization_id)
    row = await webhooks.get(conn, organization_id, subscription_id)
    if row is None:
        raise KontorError(codes.ENTITY_NOT_FOUND, "The webhook subscription does not exist.", entity_type=ENTITY)
    return row


async def delete(ctx: Context, organization_id: UUID, subscription_id: UUID) -> None:
    """Stop deliveries (the relay notices within seconds); the attempts stay readable."""
    async with ctx.db.transaction() as conn:
        await _require(conn, organization_id, subscription_id)
        await webhooks.soft_delete(conn, organization_id, subscription_id)


async def attempts(ctx: Context, organization_id: UUID, subscription_id: UUID, limit: int) -> list[Record]:
    """The subscription's latest delivery attempts, newest first (a deleted one's too)."""
    limit = max(1, min(limit, PAGE_LIMIT_MAX))
    async with ctx.db.connection() as conn:
        await organizations.require(conn, organization_id)
        if not await webhooks.exists(conn, organization_id, subscription_id):
            raise KontorError(codes.ENTITY_NOT_FOUND, "The webhook subscription does not exist.", entity_type=ENTITY)
        return list(await webhooks.attempts(conn, organization_id, subscription_id, limit))
