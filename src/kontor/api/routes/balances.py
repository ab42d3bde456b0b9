""".../ledgers/{ledger_id}: /balances, /accounts/{account_id}/balances, by alias, by external code, history."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.params import Parameter

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Str100
from kontor.core import format_amount
from kontor.core.limits import PAGE_LIMIT_DEFAULT
from kontor.errors import FieldError, FieldErrors, KontorError, codes
from kontor.service import balances as service
from kontor.service.balances import BalanceAt, BalanceChanges, NewBalance, SettingsRequest
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import ListQuery

ENTITY = "Balance"
DATE_LENGTH = len("YYYY-MM-DD")

Str250 = Annotated[str, msgspec.Meta(max_length=250)]


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    balance_scope: Str100 | None = None
    allow_overdraft: bool | None = None
    overdraft_limit_enabled: bool | None = None
    overdraft_limit: Str250 | None = None


class BalanceCreate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    key: Str100
    allow_sending: bool | None = None
    allow_receiving: bool | None = None
    direction: Str100 | None = None
    settings: SettingsIn | None = None


class BalanceUpdate(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    """Only the flags and the settings change; ``direction`` and the amounts never do (0053)."""

    allow_sending: bool | None = None
    allow_receiving: bool | None = None
    settings: SettingsIn | None = None


class BalanceSettings(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    balance_scope: str | None = None
    allow_overdraft: bool
    overdraft_limit_enabled: bool
    overdraft_limit: str | None = None


class Balance(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """A balance; ``settings`` is omitted when it was never set, ``metadata`` when empty (as Midaz)."""

    id: UUID
    organization_id: UUID
    ledger_id: UUID
    account_id: UUID
    alias: str
    key: str
    asset_code: str
    available: str
    on_hold: str
    version: int
    account_type: str
    allow_sending: bool
    allow_receiving: bool
    direction: str
    overdraft_used: str
    settings: BalanceSettings | None = None
    created_at: str
    updated_at: str
    deleted_at: str | None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class BalanceHistory(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """A balance at a past instant: its identity now, its amounts then (``updatedAt``: when they last changed)."""

    id: UUID
    organization_id: UUID
    ledger_id: UUID
    account_id: UUID
    alias: str
    key: str
    asset_code: str
    available: str
    on_hold: str
    version: int
    account_type: str
    direction: str
    overdraft_used: str
    settings: BalanceSettings | None = None
    created_at: str
    updated_at: str


def _settings_out(data: dict[str, Any] | None) -> BalanceSettings | None:
    if not data:
        return None
    return BalanceSettings(
        balance_scope=data.get("balanceScope") or None,
        allow_overdraft=bool(data.get("allowOverdraft")),
        overdraft_limit_enabled=bool(data.get("overdraftLimitEnabled")),
        overdraft_limit=data.get("overdraftLimit"),
    )


def _time(value: datetime) -> str:
    return common.timestamp(value) or ""


def _identity(row: Record) -> dict[str, Any]:
    """The fields a balance answers alike now and at a past instant: whose it is, its key, its settings."""
    return {
        "id": row["id"],
        "organization_id": row["organization_id"],
        "ledger_id": row["ledger_id"],
        "account_id": row["account_id"],
        "alias": row["alias"],
        "key": row["key"],
        "asset_code": row["asset_code"],
        "account_type": row["account_type"],
        "direction": row["direction"],
        "settings": _settings_out(row["settings"]),
        "created_at": _time(row["created_at"]),
    }


def present(row: Record) -> Balance:
    return Balance(
        **_identity(row),
        available=format_amount(row["available"]),
        on_hold=format_amount(row["on_hold"]),
        version=row["version"],
        allow_sending=row["allow_sending"],
        allow_receiving=row["allow_receiving"],
        overdraft_used=format_amount(row["overdraft_used"]),
        updated_at=_time(row["updated_at"]),
        deleted_at=common.timestamp(row["deleted_at"]),
        metadata=row["metadata"] or {},
    )


def present_history(state: BalanceAt) -> BalanceHistory:
    """The balance's identity now, its amounts as ``state`` left them."""
    return BalanceHistory(
        **_identity(state.balance),
        available=format_amount(state.available),
        on_hold=format_amount(state.on_hold),
        version=state.version,
        overdraft_used=format_amount(state.overdraft_used),
        updated_at=_time(state.updated_at),
    )


def _settings(data: SettingsIn | None) -> SettingsRequest | None:
    if data is None:
        return None
    common.check_texts(data)
    return SettingsRequest(
        balance_scope=data.balance_scope,
        allow_overdraft=bool(data.allow_overdraft),
        overdraft_limit_enabled=bool(data.overdraft_limit_enabled),
        overdraft_limit=data.overdraft_limit,
    )


def _key(key: str) -> str:
    """Required, at most 100 characters (checked on decode), no whitespace (0047)."""
    key = common.require(common.check_text(key, "key"), "key")
    if any(char.isspace() for char in key):
        raise FieldErrors(
            codes.INVALID_FIELD,
            "key may not contain whitespace.",
            entity_type=ENTITY,
            errors=[FieldError("key", "whitespace", key)],
        )
    return key


