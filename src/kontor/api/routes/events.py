"""GET .../ledgers/{ledger_id}/events/stream: the ledger's events as Server-Sent Events.

``types`` (comma-separated event types) filters; ``Last-Event-ID`` (the ``id`` of the last message
received, a journal seq) resumes after it. The stream is docs/events.md's envelope, live.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Request, Router, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Stream

from kontor.api.common import ERROR_RESPONSES
from kontor.errors import FieldError, FieldErrors, codes
from kontor.events import catalog, sse
from kontor.events.runtime import Events
from kontor.service import ledgers
from kontor.service.context import Context

STREAM_RESPONSES: dict[int, ResponseSpec] = {
    **ERROR_RESPONSES,
    200: ResponseSpec(
        data_container=str,
        description="A text/event-stream: one message per event (id = journal seq, event = type).",
        media_type="text/event-stream",
    ),
}


def parse_types(types: str | None) -> frozenset[str]:
    """The comma-separated event types of ``types``; an unknown one is 400 0082."""
    names = [name.strip() for name in (types or "").split(",") if name.strip()]
    unknown = catalog.unknown_types(names)
    if unknown:
        raise FieldErrors(
            codes.INVALID_QUERY_PARAMETER,
            f"Unknown event types: {', '.join(unknown)}.",
            errors=[FieldError("types", "not an event type", name) for name in unknown],
        )
    return frozenset(names)


@get("/events/stream", responses=STREAM_RESPONSES, media_type="text/event-stream")
async def stream_events(
    request: Request[Any, Any, Any], ctx: Context, organization_id: UUID, ledger_id: UUID, types: str | None = None
) -> Stream:
    wanted = parse_types(types)
    await ledgers.get(ctx, organization_id, ledger_id)
    runtime: Events = request.app.state["events"]
    chain = (organization_id, ledger_id)
    after = await sse.start_seq(ctx.db, chain, request.headers.get("last-event-id"))
    return Stream(
        sse.stream(ctx.db, runtime.notifier, chain, after, wanted),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}",
    route_handlers=[stream_events],
    tags=["Events"],
)
