"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/accounts"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from litestar import Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str100, Str256
from kontor.errors import FieldErrors, codes
from kontor.service import accounts as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import Filter, ListQuery, Match

LIST_STATUSES = ("ACTIVE", "INACTIVE", "BLOCKED")


class Skip(msgspec.Struct, forbid_unknown_fields=True):
    """Midaz's per-request opt-outs; accepted for compatibility, kontor has no holder check to skip."""

    holder: bool | None = None


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    asset_code: Str100
    type: Str256
    name: Str256 | None = None
    alias: Str100 | None = None
    parent_account_id: UUID | None = None
    portfolio_id: UUID | None = None
    segment_id: UUID | None = None
    entity_id: Str256 | None = None
    holder_id: UUID | None = None
    blocked: bool | None = None
    status: Status | None = None
    metadata: Metadata | None = None
    skip: Skip | None = None


class AccountUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str256 | UnsetType = UNSET
    segment_id: UUID | UnsetType | None = UNSET
    portfolio_id: UUID | UnsetType | None = UNSET
    entity_id: Str256 | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    blocked: bool | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Account(msgspec.Struct, rename="camel"):
    id: UUID
    name: str
    parent_account_id: UUID | None
    entity_id: str | None
    holder_id: UUID | None
    asset_code: str
    organization_id: UUID
    ledger_id: UUID
    portfolio_id: UUID | None
    segment_id: UUID | None
    status: StatusOut
    alias: str
    type: str
    blocked: bool
    holder_check_skipped: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Account:
    return Account(
        id=row["id"],
        name=row["name"],
        parent_account_id=row["parent_account_id"],
        entity_id=row["entity_id"],
        holder_id=row["holder_id"],
        asset_code=row["asset_code"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        portfolio_id=row["portfolio_id"],
        segment_id=row["segment_id"],
        status=common.status_out(row),
        alias=row["alias"],
        type=row["type"],
        blocked=row["blocked"],
        holder_check_skipped=False,
        **crud.record_fields(row),
    )


def _create_values(data: AccountCreate) -> dict[str, Any]:
    asset_code = common.require(data.asset_code, "assetCode")
    account_type = common.require(data.type, "type")
    return {
        "asset_code": asset_code,
        "type": account_type,
        "name": data.name or f"{asset_code} {account_type} account",
        "alias": data.alias,
        "parent_account_id": data.parent_account_id,
        "portfolio_id": data.portfolio_id,
        "segment_id": data.segment_id,
        "entity_id": data.entity_id,
        "holder_id": data.holder_id,
        "blocked": bool(data.blocked),
        **crud.entity_columns(data.metadata, data.status),
    }


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_account(ctx: Context, organization_id: UUID, ledger_id: UUID, data: AccountCreate) -> Account:
    common.check_texts(data)
    return present(await service.create(ctx, organization_id, ledger_id, _create_values(data)))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_account(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> Account:
    return present(await service.get(ctx, organization_id, ledger_id, id))


@get("/alias/{alias:str}", responses=ERROR_RESPONSES)
async def get_account_by_alias(ctx: Context, organization_id: UUID, ledger_id: UUID, alias: str) -> Account:
    return present(await service.get_by_alias(ctx, organization_id, ledger_id, alias))


@get("/external/{code:str}", responses=ERROR_RESPONSES)
async def get_external_account(ctx: Context, organization_id: UUID, ledger_id: UUID, code: str) -> Account:
    return present(await service.get_external(ctx, organization_id, ledger_id, code))


def _status_filter(status: str | None) -> str | None:
    if status is None:
        return None
    if status.upper() not in LIST_STATUSES:
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "status must be ACTIVE, INACTIVE or BLOCKED.")
    return status.upper()


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_accounts(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    listing: ListQuery,
    portfolio_id: UUID | None = None,
    segment_id: UUID | None = None,
    status: str | None = None,
    type: str | None = None,
    asset_code: str | None = None,
    entity_id: str | None = None,
    blocked: bool | None = None,
    parent_account_id: UUID | None = None,
    name: str | None = None,
    alias: str | None = None,
) -> common.OffsetPage[Account]:
    query = listing.with_filters(
        Filter("portfolio_id", portfolio_id),
        Filter("segment_id", segment_id),
        Filter("status_code", _status_filter(status)),
        Filter("type", common.search_term(type, "type")),
        Filter("asset_code", common.search_term(asset_code, "asset_code")),
        Filter("entity_id", common.search_term(entity_id, "entity_id")),
        Filter("blocked", blocked),
        Filter("parent_account_id", parent_account_id),
        Filter("name", common.search_term(name, "name"), Match.PREFIX),
        Filter("alias", common.search_term(alias, "alias"), Match.PREFIX),
    )
    rows = await service.list_(ctx, organization_id, ledger_id, query)
    return crud.offset_page(rows, present, query)


@crud.count_route()
async def count_accounts(ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, organization_id, ledger_id, listing))


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_account(
    ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID, data: AccountUpdate
) -> Account:
    common.check_texts(data)
    metadata = common.metadata_patch(data.metadata)
    changes = crud.named_changes(
        data.name,
        data.status,
        segment_id=data.segment_id,
        portfolio_id=data.portfolio_id,
        entity_id=data.entity_id,
        blocked=data.blocked,
    )
    return present(await service.update(ctx, organization_id, ledger_id, id, changes, metadata))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_account(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id, id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/accounts",
    route_handlers=[
        create_account,
        get_account,
        get_account_by_alias,
        get_external_account,
        list_accounts,
        count_accounts,
        update_account,
        delete_account,
    ],
    tags=["Accounts"],
)
