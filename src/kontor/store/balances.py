"""SQL for the balances an account is born with and dies with.

The posting engine owns every change of a balance's amounts; this module only creates an account's
``default`` balance, reads an account's balances, and retires them with the account.
"""

from __future__ import annotations

from uuid import UUID

from kontor.store import crud
from kontor.store.db import Connection, Record

TABLE = crud.Table("balances", ("organization_id", "ledger_id"))
DEFAULT_KEY = "default"


async def insert_default(conn: Connection, account: Record, balance_id: UUID, direction: str) -> Record:
    """The ``default`` balance of ``account``: zero, allowed to send and receive, in ``direction``."""
    values = {
        "organization_id": account["organization_id"],
        "ledger_id": account["ledger_id"],
        "id": balance_id,
        "account_id": account["id"],
        "alias": account["alias"],
        "key": DEFAULT_KEY,
        "asset_code": account["asset_code"],
        "account_type": account["type"],
        "allow_sending": True,
        "allow_receiving": True,
        "direction": direction,
    }
    return await crud.insert(conn, TABLE, values)


async def of_account(conn: Connection, scope: crud.Scope, account_id: UUID, *, lock: bool = False) -> list[Record]:
    """The live balances of one account, oldest first; ``lock`` holds them (FOR UPDATE) until commit."""
    sql = (
        "SELECT * FROM balances WHERE organization_id = $1 AND ledger_id = $2 AND account_id = $3 "
        "AND deleted_at IS NULL ORDER BY id"
    )
    args = (scope["organization_id"], scope["ledger_id"], account_id)
    return list(await conn.fetch(sql + (" FOR UPDATE" if lock else ""), *args))


async def retire_of_account(conn: Connection, scope: crud.Scope, account_id: UUID) -> list[Record]:
    """Disable and soft-delete every live balance of one account; returns them as retired."""
    sql = (
        "UPDATE balances SET allow_sending = false, allow_receiving = false, deleted_at = $4, updated_at = $4 "
        "WHERE organization_id = $1 AND ledger_id = $2 AND account_id = $3 AND deleted_at IS NULL RETURNING *"
    )
    return list(await conn.fetch(sql, scope["organization_id"], scope["ledger_id"], account_id, crud.now()))
