"""Operations read by account: the legs that touched an account's balances, newest state included.

Operations are written only by the write funnel; here they are listed and read back in the shape
the funnel answered them (``representation.operation``). As in Midaz, an account that does not
exist simply has no operations; one operation read through another account is 404 0007.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from kontor.errors import KontorError, codes
from kontor.service import representation as rep
from kontor.service.context import Context
from kontor.service.scope import require_ledger
from kontor.service.scoped import ledger_scope
from kontor.store import crud
from kontor.store import transactions as store
from kontor.store.query import CursorPage, Filter, ListQuery

ENTITY = "Operation"


async def list_of_account(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, query: ListQuery
) -> tuple[list[dict[str, Any]], CursorPage]:
    """One page of an account's operations, ordered by id (time), with the query's filters."""
    scoped = query.with_filters(Filter("account_id", account_id))
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        page = await crud.list_cursor(conn, store.OPERATIONS, ledger_scope(organization_id, ledger_id), scoped)
    return [rep.operation(row) for row in page.rows], page


async def get_of_account(
    ctx: Context, organization_id: UUID, ledger_id: UUID, account_id: UUID, operation_id: UUID
) -> dict[str, Any]:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        row = await store.get_operation(conn, organization_id, ledger_id, operation_id, account_id=account_id)
    if row is None:
        raise KontorError(codes.ENTITY_NOT_FOUND, "The operation does not exist.", entity_type=ENTITY)
    return rep.operation(row)