def _new_balance(data: BalanceCreate) -> NewBalance:
    common.check_text(data.direction, "direction")
    return NewBalance(
        key=_key(data.key),
        allow_sending=data.allow_sending is not False,
        allow_receiving=data.allow_receiving is not False,
        direction=data.direction,
        settings=_settings(data.settings),
    )


def _instant(date: str | None) -> datetime:
    """``date`` is required (400 0142) and must name a time of day, ``YYYY-MM-DD HH:MM:SS`` (400 0131)."""
    if date is None or date.strip() == "":
        raise KontorError(codes.MISSING_QUERY_PARAMETER, "The query parameter date is required.", entity_type=ENTITY)
    if len(date.strip()) == DATE_LENGTH:
        raise KontorError(codes.INVALID_DATE_FORMAT, "date must be YYYY-MM-DD HH:MM:SS.", entity_type=ENTITY)
    return common.parse_date(date, end_of_day=False)


def _unfiltered(listing: ListQuery) -> ListQuery:
    """Balance lists take no metadata filter (Midaz ignores it)."""
    return dataclasses.replace(listing, metadata=None)


Date = Annotated[str | None, Parameter(query="date", required=False, description="YYYY-MM-DD HH:MM:SS (UTC)")]


@get("/balances", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_balances(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.CursorPageOut[Balance]:
    page = await service.list_(ctx, organization_id, ledger_id, _unfiltered(listing))
    return crud.cursor_page(page, present, listing)


@get("/balances/{balance_id:str}", responses=ERROR_RESPONSES)
async def get_balance(ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID) -> Balance:
    return present(await service.get(ctx, organization_id, ledger_id, balance_id))


@patch("/balances/{balance_id:str}", responses=ERROR_RESPONSES)
async def update_balance(
    ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID, data: BalanceUpdate
) -> Balance:
    """Change allowSending/allowReceiving and replace the settings whole; allowOverdraft adds the
    account's internal ``overdraft`` balance."""
    changes = BalanceChanges(data.allow_sending, data.allow_receiving, _settings(data.settings))
    return present(await service.update(ctx, organization_id, ledger_id, balance_id, changes))


@delete("/balances/{balance_id:str}", responses=ERROR_RESPONSES, status_code=204)
async def delete_balance(ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID) -> None:
    """Only an empty balance (available = onHold = 0) can be deleted."""
    await service.delete(ctx, organization_id, ledger_id, balance_id)


@get("/balances/{balance_id:str}/history", responses=ERROR_RESPONSES)
async def balance_history(
    ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID, date: Date = None
) -> BalanceHistory:
    """The balance as it stood at ``date``: the state its last operation at or before then left."""
    instant = _instant(date)
    return present_history(await service.at(ctx, organization_id, ledger_id, balance_id, instant))


@get("/accounts/{account_id:str}/balances", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_account_balances(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, listing: ListQuery
) -> common.CursorPageOut[Balance]:
    page = await service.list_of_account(ctx, organization_id, ledger_id, account_id, _unfiltered(listing))
    return crud.cursor_page(page, present, listing)


@post("/accounts/{account_id:str}/balances", responses=ERROR_RESPONSES, status_code=201)
async def create_balance(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, data: BalanceCreate
) -> Balance:
    """Add a balance key to an account (lower-cased; ``overdraft`` is reserved), at zero."""
    request = _new_balance(data)
    return present(await service.create(ctx, organization_id, ledger_id, account_id, request))


@get("/accounts/{account_id:str}/balances/history", responses=ERROR_RESPONSES)
async def account_balances_history(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, date: Date = None
) -> list[BalanceHistory]:
    """Every balance the account had at ``date``, each as it stood then."""
    instant = _instant(date)
    states = await service.of_account_at(ctx, organization_id, ledger_id, account_id, instant)
    return [present_history(state) for state in states]


def _all(rows: list[Record]) -> common.CursorPageOut[Balance]:
    """Midaz answers every balance of an alias at once, in a page envelope with limit 10."""
    return common.CursorPageOut([present(row) for row in rows], PAGE_LIMIT_DEFAULT)


@get("/accounts/alias/{alias:str}/balances", responses=ERROR_RESPONSES)
async def alias_balances(
    ctx: Context, organization_id: UUID, ledger_id: UUID, alias: str
) -> common.CursorPageOut[Balance]:
    common.check_text(alias, "alias")
    return _all(await service.of_alias(ctx, organization_id, ledger_id, alias))


@get("/accounts/external/{code:str}/balances", responses=ERROR_RESPONSES)
async def external_balances(
    ctx: Context, organization_id: UUID, ledger_id: UUID, code: str
) -> common.CursorPageOut[Balance]:
    common.check_text(code, "code")
    return _all(await service.of_external(ctx, organization_id, ledger_id, code))


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}",
    route_handlers=[
        list_balances,
        get_balance,
        update_balance,
        delete_balance,
        balance_history,
        list_account_balances,
        create_balance,
        account_balances_history,
        alias_balances,
        external_balances,
    ],
    tags=["Balances"],
)
