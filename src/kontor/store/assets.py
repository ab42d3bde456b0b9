"""SQL for assets (scoped by organization and ledger; name and code unique among live assets)."""

from __future__ import annotations

from kontor.store import crud
from kontor.store.db import Connection, Record

TABLE = crud.Table("assets", ("organization_id", "ledger_id"))
CODE_INDEX = "assets_code_uq"
NAME_INDEX = "assets_name_uq"


async def by_code(conn: Connection, scope: crud.Scope, code: str) -> Record | None:
    """The live asset with exactly ``code`` in the ledger, or None."""
    return await crud.get_by(conn, TABLE, scope, "code", code)
