"""SQL for account types (scoped by ledger; a keyValue is unique among the ledger's live types)."""

from __future__ import annotations

from uuid import UUID

from kontor.store.crud import Table
from kontor.store.db import Connection

TABLE = Table("account_types", ("organization_id", "ledger_id"))
KEY_VALUE_INDEX = "account_types_key_value_uq"


async def key_exists(conn: Connection, organization_id: UUID, ledger_id: UUID, key_value: str) -> bool:
    """Whether a live account type of the ledger has exactly this keyValue (served by its unique index)."""
    sql = (
        "SELECT EXISTS (SELECT 1 FROM account_types WHERE organization_id = $1 AND ledger_id = $2 "
        "AND key_value = $3 AND deleted_at IS NULL)"
    )
    return bool(await conn.fetchval(sql, organization_id, ledger_id, key_value))
