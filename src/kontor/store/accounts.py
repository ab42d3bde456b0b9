"""SQL for accounts (scoped by organization and ledger; an alias is unique among live accounts).

The partial unique index compares aliases exactly (no LIKE wildcards, unlike Midaz's check) among
live rows only, so the alias of a deleted account is free again.
"""

from __future__ import annotations

from kontor.store import crud
from kontor.store.db import Connection, Record

TABLE = crud.Table("accounts", ("organization_id", "ledger_id"))
ALIAS_INDEX = "accounts_alias_uq"


async def by_alias(conn: Connection, scope: crud.Scope, alias: str) -> Record | None:
    """The live account with exactly ``alias`` in the ledger, or None."""
    return await crud.get_by(conn, TABLE, scope, "alias", alias)
