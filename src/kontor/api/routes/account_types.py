"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/account-types (cursor list, no count)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata, Str100
from kontor.errors import FieldError, FieldErrors, codes
from kontor.service import account_types as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import Filter, ListQuery

Str500 = Annotated[str, msgspec.Meta(max_length=500)]
KeyValue = Annotated[str, msgspec.Meta(max_length=50)]
_KEY_VALUE_CHARS = re.compile(r"[a-zA-Z0-9_-]+")


class AccountTypeCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str100
    key_value: KeyValue
    description: Str500 | None = None
    metadata: Metadata | None = None


class AccountTypeUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: Str100 | UnsetType = UNSET
    description: Str500 | UnsetType | None = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class AccountType(msgspec.Struct, rename="camel", omit_defaults=True):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    key_value: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    description: str | None = None  # omitted when empty, as Midaz does


def present(row: Record) -> AccountType:
    return AccountType(
        id=row["id"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        name=row["name"],
        key_value=row["key_value"],
        **crud.record_fields(row),
        description=row["description"],
    )


def check_key_value(key_value: str) -> str:
    """A keyValue uses only letters, digits, ``_`` and ``-``: else 400 0120."""
    if not _KEY_VALUE_CHARS.fullmatch(key_value):
        raise FieldErrors(
            codes.KEY_VALUE_INVALID,
            f"keyValue {key_value!r} may use only letters, digits, _ and -.",
            entity_type="AccountType",
            errors=[FieldError("keyValue", "invalid characters", key_value)],
        )
    return key_value


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_account_type(
    ctx: Context, organization_id: UUID, ledger_id: UUID, data: AccountTypeCreate
) -> AccountType:
    common.check_texts(data)
    values = {
        "name": common.require(data.name, "name"),
        "key_value": check_key_value(common.require(data.key_value, "keyValue")),
        "description": data.description or None,
        "metadata": common.check_metadata(data.metadata),
    }
    return present(await service.create(ctx, organization_id, ledger_id, values))


@get("/{id:str}", responses=ERROR_RESPONSES)
async def get_account_type(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> AccountType:
    return present(await service.get(ctx, organization_id, ledger_id, id))


@get("/", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_account_types(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery, key_value: str | None = None
) -> common.CursorPageOut[AccountType]:
    query = listing.with_filters(Filter("key_value", common.search_term(key_value, "key_value")))
    return crud.cursor_page(await service.list_(ctx, organization_id, ledger_id, query), present, query)


@patch("/{id:str}", responses=ERROR_RESPONSES)
async def update_account_type(
    ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID, data: AccountTypeUpdate
) -> AccountType:
    common.check_texts(data)
    changes = crud.named_changes(data.name, description=crud.blank_as_null(data.description))
    metadata = common.metadata_patch(data.metadata)
    return present(await service.update(ctx, organization_id, ledger_id, id, changes, metadata))


@delete("/{id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_account_type(ctx: Context, organization_id: UUID, ledger_id: UUID, id: UUID) -> None:
    await service.delete(ctx, organization_id, ledger_id, id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/account-types",
    route_handlers=[
        create_account_type,
        get_account_type,
        list_account_types,
        update_account_type,
        delete_account_type,
    ],
    tags=["Account types"],
)
