"""/v1/organizations/{organization_id}/webhooks: subscriptions to the organization's events.

Create answers the subscription with its ``secret``, the HMAC key of every delivery's
``X-Kontor-Signature``; no other answer shows it. ``.../attempts`` lists the latest delivery
attempts, newest first. Delivery itself: docs/events.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Router, delete, get, post

from kontor.api import common
from kontor.api.common import ERROR_RESPONSES
from kontor.core.limits import PAGE_LIMIT_DEFAULT
from kontor.service import webhooks as service
from kontor.service.context import Context
from kontor.store.db import Record

EventType = Annotated[str, msgspec.Meta(max_length=64)]


class WebhookCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    url: Annotated[str, msgspec.Meta(max_length=service.URL_LENGTH_MAX)]
    event_types: Annotated[list[EventType], msgspec.Meta(max_length=64)] | None = None
    ledger_id: UUID | None = None
    description: common.Str256 | None = None


class Webhook(msgspec.Struct, rename="camel"):
    id: UUID
    organization_id: UUID
    ledger_id: UUID | None
    url: str
    event_types: list[str]
    description: str | None
    created_at: datetime
    updated_at: datetime


class WebhookCreated(Webhook, rename="camel"):
    secret: str


class WebhookList(msgspec.Struct):
    items: list[Webhook]


class Attempt(msgspec.Struct, rename="camel"):
    id: UUID
    event_id: UUID
    event_type: str
    ledger_id: UUID
    seq: int
    attempt: int
    status_code: int | None
    error: str | None
    succeeded: bool
    duration_ms: float
    created_at: datetime


class AttemptList(msgspec.Struct):
    items: list[Attempt]


def present(row: Record) -> Webhook:
    return Webhook(
        id=row["id"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        url=row["url"],
        event_types=list(row["event_types"]),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def present_attempt(row: Record) -> Attempt:
    return Attempt(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        ledger_id=row["ledger_id"],
        seq=row["seq"],
        attempt=row["attempt"],
        status_code=row["status_code"],
        error=row["error"],
        succeeded=row["succeeded"],
        duration_ms=float(row["duration_ms"]),
        created_at=row["created_at"],
    )


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_webhook(ctx: Context, organization_id: UUID, data: WebhookCreate) -> WebhookCreated:
    common.check_texts(data)
    values = {
        "url": common.require(data.url, "url"),
        "event_types": data.event_types or [],
        "ledger_id": data.ledger_id,
        "description": data.description,
    }
    row = await service.create(ctx, organization_id, values)
    return WebhookCreated(**msgspec.structs.asdict(present(row)), secret=row["secret"])


@get("/", responses=ERROR_RESPONSES)
async def list_webhooks(ctx: Context, organization_id: UUID) -> WebhookList:
    return WebhookList([present(row) for row in await service.list_(ctx, organization_id)])


@get("/{webhook_id:str}", responses=ERROR_RESPONSES)
async def get_webhook(ctx: Context, organization_id: UUID, webhook_id: UUID) -> Webhook:
    return present(await service.get(ctx, organization_id, webhook_id))


@delete("/{webhook_id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_webhook(ctx: Context, organization_id: UUID, webhook_id: UUID) -> None:
    await service.delete(ctx, organization_id, webhook_id)


@get("/{webhook_id:str}/attempts", responses=ERROR_RESPONSES)
async def list_attempts(
    ctx: Context, organization_id: UUID, webhook_id: UUID, limit: int = PAGE_LIMIT_DEFAULT
) -> AttemptList:
    rows = await service.attempts(ctx, organization_id, webhook_id, limit)
    return AttemptList([present_attempt(row) for row in rows])


router = Router(
    "/v1/organizations/{organization_id:str}/webhooks",
    route_handlers=[create_webhook, list_webhooks, get_webhook, delete_webhook, list_attempts],
    tags=["Webhooks"],
)
