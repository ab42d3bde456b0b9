"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/segments"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str256
from kontor.service import segments as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import ListQuery


class SegmentCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256
    status: Status | None = None
    metadata: Metadata | None = None


class SegmentUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256 | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Segment(msgspec.Struct, rename="camel"):
    id: UUID
    name: str
    ledger_id: UUID
    organization_id: UUID
    status: StatusOut
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Segment:
    return Segment(
        id=row["id"],
        name=row["name"],
        ledger_id=row["ledger_id"],
        organization_id=row["organization_id"],
        status=common.status_out(row),
        **crud.record_fields(row),
    )


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_segment(ctx: Context, organization_id: UUID, ledger_id: UUID, data: SegmentCreate) -> Segment:
    common.check_texts(data)
    values = {
        "name": common.require(data.name, "name"),
        **crud.entity_columns(data.metadata, data.status),
    }
    return present(await service.create(ctx, organization_id, ledger_id, values))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_segment(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> Segment:
    return present(await service.get(ctx, organization_id, ledger_id, id))


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_segments(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.OffsetPage[Segment]:
    rows = await service.list_(ctx, organization_id, ledger_id, listing)
    return crud.offset_page(rows, present, listing)


@crud.count_route()
async def count_segments(ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, organization_id, ledger_id, listing))


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_segment(
    ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID, data: SegmentUpdate
) -> Segment:
    common.check_texts(data)
    changes = crud.named_changes(data.name, data.status)
    metadata = common.metadata_patch(data.metadata)
    return present(await service.update(ctx, organization_id, ledger_id, id, changes, metadata))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_segment(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id, id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/segments",
    route_handlers=[create_segment, get_segment, list_segments, count_segments, update_segment, delete_segment],
    tags=["Segments"],
)
