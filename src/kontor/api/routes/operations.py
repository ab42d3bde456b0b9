""".../ledgers/{ledger_id}/accounts/{account_id}/operations: an account's operations, listed and read."""

from __future__ import annotations

import dataclasses
from uuid import UUID

import msgspec
from litestar import MediaType, Response, Router, get
from litestar.openapi.datastructures import ResponseSpec

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES
from kontor.api.routes.transactions import OperationOut
from kontor.core.balances import DIRECTIONS
from kontor.core.limits import LIST_DEFAULT_WINDOW_MONTHS
from kontor.errors import KontorError, codes
from kontor.service import operations as service
from kontor.service.context import Context
from kontor.store.query import Filter, ListQuery


def _window(listing: ListQuery) -> ListQuery:
    """Without dates the list covers Midaz's default window (last month to the end of today)."""
    if listing.start is not None:
        return listing
    start, end = common.default_window(LIST_DEFAULT_WINDOW_MONTHS)
    return dataclasses.replace(listing, start=start, end=end)


def _upper(value: str | None) -> str | None:
    return value.upper() if value else None


def _direction(direction: str | None) -> str | None:
    """``debit`` or ``credit``, any case; anything else is 400 0082."""
    if direction is None:
        return None
    value = direction.lower()
    if value not in DIRECTIONS:
        raise KontorError(codes.INVALID_QUERY_PARAMETER, "direction must be debit or credit.")
    return value


@get("/", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_operations(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    account_id: UUID,
    listing: ListQuery,
    type: str | None = None,
    direction: str | None = None,
    route_id: UUID | None = None,
    route_code: str | None = None,
) -> common.CursorPageOut[OperationOut]:
    """Filters: ``type`` (DEBIT, CREDIT, ON_HOLD, RELEASE, ...), ``direction``, ``route_id``, ``route_code``."""
    query = _window(listing).with_filters(
        Filter("type", _upper(common.search_term(type, "type"))),
        Filter("direction", _direction(direction)),
        Filter("route_id", route_id),
        Filter("route_code", common.search_term(route_code, "route_code")),
    )
    items, page = await service.list_of_account(ctx, organization_id, ledger_id, account_id, query)
    return common.CursorPageOut(items, query.limit, page.next_cursor, page.prev_cursor)  # type: ignore[arg-type]


@get(
    "/{operation_id:str}",
    responses={**ERROR_RESPONSES, 200: ResponseSpec(data_container=OperationOut, description="Success")},
)
async def get_operation(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, operation_id: UUID
) -> Response[bytes]:
    body = await service.get_of_account(ctx, organization_id, ledger_id, account_id, operation_id)
    return Response(msgspec.json.encode(body), media_type=MediaType.JSON)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/accounts/{account_id:str}/operations",
    route_handlers=[list_operations, get_operation],
    tags=["Operations"],
)
