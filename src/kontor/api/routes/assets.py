"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/assets"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str100, Str256
from kontor.service import assets as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import ListQuery


class AssetCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256
    type: str
    code: Str100
    status: Status | None = None
    metadata: Metadata | None = None


class AssetUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256 | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Asset(msgspec.Struct, rename="camel"):
    id: UUID
    name: str
    type: str
    code: str
    status: StatusOut
    ledger_id: UUID
    organization_id: UUID
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Asset:
    return Asset(
        id=row["id"],
        name=row["name"],
        type=row["type"],
        code=row["code"],
        status=common.status_out(row),
        ledger_id=row["ledger_id"],
        organization_id=row["organization_id"],
        **crud.record_fields(row),
    )


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_asset(ctx: Context, organization_id: UUID, ledger_id: UUID, data: AssetCreate) -> Asset:
    common.check_texts(data)
    values = {
        "name": common.require(data.name, "name"),
        "type": common.require(data.type, "type"),
        "code": common.require(data.code, "code"),
        **crud.entity_columns(data.metadata, data.status),
    }
    return present(await service.create(ctx, organization_id, ledger_id, values))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_asset(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> Asset:
    return present(await service.get(ctx, organization_id, ledger_id, id))


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_assets(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.OffsetPage[Asset]:
    rows = await service.list_(ctx, organization_id, ledger_id, listing)
    return crud.offset_page(rows, present, listing)


@crud.count_route()
async def count_assets(ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, organization_id, ledger_id, listing))


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_asset(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID, data: AssetUpdate) -> Asset:
    common.check_texts(data)
    changes = crud.named_changes(data.name, data.status)
    metadata = common.metadata_patch(data.metadata)
    return present(await service.update(ctx, organization_id, ledger_id, id, changes, metadata))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_asset(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id, id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/assets",
    route_handlers=[create_asset, get_asset, list_assets, count_assets, update_asset, delete_asset],
    tags=["Assets"],
)
