"""Accounts: create (with the default balance), read, list, update, delete.

Creating an account checks, in this order, each answered with Midaz's code: the alias's characters
(400 0096), the organization and ledger (404 0038, 0037), the account type when the ledger
validates types (400 0066), the asset (404 0034), the portfolio (404 0035), the segment (404 0036),
the parent account (400 0029, then 422 0030), and last the alias's uniqueness (409 0020), which the
database's unique index decides. External accounts belong to their asset: they cannot be changed
or deleted through the accounts API (422 0074).
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from kontor.errors import FieldError, FieldErrors, InvariantViolation, KontorError, codes
from kontor.service import account_types, journal, ledger_settings
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.service.scoped import LedgerScoped, conflicts, ledger_scope
from kontor.store import accounts as store
from kontor.store import balances, crud, portfolios, segments
from kontor.store.assets import by_code as asset_by_code
from kontor.store.db import Connection, Record

ENTITY = "Account"
PREFIX = "account"  # of its event types
EXTERNAL_TYPE = "external"
EXTERNAL_ALIAS_PREFIX = "@external/"
UNIQUE = {store.ALIAS_INDEX: codes.ALIAS_IN_USE}
_ALIAS_CHARS = re.compile(r"[a-zA-Z0-9@:_-]+")

RESOURCE = LedgerScoped(store.TABLE, ENTITY, codes.ACCOUNT_NOT_FOUND, UNIQUE)

get = RESOURCE.get
list_ = RESOURCE.list_offset
count = RESOURCE.count


def check_alias(alias: str) -> str:
    """An alias uses only ``[a-zA-Z0-9@:_-]`` and never the reserved ``@external/``: else 400 0096."""
    if EXTERNAL_ALIAS_PREFIX in alias or not _ALIAS_CHARS.fullmatch(alias):
        raise FieldErrors(
            codes.ALIAS_INVALID,
            f"The alias {alias!r} may use only letters, digits and @ : _ - (and not {EXTERNAL_ALIAS_PREFIX}).",
            entity_type=ENTITY,
            errors=[FieldError("alias", "invalid characters", alias)],
        )
    return alias


async def create(ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any]) -> Record:
    """Create an account and its ``default`` balance (direction credit) in one database transaction.

    An omitted or empty alias becomes the account's id; a given one must pass ``check_alias``. An
    account with a portfolio but no entityId takes the portfolio's entityId.
    """
    alias = values.pop("alias", None)
    if alias:
        check_alias(alias)
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        ledger = await require_ledger(conn, organization_id, ledger_id)
        await _check_type(conn, ledger, values["type"])
        portfolio = await _check_references(conn, scope, values)
        if portfolio is not None and values.get("entity_id") is None:
            values = {**values, "entity_id": portfolio["entity_id"]}
        account_id = new_id()
        row = {**scope, "id": account_id, "alias": alias or str(account_id), **values}
        with conflicts(UNIQUE, ENTITY):
            account = await crud.insert(conn, store.TABLE, row)
        balance = await balances.insert_default(conn, account, new_id(), direction="credit")
        await journal.record(conn, [journal.created(PREFIX, account), journal.created("balance", balance)])
        return account


async def ensure_external(conn: Connection, scope: crud.Scope, asset_code: str) -> list[journal.Event]:
    """Give an asset its ``@external/<CODE>`` account (default balance direction debit), unless it
    exists; returns the events of what it created, for the caller to record."""
    alias = EXTERNAL_ALIAS_PREFIX + asset_code
    if await store.by_alias(conn, scope, alias) is not None:
        return []
    values = {
        **scope,
        "id": new_id(),
        "name": f"External {asset_code}",
        "asset_code": asset_code,
        "alias": alias,
        "type": EXTERNAL_TYPE,
        "status_code": "external",
        "status_description": f"Account external created by asset: {asset_code}",
    }
    with conflicts(UNIQUE, ENTITY):
        account = await crud.insert(conn, store.TABLE, values)
    balance = await balances.insert_default(conn, account, new_id(), direction="debit")
    return [journal.created(PREFIX, account), journal.created("balance", balance)]


async def retire_external(conn: Connection, scope: crud.Scope, asset_code: str) -> list[journal.Event]:
    """Soft-delete an asset's ``@external/<CODE>`` account and its balances, if it exists; returns
    the events of what it deleted, for the caller to record."""
    account = await store.by_alias(conn, scope, EXTERNAL_ALIAS_PREFIX + asset_code)
    if account is None:
        return []
    return await _retire(conn, scope, account)


async def _retire(conn: Connection, scope: crud.Scope, account: Record) -> list[journal.Event]:
    """Soft-delete an account and its balances; the events that say so (balances first)."""
    retired = await balances.retire_of_account(conn, scope, account["id"])
    deleted_at = await crud.soft_delete(conn, store.TABLE, scope, account["id"])
    if deleted_at is None:
        raise InvariantViolation("an account read in this unit of work vanished before its delete")
    events = [journal.deleted("balance", balance, balance["deleted_at"]) for balance in retired]
    return [*events, journal.deleted(PREFIX, account, deleted_at)]


async def get_by_alias(ctx: Context, organization_id: UUID, ledger_id: UUID, alias: str) -> Record:
    """The live account with exactly this alias, or 404 0085."""
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        account = await store.by_alias(conn, ledger_scope(organization_id, ledger_id), alias)
        if account is None:
            raise KontorError(codes.ALIAS_NOT_FOUND, f"No account has the alias {alias}.", entity_type=ENTITY)
        return account


async def get_external(ctx: Context, organization_id: UUID, ledger_id: UUID, asset_code: str) -> Record:
    """The external account of an asset code (alias ``@external/<code>``), or 404 0085."""
    return await get_by_alias(ctx, organization_id, ledger_id, EXTERNAL_ALIAS_PREFIX + asset_code)


async def update(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    account_id: UUID,
    changes: dict[str, Any],
    metadata: crud.MetadataPatch,
) -> Record:
    """Update the mutable fields of an account; a new portfolio or segment must exist (404 0035/0036)."""
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        current = await _require_mutable(conn, scope, account_id)
        await _require_portfolio(conn, scope, changes.get("portfolio_id"))
        await _require_segment(conn, scope, changes.get("segment_id"))
        changes = {**changes, "metadata": metadata.apply(current["metadata"])}
        account = await crud.update(conn, store.TABLE, scope, account_id, changes)
        if account is None:
            raise KontorError(codes.ACCOUNT_NOT_FOUND, entity_type=ENTITY)
        await journal.record(conn, [journal.updated(PREFIX, account)])
        return account


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID) -> None:
    """Soft-delete an account and its balances, refused (422 0012) while any balance holds funds.

    The account and its balances stay locked (FOR UPDATE) from the check to the delete, so a
    posting cannot move funds into them in between.
    """
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        account = await _require_mutable(conn, scope, account_id)
        held = await balances.of_account(conn, scope, account_id, lock=True)
        if any(b["available"] != 0 or b["on_hold"] != 0 for b in held):
            raise KontorError(codes.ACCOUNT_HAS_BALANCE, entity_type=ENTITY)
        await journal.record(conn, await _retire(conn, scope, account))


async def _require_mutable(conn: Connection, scope: crud.Scope, account_id: UUID) -> Record:
    """The live account, locked (else 404 0052), unless it is external (422 0074)."""
    account = await crud.get(conn, store.TABLE, scope, account_id, lock=True)
    if account is None:
        raise KontorError(codes.ACCOUNT_NOT_FOUND, entity_type=ENTITY)
    if account["type"] == EXTERNAL_TYPE:
        raise KontorError(codes.EXTERNAL_ACCOUNT_IMMUTABLE, entity_type=ENTITY)
    return account


async def _check_type(conn: Connection, ledger: Record, account_type: str) -> None:
    """With ``accounting.validateAccountType`` on, the type must be a registered keyValue (400 0066).

    ``external`` is exempt: it names the asset's counterparty account, not a chart-of-accounts type.
    """
    if account_type == EXTERNAL_TYPE:
        return
    if not ledger_settings.merged(ledger["settings"])["accounting"]["validateAccountType"]:
        return
    if not await account_types.key_exists(conn, ledger["organization_id"], ledger["id"], account_type):
        raise FieldErrors(
            codes.ACCOUNT_TYPE_NOT_REGISTERED,
            f"The account type {account_type!r} is not registered for this ledger.",
            entity_type=ENTITY,
            errors=[FieldError("type", "not a registered account type", account_type)],
        )


async def _check_references(conn: Connection, scope: crud.Scope, values: dict[str, Any]) -> Record | None:
    """The asset (404 0034), portfolio (404 0035), segment (404 0036) and parent account (400 0029,
    422 0030) exist, checked in this order; returns the portfolio, if any."""
    if await asset_by_code(conn, scope, values["asset_code"]) is None:
        raise KontorError(codes.ASSET_CODE_NOT_FOUND, entity_type=ENTITY)
    portfolio = await _require_portfolio(conn, scope, values.get("portfolio_id"))
    await _require_segment(conn, scope, values.get("segment_id"))
    await _check_parent(conn, scope, values.get("parent_account_id"), values["asset_code"])
    return portfolio


async def _require_portfolio(conn: Connection, scope: crud.Scope, portfolio_id: UUID | None) -> Record | None:
    if portfolio_id is None:
        return None
    portfolio = await crud.get(conn, portfolios.TABLE, scope, portfolio_id)
    if portfolio is None:
        raise KontorError(codes.PORTFOLIO_NOT_FOUND, entity_type="Portfolio")
    return portfolio


async def _require_segment(conn: Connection, scope: crud.Scope, segment_id: UUID | None) -> None:
    if segment_id is not None and not await crud.exists(conn, segments.TABLE, scope, segment_id):
        raise KontorError(codes.SEGMENT_NOT_FOUND, entity_type="Segment")


async def _check_parent(conn: Connection, scope: crud.Scope, parent_id: UUID | None, asset_code: str) -> None:
    """A parent account must exist in the ledger (400 0029) and hold the same asset (422 0030)."""
    if parent_id is None:
        return
    parent = await crud.get(conn, store.TABLE, scope, parent_id)
    if parent is None:
        raise KontorError(codes.PARENT_ACCOUNT_INVALID, entity_type=ENTITY)
    if parent["asset_code"] != asset_code:
        raise KontorError(codes.PARENT_ASSET_MISMATCH, entity_type=ENTITY)
