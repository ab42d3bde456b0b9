"""SQL for the exchange engine's system accounts (``@exchange:<ASSET>``, ``@rounding:<ASSET>``)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import asyncpg


async def ensure_system_account(
    conn: asyncpg.Connection,
    organization_id: UUID,
    ledger_id: UUID,
    alias: str,
    asset: str,
    account_type: str,
    direction: str,
    new_id: Callable[[], UUID],
) -> None:
    """Create the account ``alias`` with its default balance unless a live one exists."""
    account_id = new_id()
    inserted = await conn.fetchval(
        """INSERT INTO accounts (organization_id, ledger_id, id, name, asset_code, alias, type, status_code,
                                 status_description)
           VALUES ($1, $2, $3, $4, $5, $6, $7, 'ACTIVE', 'Created by the exchange engine')
           ON CONFLICT (organization_id, ledger_id, alias) WHERE deleted_at IS NULL DO NOTHING
           RETURNING id""",
        organization_id,
        ledger_id,
        account_id,
        f"{alias} ({asset})",
        asset,
        alias,
        account_type,
    )
    if inserted is None:
        return
    await conn.execute(
        """INSERT INTO balances (organization_id, ledger_id, id, account_id, alias, key, asset_code, account_type,
                                 direction)
           VALUES ($1, $2, $3, $4, $5, 'default', $6, $7, $8)""",
        organization_id,
        ledger_id,
        new_id(),
        account_id,
        alias,
        asset,
        account_type,
        direction,
    )


async def asset_row(
    conn: asyncpg.Connection, organization_id: UUID, ledger_id: UUID, code: str
) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT code, type, metadata FROM assets WHERE organization_id = $1 AND ledger_id = $2 AND code = $3
              AND deleted_at IS NULL""",
        organization_id,
        ledger_id,
        code,
    )
