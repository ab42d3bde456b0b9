"""/v1/organizations/{organization_id}/ledgers/{ledger_id}/operation-routes (cursor list)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Router, delete, get, patch, post
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata
from kontor.service import operation_routes as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import ListQuery

Title = Annotated[str, msgspec.Meta(max_length=255)]
Description = Annotated[str, msgspec.Meta(max_length=250)]
Code = Annotated[str, msgspec.Meta(max_length=100)]
RubricCode = Annotated[str, msgspec.Meta(max_length=50)]


class RubricIn(msgspec.Struct, forbid_unknown_fields=True):
    # Optional here so that a blank or missing part answers Midaz's code (0009, or 0166).
    code: RubricCode | None = None
    description: Description | None = None


class EntryIn(msgspec.Struct, forbid_unknown_fields=True):
    debit: RubricIn | None = None
    credit: RubricIn | None = None


class EntriesIn(msgspec.Struct, forbid_unknown_fields=True):
    """One optional entry per action; an unknown action is 400 0053. On PATCH, null removes it."""

    direct: EntryIn | UnsetType | None = UNSET
    hold: EntryIn | UnsetType | None = UNSET
    commit: EntryIn | UnsetType | None = UNSET
    cancel: EntryIn | UnsetType | None = UNSET
    revert: EntryIn | UnsetType | None = UNSET
    overdraft: EntryIn | UnsetType | None = UNSET
    block: EntryIn | UnsetType | None = UNSET
    unblock: EntryIn | UnsetType | None = UNSET


class AccountRuleIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    rule_type: str | None = None
    valid_if: Any = None  # a string or a list of strings, judged by the service (0112)


class OperationRouteCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    title: Title
    operation_type: str
    description: Description | None = None
    code: Code | None = None
    account: AccountRuleIn | None = None
    accounting_entries: EntriesIn | None = None
    metadata: Metadata | None = None


class OperationRouteUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    title: Title | UnsetType | None = UNSET
    description: Description | UnsetType | None = UNSET
    code: Code | UnsetType | None = UNSET
    account: AccountRuleIn | UnsetType | None = UNSET
    accounting_entries: EntriesIn | UnsetType | None = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class RubricOut(msgspec.Struct):
    code: str
    description: str


class EntryOut(msgspec.Struct):
    """Both sides are always present; a side the route does not book is null, as in Midaz."""

    debit: RubricOut | None
    credit: RubricOut | None


class AccountRuleOut(msgspec.Struct, rename="camel"):
    rule_type: str
    valid_if: str | list[str]


class OperationRoute(msgspec.Struct, rename="camel", omit_defaults=True):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    title: str
    operation_type: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    description: str | None = None  # omitted when empty, as Midaz does
    code: str | None = None
    account: AccountRuleOut | None = None
    accounting_entries: dict[str, EntryOut] | None = None


def _rubric_out(rubric: dict[str, str] | None) -> RubricOut | None:
    return RubricOut(rubric["code"], rubric["description"]) if rubric else None


def present(row: Record) -> OperationRoute:
    rule_type = row["account_rule_type"]
    entries = row["accounting_entries"]
    return OperationRoute(
        id=row["id"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        title=row["title"],
        operation_type=row["operation_type"],
        **crud.record_fields(row),
        description=row["description"] or None,
        code=row["code"] or None,
        account=AccountRuleOut(rule_type, row["account_rule_valid_if"]) if rule_type else None,
        accounting_entries={
            action: EntryOut(_rubric_out(entries[action].get("debit")), _rubric_out(entries[action].get("credit")))
            for action in service.ACTIONS  # jsonb keeps no key order; answers keep Midaz's
            if action in entries
        }
        if entries
        else None,
    )


def _entry(entry: EntryIn) -> service.Entry:
    def rubric(value: RubricIn | None) -> service.Rubric | None:
        if value is None:
            return None
        return {"code": value.code or "", "description": value.description or ""}

    return {"debit": rubric(entry.debit), "credit": rubric(entry.credit)}


def _entries_patch(data: EntriesIn) -> dict[str, service.Entry | None]:
    """The actions given, in Midaz's order: an entry, or None for an explicit null."""
    given: dict[str, service.Entry | None] = {}
    for action in service.ACTIONS:
        value = getattr(data, action)
        if value is not UNSET:
            given[action] = _entry(value) if value is not None else None
    return given


def _account(data: AccountRuleIn | None) -> dict[str, Any] | None:
    if data is None:
        return None
    values = data.valid_if if isinstance(data.valid_if, list) else [data.valid_if]
    for value in values:
        if isinstance(value, str):
            common.check_text(value, "account.validIf")
    return service.check_account(data.rule_type, data.valid_if)


@post("/", responses=ERROR_RESPONSES, status_code=201)
async def create_operation_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, data: OperationRouteCreate
) -> OperationRoute:
    """Checks run in the order the service module documents; the first failure answers."""
    common.check_texts(data)
    values: dict[str, Any] = {
        "title": common.require(data.title, "title"),
        "description": data.description or None,
        "code": data.code or None,
        "operation_type": common.require(data.operation_type, "operationType"),
        "metadata": common.check_metadata(data.metadata),
    }
    values["operation_type"] = service.check_operation_type(values["operation_type"])
    values.update(_account(data.account) or {})
    given = _entries_patch(data.accounting_entries) if data.accounting_entries is not None else {}
    entries = {action: entry for action, entry in given.items() if entry is not None}
    service.check_entries(entries)
    values["accounting_entries"] = entries or None
    return present(await service.create(ctx, organization_id, ledger_id, values))


@get("/{operation_route_id:str}", responses=ERROR_RESPONSES)
async def get_operation_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, operation_route_id: UUID
) -> OperationRoute:
    return present(await service.get(ctx, organization_id, ledger_id, operation_route_id))


@get("/", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_operation_routes(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.CursorPageOut[OperationRoute]:
    return crud.cursor_page(await service.list_(ctx, organization_id, ledger_id, listing), present, listing)


@patch("/{operation_route_id:str}", responses=ERROR_RESPONSES)
async def update_operation_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, operation_route_id: UUID, data: OperationRouteUpdate
) -> OperationRoute:
    """``operationType`` is immutable (0053). Empty or null texts and a null account keep their value;
    ``accountingEntries`` merges per action (null removes one; a null object removes all)."""
    common.check_texts(data)
    entries_in = data.accounting_entries
    changes = crud.texts_given(title=data.title, description=data.description, code=data.code)
    account = _account(data.account) if isinstance(data.account, AccountRuleIn) else None
    changes.update(account or {})
    patch_entries = _entries_patch(entries_in) if isinstance(entries_in, EntriesIn) else None
    if patch_entries:
        service.check_entries({action: entry for action, entry in patch_entries.items() if entry is not None})
    metadata = common.metadata_patch(data.metadata)
    row = await service.update(
        ctx,
        organization_id,
        ledger_id,
        operation_route_id,
        changes,
        patch_entries,
        entries_given=entries_in is not UNSET,
        metadata=metadata,
    )
    return present(row)


@delete("/{operation_route_id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_operation_route(
    ctx: Context, organization_id: UUID, ledger_id: UUID, operation_route_id: UUID
) -> None:
    """Refused with 422 0107 while a transaction route links the operation route."""
    await service.delete(ctx, organization_id, ledger_id, operation_route_id)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/operation-routes",
    route_handlers=[
        create_operation_route,
        get_operation_route,
        list_operation_routes,
        update_operation_route,
        delete_operation_route,
    ],
    tags=["Operation routes"],
)
