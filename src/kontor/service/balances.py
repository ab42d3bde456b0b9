"""Balances: read, list, add a key to an account, change flags and settings, delete, read the past.

No function here changes a balance's amounts or version; only the write funnel does. The rules,
each answered with Midaz's code, in the order they are checked:

* create: key reserved (422 0170), direction (400 0171), settings (400 0172, internal scope too),
  then the scope (404 0038/0037), the account (404 0052), the key's uniqueness (409 0123), the
  account's default balance (404 0126) and that the account is not external (422 0124);
* update: the balance (404 0007), not internal (422 0175), settings (400 0172), a limit below the
  overdraft in use (422 0173); turning overdraft on gives the account its internal ``overdraft``
  companion balance, as Midaz does;
* delete: the balance (404 0007), not internal (422 0169), no funds (409 0093), all under a row
  lock so that a posting cannot move funds in between;
* history: a future instant (400 0140), the balance (404 0007), a balance that did not exist yet
  (404 0141).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from kontor.core import parse_amount
from kontor.core.balances import CREDIT, DEBIT, DIRECTIONS, EXTERNAL_ACCOUNT_TYPE, INTERNAL_SCOPE
from kontor.core.plan import DEFAULT_BALANCE_KEY
from kontor.errors import InvariantViolation, KontorError, codes
from kontor.events import catalog
from kontor.service import journal
from kontor.service.accounts import EXTERNAL_ALIAS_PREFIX
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.service.scoped import conflicts, ledger_scope
from kontor.store import accounts, crud
from kontor.store import balance_queries as store
from kontor.store.db import Connection, Record
from kontor.store.query import CursorPage, ListQuery

ENTITY = "Balance"
PREFIX = "balance"  # of its event types
OVERDRAFT_KEY = "overdraft"
TRANSACTIONAL_SCOPE = "transactional"
SCOPES = (TRANSACTIONAL_SCOPE, INTERNAL_SCOPE)
UNIQUE = {store.ALIAS_KEY_INDEX: codes.BALANCE_KEY_EXISTS}
# The settings Midaz gives the overdraft companion it creates.
COMPANION_SETTINGS = {"balanceScope": INTERNAL_SCOPE, "allowOverdraft": False, "overdraftLimitEnabled": False}


@dataclass(frozen=True, slots=True)
class SettingsRequest:
    """A balance's settings as a request sends them; they replace the stored settings whole."""

    balance_scope: str | None = None
    allow_overdraft: bool = False
    overdraft_limit_enabled: bool = False
    overdraft_limit: str | None = None

    def stored(self) -> dict[str, Any]:
        """The JSON kept in ``balances.settings`` (and answered): absent members stay absent."""
        data: dict[str, Any] = {}
        if self.balance_scope:
            data["balanceScope"] = self.balance_scope
        data["allowOverdraft"] = self.allow_overdraft
        data["overdraftLimitEnabled"] = self.overdraft_limit_enabled
        if self.overdraft_limit is not None:
            data["overdraftLimit"] = self.overdraft_limit
        return data


@dataclass(frozen=True, slots=True)
class NewBalance:
    key: str
    allow_sending: bool = True
    allow_receiving: bool = True
    direction: str | None = None
    settings: SettingsRequest | None = None


@dataclass(frozen=True, slots=True)
class BalanceChanges:
    """A PATCH: None leaves a field as it is."""

    allow_sending: bool | None = None
    allow_receiving: bool | None = None
    settings: SettingsRequest | None = None


@dataclass(frozen=True, slots=True)
class BalanceAt:
    """A balance as it stood at an instant: its identity now, its amounts then."""

    balance: Record
    available: Decimal
    on_hold: Decimal
    overdraft_used: Decimal
    version: int
    updated_at: datetime


def check_settings(settings: SettingsRequest) -> None:
    """Midaz's settings rules (400 0172): a known scope; a limit iff the limit is enabled, > 0."""
    if settings.balance_scope and settings.balance_scope not in SCOPES:
        raise _bad_settings(f"balanceScope must be {TRANSACTIONAL_SCOPE} or {INTERNAL_SCOPE}.")
    limit = settings.overdraft_limit
    if not settings.overdraft_limit_enabled:
        if limit is not None:
            raise _bad_settings("overdraftLimit must be absent when overdraftLimitEnabled is false.")
        return
    if limit is None or limit == "":
        raise _bad_settings("overdraftLimit is required when overdraftLimitEnabled is true.")
    if _limit_value(limit) <= 0:
        raise _bad_settings("overdraftLimit must be greater than zero.")


def _limit_value(text: str) -> Decimal:
    try:
        return parse_amount(text, "settings.overdraftLimit", entity_type=ENTITY)
    except KontorError:
        raise _bad_settings(f"overdraftLimit {text!r} is not a decimal number.") from None


