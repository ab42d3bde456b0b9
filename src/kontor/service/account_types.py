"""Account types: a keyValue is unique among a ledger's live types (409 0108) and never changes."""

from __future__ import annotations

from uuid import UUID

from kontor.errors import codes
from kontor.service.scoped import LedgerScoped
from kontor.store import account_types as store
from kontor.store.db import Connection

RESOURCE = LedgerScoped(
    store.TABLE,
    "AccountType",
    codes.ACCOUNT_TYPE_NOT_FOUND,
    {store.KEY_VALUE_INDEX: codes.DUPLICATE_KEY_VALUE},
    event_prefix="account-type",
)

create = RESOURCE.create
get = RESOURCE.get
require = RESOURCE.require
list_ = RESOURCE.list_cursor
update = RESOURCE.update
delete = RESOURCE.delete


async def key_exists(conn: Connection, organization_id: UUID, ledger_id: UUID, key_value: str) -> bool:
    """Whether the ledger has a live account type with this exact keyValue.

    The rule it serves: with ``accounting.validateAccountType`` on, an account's ``type`` must be a
    registered keyValue (else 400 0066). The caller checks the ledger's scope first.
    """
    return await store.key_exists(conn, organization_id, ledger_id, key_value)
