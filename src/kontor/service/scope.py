"""The scope every ledger-level route checks first: the organization, then the ledger inside it."""

from __future__ import annotations

from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service import organizations
from kontor.store import crud, ledgers
from kontor.store.db import Connection, Record


async def require_ledger(conn: Connection, organization_id: UUID, ledger_id: UUID) -> Record:
    """The live ledger ``ledger_id`` of the live organization ``organization_id``.

    Raises 404 0038 when the organization does not exist, then 404 0037 when the ledger does not
    exist in it (a ledger of another organization counts as missing).
    """
    await organizations.require(conn, organization_id)
    row = await crud.get(conn, ledgers.TABLE, {"organization_id": organization_id}, ledger_id)
    if row is None:
        raise KontorError(codes.LEDGER_NOT_FOUND, entity_type="Ledger")
    return row