def _bad_settings(detail: str) -> KontorError:
    return KontorError(codes.BALANCE_SETTINGS_INVALID, detail, entity_type=ENTITY)


def check_requested_settings(settings: SettingsRequest | None) -> None:
    """Settings a client may set: valid, and never the internal scope kontor keeps for itself."""
    if settings is None:
        return
    check_settings(settings)
    if settings.balance_scope == INTERNAL_SCOPE:
        raise _bad_settings("balanceScope internal is reserved for kontor's own balances.")


def is_internal(balance: Record) -> bool:
    settings = balance["settings"]
    return bool(settings) and settings.get("balanceScope") == INTERNAL_SCOPE


# --- reads -----------------------------------------------------------------------------------


async def get(ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID) -> Record:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await _require(conn, ledger_scope(organization_id, ledger_id), balance_id)


async def _require(conn: Connection, scope: crud.Scope, balance_id: UUID, *, lock: bool = False) -> Record:
    balance = await store.get(conn, scope, balance_id, lock=lock)
    if balance is None:
        raise KontorError(codes.ENTITY_NOT_FOUND, "The balance does not exist.", entity_type=ENTITY)
    return balance


async def list_(ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> CursorPage:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await store.list_page(conn, ledger_scope(organization_id, ledger_id), query)


async def list_of_account(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, query: ListQuery
) -> CursorPage:
    """An account's balances; an unknown account simply has none (Midaz does not check it)."""
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await store.list_page_of_account(conn, ledger_scope(organization_id, ledger_id), account_id, query)


async def of_alias(ctx: Context, organization_id: UUID, ledger_id: UUID, alias: str) -> list[Record]:
    """Every balance of the account with ``alias``; an unknown alias has none (an empty list, as Midaz)."""
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await store.of_alias(conn, ledger_scope(organization_id, ledger_id), alias)


async def of_external(ctx: Context, organization_id: UUID, ledger_id: UUID, asset_code: str) -> list[Record]:
    """Every balance of the asset's external account, ``@external/<code>``."""
    return await of_alias(ctx, organization_id, ledger_id, EXTERNAL_ALIAS_PREFIX + asset_code)


# --- changes ---------------------------------------------------------------------------------


def check_new(request: NewBalance) -> None:
    """The request's own rules, checked before any lookup: 0170, 0171, 0172."""
    if request.key.lower() == OVERDRAFT_KEY:
        raise KontorError(codes.RESERVED_BALANCE_KEY, entity_type=ENTITY)
    if request.direction is not None and request.direction not in DIRECTIONS:
        raise KontorError(
            codes.BALANCE_DIRECTION_INVALID, f"direction must be {CREDIT} or {DEBIT}.", entity_type=ENTITY
        )
    check_requested_settings(request.settings)


async def create(ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, request: NewBalance) -> Record:
    """Add the balance ``request.key`` (lower-cased) to an account, at zero.

    Alias, asset and account type are copied from the account's ``default`` balance.
    """
    check_new(request)
    key = request.key.lower()
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        # The account stays locked until commit, so a concurrent account delete (which retires
        # its balances under the same lock) cannot miss the balance added here.
        if await crud.get(conn, accounts.TABLE, scope, account_id, lock=True) is None:
            raise KontorError(codes.ACCOUNT_NOT_FOUND, entity_type="Account")
        if await store.by_account_key(conn, scope, account_id, key) is not None:
            raise KontorError(
                codes.BALANCE_KEY_EXISTS, f"The account already has the balance {key}.", entity_type=ENTITY
            )
        default = await store.by_account_key(conn, scope, account_id, DEFAULT_BALANCE_KEY)
        if default is None:
            raise KontorError(codes.DEFAULT_BALANCE_NOT_FOUND, entity_type=ENTITY)
        if default["account_type"] == EXTERNAL_ACCOUNT_TYPE:
            raise KontorError(codes.EXTERNAL_EXTRA_BALANCE, entity_type=ENTITY)
        values = {
            **_copied_from(default),
            "key": key,
            "allow_sending": request.allow_sending,
            "allow_receiving": request.allow_receiving,
            "direction": request.direction or CREDIT,
            "settings": request.settings.stored() if request.settings else None,
        }
        with conflicts(UNIQUE, ENTITY):
            balance = await store.insert(conn, values)
        await journal.record(conn, [journal.created(PREFIX, balance)])
        return balance


def _copied_from(balance: Record) -> dict[str, Any]:
    """The identity a new balance of the same account shares with ``balance``, and a fresh id."""
    columns = ("organization_id", "ledger_id", "account_id", "alias", "asset_code", "account_type")
    return {"id": new_id(), **{column: balance[column] for column in columns}}


async def update(
    ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID, changes: BalanceChanges
) -> Record:
    """Change the flags and replace the settings of a balance (locked until commit)."""
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        current = await _require(conn, scope, balance_id, lock=True)
        if is_internal(current):
            raise KontorError(codes.INTERNAL_BALANCE_UPDATE, entity_type=ENTITY)
        values: dict[str, Any] = {}
        events: list[journal.Event] = []
        if changes.settings is not None:
            _check_settings_change(current, changes.settings)
            events += await _ensure_companion(conn, scope, current, changes.settings)
            values["settings"] = changes.settings.stored()
        if changes.allow_sending is not None:
            values["allow_sending"] = changes.allow_sending
        if changes.allow_receiving is not None:
            values["allow_receiving"] = changes.allow_receiving
        updated = await store.update(conn, scope, balance_id, values)
        if updated is None:
            raise InvariantViolation("a balance locked FOR UPDATE vanished before its update")
        change = "overdraft_enabled" if events else "settings_updated" if changes.settings else "flags_updated"
        config_changed = journal.event(
            journal.chain_of(PREFIX, updated),
            "balance.config-changed",
            str(balance_id),
            catalog.config_changed(updated, change),
        )
        await journal.record(conn, [*events, config_changed])
        return updated


def _check_settings_change(current: Record, settings: SettingsRequest) -> None:
    check_requested_settings(settings)
    used, limit = current["overdraft_used"], settings.overdraft_limit
    if used > 0 and settings.overdraft_limit_enabled and limit is not None and _limit_value(limit) < used:
        raise KontorError(codes.OVERDRAFT_LIMIT_BELOW_USAGE, entity_type=ENTITY)


async def _ensure_companion(
    conn: Connection, scope: crud.Scope, current: Record, settings: SettingsRequest
) -> list[journal.Event]:
    """Turning overdraft on gives the account its ``overdraft`` balance (debit, internal scope),
    once; returns the event of the balance it created, if any."""
    was_on = bool(current["settings"]) and bool(current["settings"].get("allowOverdraft"))
    if not settings.allow_overdraft or was_on:
        return []
    if await store.by_account_key(conn, scope, current["account_id"], OVERDRAFT_KEY) is not None:
        return []
    values = {
        **_copied_from(current),
        "key": OVERDRAFT_KEY,
        "allow_sending": True,
        "allow_receiving": True,
        "direction": DEBIT,
        "settings": COMPANION_SETTINGS,
    }
    with conflicts(UNIQUE, ENTITY):
        companion = await store.insert(conn, values)
    return [journal.created(PREFIX, companion)]


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID) -> None:
    """Soft-delete an empty balance; the row stays locked from the check to the delete."""
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        balance = await _require(conn, scope, balance_id, lock=True)
        if is_internal(balance):
            raise KontorError(codes.INTERNAL_BALANCE_DELETE, entity_type=ENTITY)
        if balance["available"] != 0 or balance["on_hold"] != 0:
            raise KontorError(codes.BALANCE_HAS_FUNDS, entity_type=ENTITY)
        deleted_at = await store.soft_delete(conn, scope, balance_id)
        if deleted_at is None:
            raise InvariantViolation("a balance locked FOR UPDATE vanished before its delete")
        await journal.record(conn, [journal.deleted(PREFIX, balance, deleted_at)])


