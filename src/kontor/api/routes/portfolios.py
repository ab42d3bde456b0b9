"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/portfolios"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str256
from kontor.errors import FieldErrors, codes
from kontor.service import portfolios as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import Filter, ListQuery


class PortfolioCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256
    entity_id: Str256 | None = None
    status: Status | None = None
    metadata: Metadata | None = None


class PortfolioUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256 | UnsetType = UNSET
    entity_id: Str256 | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Portfolio(msgspec.Struct, rename="camel"):
    id: UUID
    name: str
    entity_id: str | None
    ledger_id: UUID
    organization_id: UUID
    status: StatusOut
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Portfolio:
    return Portfolio(
        id=row["id"],
        name=row["name"],
        entity_id=row["entity_id"],
        ledger_id=row["ledger_id"],
        organization_id=row["organization_id"],
        status=common.status_out(row),
        **crud.record_fields(row),
    )


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_portfolio(ctx: Context, organization_id: UUID, ledger_id: UUID, data: PortfolioCreate) -> Portfolio:
    common.check_texts(data)
    values = {
        "name": common.require(data.name, "name"),
        "entity_id": data.entity_id or None,
        **crud.entity_columns(data.metadata, data.status),
    }
    return present(await service.create(ctx, organization_id, ledger_id, values))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_portfolio(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> Portfolio:
    return present(await service.get(ctx, organization_id, ledger_id, id))


def _filters(entity_id: str | None, status: str | None) -> tuple[Filter, ...]:
    if status is not None and status.upper() not in ("ACTIVE", "INACTIVE"):
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "status must be ACTIVE or INACTIVE.")
    return (
        Filter("entity_id", common.search_term(entity_id, "entity_id")),
        Filter("status_code", status.upper() if status else None),
    )


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_portfolios(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    listing: ListQuery,
    entity_id: str | None = None,
    status: str | None = None,
) -> common.OffsetPage[Portfolio]:
    query = listing.with_filters(*_filters(entity_id, status))
    rows = await service.list_(ctx, organization_id, ledger_id, query)
    return crud.offset_page(rows, present, query)


@crud.count_route()
async def count_portfolios(ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, organization_id, ledger_id, listing))


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_portfolio(
    ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID, data: PortfolioUpdate
) -> Portfolio:
    common.check_texts(data)
    changes = crud.named_changes(data.name, data.status, entity_id=crud.blank_as_null(data.entity_id))
    metadata = common.metadata_patch(data.metadata)
    return present(await service.update(ctx, organization_id, ledger_id, id, changes, metadata))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_portfolio(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id, id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/portfolios",
    route_handlers=[
        create_portfolio,
        get_portfolio,
        list_portfolios,
        count_portfolios,
        update_portfolio,
        delete_portfolio,
    ],
    tags=["Portfolios"],
)
