"""Assets: create (with the asset's external account), read, list, update, delete.

Creating an asset also gives the ledger the asset's external account ``@external/<CODE>``, the
counterparty of every inflow and outflow; deleting the asset retires that account with it. Both
happen in the same database transaction as the asset itself. A name or code that a live asset of
the ledger already holds answers 409 0003 (the unique indexes decide, on create and on rename).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kontor.core.iso import CURRENCIES
from kontor.errors import Code, FieldError, FieldErrors, InvariantViolation, KontorError, codes
from kontor.service import accounts, journal
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.service.scoped import LedgerScoped, conflicts, ledger_scope
from kontor.store import assets as store
from kontor.store import crud
from kontor.store.db import Record

ENTITY = "Asset"
TYPES = ("crypto", "currency", "fiat", "commodity", "others")
ISO_TYPES = ("currency", "fiat")
UNIQUE = {store.CODE_INDEX: codes.ASSET_CONFLICT, store.NAME_INDEX: codes.ASSET_CONFLICT}

PREFIX = "asset"  # of its event types
RESOURCE = LedgerScoped(store.TABLE, ENTITY, codes.ASSET_NOT_FOUND, UNIQUE, event_prefix=PREFIX)

get = RESOURCE.get
list_ = RESOURCE.list_offset
count = RESOURCE.count
update = RESOURCE.update


def check_type(asset_type: str) -> str:
    """The asset type is one of crypto, currency, fiat, commodity, others: else 400 0040."""
    if asset_type not in TYPES:
        raise FieldErrors(
            codes.ASSET_TYPE_INVALID, entity_type=ENTITY, errors=[FieldError("type", "invalid type", asset_type)]
        )
    return asset_type


def check_code(code: str, asset_type: str) -> str:
    """Every character of the code is a letter (else 400 0033) in upper case (else 400 0004); a
    currency or fiat code is also an ISO 4217 code (else 400 0005)."""
    for char in code:
        if not char.isalpha():
            raise _code_error(codes.CODE_NOT_LETTERS, code)
        if not char.isupper():
            raise _code_error(codes.CODE_NOT_UPPERCASE, code)
    if asset_type in ISO_TYPES and code not in CURRENCIES:
        raise _code_error(codes.CURRENCY_CODE_INVALID, code)
    return code


def _code_error(code: Code, value: str) -> FieldErrors:
    return FieldErrors(code, entity_type=ENTITY, errors=[FieldError("code", code.message, value)])


async def create(ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any]) -> Record:
    """Create an asset (type and code checked first) and, unless it exists, its external account."""
    check_code(values["code"], check_type(values["type"]))
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        with conflicts(UNIQUE, ENTITY):
            row = await crud.insert(conn, store.TABLE, {**scope, "id": new_id(), **values})
        external = await accounts.ensure_external(conn, scope, row["code"])
        await journal.record(conn, [journal.created(PREFIX, row), *external])
        return row


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID, asset_id: UUID) -> None:
    """Soft-delete an asset together with its external account and that account's balances."""
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        asset = await crud.get(conn, store.TABLE, scope, asset_id, lock=True)
        if asset is None:
            raise KontorError(codes.ASSET_NOT_FOUND, entity_type=ENTITY)
        external = await accounts.retire_external(conn, scope, asset["code"])
        deleted_at = await crud.soft_delete(conn, store.TABLE, scope, asset_id)
        if deleted_at is None:
            raise InvariantViolation("an asset locked FOR UPDATE vanished before its delete")
        await journal.record(conn, [*external, journal.deleted(PREFIX, asset, deleted_at)])