# --- history ---------------------------------------------------------------------------------


def check_not_future(at: datetime, now: datetime | None = None) -> None:
    if at > (now or datetime.now(UTC)):
        raise KontorError(codes.FUTURE_TIMESTAMP, "date may not be in the future.", entity_type=ENTITY)


async def at(ctx: Context, organization_id: UUID, ledger_id: UUID, balance_id: UUID, instant: datetime) -> BalanceAt:
    """The balance as its last operation at or before ``instant`` left it (zero before any)."""
    check_not_future(instant)
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        balance = await _require(conn, scope, balance_id)
        last = await store.last_operation_at(conn, scope, balance_id, instant)
    if last is not None:
        return BalanceAt(
            balance,
            last["available_after"],
            last["on_hold_after"],
            last["overdraft_after"],
            last["version_after"],
            last["created_at"],
        )
    if balance["created_at"] > instant:
        raise KontorError(codes.NO_BALANCE_AT_TIMESTAMP, entity_type=ENTITY)
    zero = Decimal(0)
    return BalanceAt(balance, zero, zero, zero, 0, balance["created_at"])


async def of_account_at(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, instant: datetime
) -> list[BalanceAt]:
    """Every balance the account had at ``instant``, as it stood then; none at all is 404 0141."""
    check_not_future(instant)
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        rows = await store.of_account_at(conn, ledger_scope(organization_id, ledger_id), account_id, instant)
    if not rows:
        raise KontorError(codes.NO_BALANCE_AT_TIMESTAMP, entity_type=ENTITY)
    return [
        BalanceAt(
            row,
            row["at_available"],
            row["at_on_hold"],
            row["at_overdraft_used"],
            row["at_version"],
            row["at_updated_at"],
        )
        for row in rows
    ]
