"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/transaction-routes (cursor list)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata
from kontor.api.routes.operation_routes import OperationRoute
from kontor.api.routes.operation_routes import present as present_operation_route
from kontor.service import transaction_routes as service
from kontor.service.context import Context
from kontor.store.query import ListQuery

Title = Annotated[str, msgspec.Meta(max_length=255)]
Description = Annotated[str, msgspec.Meta(max_length=250)]


class TransactionRouteCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    title: Title
    operation_routes: list[UUID]
    description: Description | None = None
    metadata: Metadata | None = None


class TransactionRouteUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    title: Title | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET
    operation_routes: list[UUID] | UnsetType | None = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class TransactionRoute(msgspec.Struct, rename="camel", omit_defaults=True):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    title: str
    operation_routes: list[OperationRoute]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    description: str | None = None  # omitted when empty, as Midaz does


def present(route: service.TransactionRoute) -> TransactionRoute:
    row = route.row
    return TransactionRoute(
        id=row["id"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        title=row["title"],
        operation_routes=[present_operation_route(op) for op in route.operation_routes],
        **crud.record_fields(row),
        description=row["description"] or None,
    )


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_transaction_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, data: TransactionRouteCreate
) -> TransactionRoute:
    """Links at most 100 operation routes, among them a source-capable and a destination-capable one."""
    common.check_texts(data)
    values = {
        "title": common.require(data.title, "title"),
        "description": data.description or None,
        "metadata": common.check_metadata(data.metadata),
    }
    route = await service.create(ctx, organization_id, ledger_id, values, data.operation_routes)
    return present(route)


@get("/{transaction_route_id:str}", responses=ERROR_RESPONSES)
async def get_transaction_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_route_id: UUID
) -> TransactionRoute:
    return present(await service.get(ctx, organization_id, ledger_id, transaction_route_id))


@get("/", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_transaction_routes(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.CursorPageOut[TransactionRoute]:
    routes, page = await service.list_(ctx, organization_id, ledger_id, listing)
    items = [present(route) for route in routes]
    return common.CursorPageOut(items, limit=listing.limit, next_cursor=page.next_cursor, prev_cursor=page.prev_cursor)


@patch("/{transaction_route_id:str}", responses=ERROR_RESPONSES)
async def update_transaction_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_route_id: UUID, data: TransactionRouteUpdate
) -> TransactionRoute:
    """Empty or null texts keep their value; ``operationRoutes``, when given, replaces every link."""
    common.check_texts(data)
    changes = crud.texts_given(title=data.title, description=data.description)
    operation_routes = data.operation_routes if isinstance(data.operation_routes, list) else None
    metadata = common.metadata_patch(data.metadata)
    route = await service.update(
        ctx, organization_id, ledger_id, transaction_route_id, changes, operation_routes, metadata
    )
    return present(route)


@delete("/{transaction_route_id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_transaction_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_route_id: UUID
) -> None:
    await service.delete(ctx, organization_id, ledger_id, transaction_route_id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/transaction-routes",
    route_handlers=[
        create_transaction_route,
        get_transaction_route,
        list_transaction_routes,
        update_transaction_route,
        delete_transaction_route,
    ],
    tags=["Transaction routes"],
)
