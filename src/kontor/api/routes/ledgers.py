"""/v1/organizations/{organization_id}/ledgers, and each ledger's /settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str256
from kontor.core.limits import SETTINGS_BODY_BYTES_MAX
from kontor.errors import FieldErrors, KontorError, codes
from kontor.service import ledger_settings
from kontor.service import ledgers as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import Filter, ListQuery, Match


class LedgerCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256
    status: Status | None = None
    metadata: Metadata | None = None
    settings: dict[str, Any] | None = None


class LedgerUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256 | UnsetType = UNSET
    status: Status | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Ledger(msgspec.Struct, rename="camel"):
    id: UUID
    name: str
    organization_id: UUID
    status: StatusOut
    metadata: dict[str, Any]
    settings: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Ledger:
    return Ledger(
        id=row["id"],
        name=row["name"],
        organization_id=row["organization_id"],
        status=common.status_out(row),
        settings=ledger_settings.merged(row["settings"]),
        **crud.record_fields(row),
    )


def _create_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Settings on create: schema-checked like a PATCH, and complete (a partial object is 400 0148)."""
    if settings is None:
        return {}
    checked = ledger_settings.check(settings)
    ledger_settings.check_complete(checked)
    return checked


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_ledger(ctx: Context, organization_id: UUID, data: LedgerCreate) -> Ledger:
    common.check_texts(data)
    values = {
        "name": common.require(data.name, "name"),
        **crud.entity_columns(data.metadata, data.status),
        "settings": _create_settings(data.settings),
    }
    return present(await service.create(ctx, organization_id, values))


@get("/{ledger_id:str}", responses=ERROR_RESPONSES)
async def get_ledger(ctx: Context, organization_id: UUID, ledger_id: UUID) -> Ledger:
    return present(await service.get(ctx, organization_id, ledger_id))


def _filters(name: str | None, status: str | None) -> tuple[Filter, ...]:
    if status is not None and status.upper() not in ("ACTIVE", "INACTIVE"):
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "status must be ACTIVE or INACTIVE.")
    return (
        Filter("name", common.search_term(name, "name"), Match.PREFIX),
        Filter("status_code", status.upper() if status else None),
    )


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_ledgers(
    ctx: Context, organization_id: UUID, listing: ListQuery, name: str | None = None, status: str | None = None
) -> common.OffsetPage[Ledger]:
    query = listing.with_filters(*_filters(name, status))
    if query.metadata is not None and name is not None:
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "Filter by metadata or by name, not both.")
    rows = await service.list_(ctx, organization_id, query)
    return crud.offset_page(rows, present, query)


@crud.count_route()
async def count_ledgers(ctx: Context, organization_id: UUID, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, organization_id, listing))


@patch("/{ledger_id:str}", responses=ERROR_RESPONSES)
async def update_ledger(ctx: Context, organization_id: UUID, ledger_id: UUID, data: LedgerUpdate) -> Ledger:
    common.check_texts(data)
    changes = crud.named_changes(data.name, data.status)
    metadata = common.metadata_patch(data.metadata)
    return present(await service.update(ctx, organization_id, ledger_id, changes, metadata))


@delete("/{ledger_id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_ledger(ctx: Context, organization_id: UUID, ledger_id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id)


@get("/{ledger_id:str}/settings", responses=ERROR_RESPONSES)
async def get_ledger_settings(ctx: Context, organization_id: UUID, ledger_id: UUID) -> dict[str, Any]:
    return await ledger_settings.get_settings(ctx, organization_id, ledger_id)


async def _settings_body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The PATCH body, read by hand so that schema failures answer the settings codes.

    Over 64 KiB is 400 0143; anything but a JSON object is 400 0094.
    """
    raw = await request.body()
    if len(raw) > SETTINGS_BODY_BYTES_MAX:
        raise KontorError(codes.PAYLOAD_TOO_LARGE, f"The settings body exceeds {SETTINGS_BODY_BYTES_MAX} bytes.")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise KontorError(codes.UNMARSHALLING, f"The settings body is not valid JSON: {exc}.") from exc
    if not isinstance(body, dict):
        raise KontorError(codes.UNMARSHALLING, "The settings body must be a JSON object.")
    return body


@patch("/{ledger_id:str}/settings", responses=ERROR_RESPONSES)
async def update_ledger_settings(
    ctx: Context, organization_id: UUID, ledger_id: UUID, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    patch_ = ledger_settings.check(await _settings_body(request))
    return await ledger_settings.update_settings(ctx, organization_id, ledger_id, patch_)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers",
    route_handlers=[
        create_ledger,
        get_ledger,
        list_ledgers,
        count_ledgers,
        update_ledger,
        delete_ledger,
        get_ledger_settings,
        update_ledger_settings,
    ],
    tags=["Ledgers"],
)
