"""/v1/organizations"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Response, Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Status, StatusOut, Str256
from kontor.core.iso import COUNTRIES
from kontor.errors import FieldError, FieldErrors, codes
from kontor.service import organizations as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import Filter, ListQuery, Match


class Address(msgspec.Struct, forbid_unknown_fields=True, rename="camel", omit_defaults=True):
    line1: Str256 | None = None
    line2: Str256 | None = None
    zip_code: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    city: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    state: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    country: Annotated[str, msgspec.Meta(max_length=2)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class OrganizationCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    legal_name: Str256
    legal_document: Str256
    doing_business_as: Str256 | None = None
    parent_organization_id: UUID | None = None
    address: Address | None = None
    status: Status | None = None
    metadata: Metadata | None = None


class OrganizationUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    legal_name: Str256 | UnsetType = UNSET
    doing_business_as: Str256 | UnsetType | None = UNSET
    parent_organization_id: UUID | UnsetType | None = UNSET
    address: Address | UnsetType | None = UNSET
    status: Status | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class Organization(msgspec.Struct, rename="camel"):
    id: UUID
    parent_organization_id: UUID | None
    legal_name: str
    doing_business_as: str | None
    legal_document: str
    address: Address
    status: StatusOut
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


def present(row: Record) -> Organization:
    address = msgspec.convert(row["address"] or {}, Address)
    return Organization(
        id=row["id"],
        parent_organization_id=row["parent_organization_id"],
        legal_name=row["legal_name"],
        doing_business_as=row["doing_business_as"],
        legal_document=row["legal_document"],
        address=address,
        status=common.status_out(row),
        **crud.record_fields(row),
    )


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    common.check_texts(address)
    fields = msgspec.to_builtins(address)
    if fields and (address.country or "").upper() not in COUNTRIES:
        raise FieldErrors(
            codes.COUNTRY_INVALID,
            f"country {address.country!r} is not an ISO 3166-1 alpha-2 code.",
            errors=[FieldError("address.country", "not an ISO 3166-1 alpha-2 code", address.country)],
        )
    return fields or None


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_organization(ctx: Context, data: OrganizationCreate) -> Organization:
    common.check_texts(data)
    values = {
        "legal_name": common.require(data.legal_name, "legalName"),
        "legal_document": common.require(data.legal_document, "legalDocument"),
        "doing_business_as": data.doing_business_as,
        "parent_organization_id": data.parent_organization_id,
        "address": _address(data.address),
        **crud.entity_columns(data.metadata, data.status),
    }
    return present(await service.create(ctx, values))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_organization(ctx: Context, id: UUID) -> Organization:
    return present(await service.get(ctx, id))


def _filters(
    legal_name: str | None, doing_business_as: str | None, status: str | None, legal_document: str | None
) -> tuple[Filter, ...]:
    if status is not None and status.upper() not in ("ACTIVE", "INACTIVE"):
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "status must be ACTIVE or INACTIVE.")
    return (
        Filter("legal_name", common.search_term(legal_name, "legal_name"), Match.PREFIX),
        Filter("doing_business_as", common.search_term(doing_business_as, "doing_business_as"), Match.PREFIX),
        Filter("status_code", status.upper() if status else None),
        Filter("legal_document", common.search_term(legal_document, "legal_document")),
    )


@get("/", responses=ERROR_RESPONSES, dependencies=crud.OFFSET_LISTING)
async def list_organizations(
    ctx: Context,
    listing: ListQuery,
    legal_name: str | None = None,
    doing_business_as: str | None = None,
    status: str | None = None,
    legal_document: str | None = None,
) -> common.OffsetPage[Organization]:
    query = listing.with_filters(*_filters(legal_name, doing_business_as, status, legal_document))
    if query.metadata is not None and legal_name is not None:
        raise FieldErrors(codes.INVALID_QUERY_PARAMETER, "Filter by metadata or by name, not both.")
    rows = await service.list_(ctx, query)
    return crud.offset_page(rows, present, query)


@crud.count_route()
async def count_organizations(ctx: Context, listing: ListQuery) -> Response[None]:
    return common.count_response(await service.count(ctx, listing))


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_organization(ctx: Context, id: UUID, data: OrganizationUpdate) -> Organization:
    common.check_texts(data)
    changes: dict[str, Any] = {}
    if data.legal_name is not UNSET:
        changes["legal_name"] = common.require(data.legal_name, "legalName")
    if data.doing_business_as is not UNSET:
        changes["doing_business_as"] = data.doing_business_as
    if data.parent_organization_id is not UNSET:
        changes["parent_organization_id"] = data.parent_organization_id
    if data.address is not UNSET:
        changes["address"] = _address(data.address)
    if data.status is not UNSET:
        changes.update(common.status_columns(data.status))
    return present(await service.update(ctx, id, changes, common.metadata_patch(data.metadata)))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_organization(ctx: Context, id: UUID) -> None:
    await service.delete(ctx, id)


router = Router(
    "/v1/organizations",
    route_handlers=[
        create_organization,
        get_organization,
        list_organizations,
        count_organizations,
        update_organization,
        delete_organization,
    ],
    tags=["Organizations"],
)
