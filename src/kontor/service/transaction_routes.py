"""Transaction routes: the operation routes a transaction may use, named by the transaction's routeId.

Rules, checked in this order on create and on a PATCH that gives ``operationRoutes``:

1. at most ``OPERATION_ROUTES_MAX`` ids (400 0158);
2. every id names a live operation route of the ledger (404 0101);
3. at least one route can take a source leg and one a destination leg; a bidirectional route
   counts as both (422 0153, then 0154).

Repeated ids link once. The links keep the order given, and answers embed the full operation
routes in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from kontor.errors import InvariantViolation, KontorError, codes
from kontor.service import journal
from kontor.service.context import Context
from kontor.service.ids import new_id
from kontor.service.scope import require_ledger
from kontor.service.scoped import ledger_scope
from kontor.store import crud
from kontor.store import operation_routes as operation_store
from kontor.store import transaction_routes as store
from kontor.store.db import Connection, Record
from kontor.store.query import CursorPage, ListQuery

ENTITY = "TransactionRoute"
PREFIX = "transaction-route"  # of its event types
# Midaz bounds the operation routes of one transaction route at 100 (0158).
OPERATION_ROUTES_MAX = 100


@dataclass(frozen=True, slots=True)
class TransactionRoute:
    """A transaction route's row and its live operation routes, in link order."""

    row: Record
    operation_routes: list[Record]


def check_count(operation_route_ids: Sequence[UUID]) -> list[UUID]:
    """The ids without repeats, first occurrence first; more than the bound given is 400 0158."""
    if len(operation_route_ids) > OPERATION_ROUTES_MAX:
        raise KontorError(
            codes.ROUTE_TOO_MANY,
            f"A transaction route may link at most {OPERATION_ROUTES_MAX} operation routes.",
            entity_type=ENTITY,
        )
    return list(dict.fromkeys(operation_route_ids))


async def _linkable(conn: Connection, organization_id: UUID, ledger_id: UUID, ids: list[UUID]) -> list[Record]:
    """The operation routes ``ids`` (locked against deletion), or the refusal of rule 2 or 3."""
    found = {
        row["id"]: row for row in await operation_store.by_ids(conn, organization_id, ledger_id, ids, for_share=True)
    }
    missing = [str(id_) for id_ in ids if id_ not in found]
    if missing:
        raise KontorError(
            codes.OPERATION_ROUTE_NOT_FOUND,
            f"Operation route(s) not found: {', '.join(missing)}.",
            entity_type="OperationRoute",
        )
    routes = [found[id_] for id_ in ids]
    types = {row["operation_type"] for row in routes}
    if not types & {"source", "bidirectional"}:
        raise KontorError(codes.ROUTE_NO_SOURCE, entity_type=ENTITY)
    if not types & {"destination", "bidirectional"}:
        raise KontorError(codes.ROUTE_NO_DESTINATION, entity_type=ENTITY)
    return routes


async def _link(
    conn: Connection, organization_id: UUID, ledger_id: UUID, transaction_route_id: UUID, routes: list[Record]
) -> None:
    links = [(new_id(), route["id"]) for route in routes]
    await store.link(conn, organization_id, ledger_id, transaction_route_id, links)


async def create(
    ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any], operation_route_ids: Sequence[UUID]
) -> TransactionRoute:
    ids = check_count(operation_route_ids)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        routes = await _linkable(conn, organization_id, ledger_id, ids)
        row = await crud.insert(
            conn, store.TABLE, {"organization_id": organization_id, "ledger_id": ledger_id, "id": new_id(), **values}
        )
        await _link(conn, organization_id, ledger_id, row["id"], routes)
        await journal.record(conn, [journal.created(PREFIX, {**row, "operation_routes": routes})])
    return TransactionRoute(row, routes)


async def load(conn: Connection, organization_id: UUID, ledger_id: UUID, id_: UUID) -> TransactionRoute | None:
    """A live transaction route with its operation routes, or None."""
    row = await crud.get(conn, store.TABLE, ledger_scope(organization_id, ledger_id), id_)
    if row is None:
        return None
    routes = await store.operation_routes_of(conn, organization_id, ledger_id, [id_])
    return TransactionRoute(row, routes.get(id_, []))


async def get(ctx: Context, organization_id: UUID, ledger_id: UUID, id_: UUID) -> TransactionRoute:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        route = await load(conn, organization_id, ledger_id, id_)
    if route is None:
        raise KontorError(codes.TRANSACTION_ROUTE_NOT_FOUND, entity_type=ENTITY)
    return route


async def list_(
    ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery
) -> tuple[list[TransactionRoute], CursorPage]:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        page = await crud.list_cursor(conn, store.TABLE, ledger_scope(organization_id, ledger_id), query)
        ids = [row["id"] for row in page.rows]  # type: ignore[index]
        routes = await store.operation_routes_of(conn, organization_id, ledger_id, ids)
    return [TransactionRoute(row, routes.get(row["id"], [])) for row in page.rows], page  # type: ignore[arg-type,index]


async def update(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    id_: UUID,
    changes: dict[str, Any],
    operation_route_ids: Sequence[UUID] | None,
    metadata: crud.MetadataPatch,
) -> TransactionRoute:
    """Apply a PATCH; ``operation_route_ids`` (when given) replaces every link."""
    ids = check_count(operation_route_ids) if operation_route_ids is not None else None
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        current = await crud.get(conn, store.TABLE, scope, id_, lock=True)
        if current is None:
            raise KontorError(codes.TRANSACTION_ROUTE_NOT_FOUND, entity_type=ENTITY)
        if ids is not None:
            routes = await _linkable(conn, organization_id, ledger_id, ids)
            await store.unlink_all(conn, organization_id, ledger_id, id_)
            await _link(conn, organization_id, ledger_id, id_, routes)
        row = await crud.update(
            conn, store.TABLE, scope, id_, {**changes, "metadata": metadata.apply(current["metadata"])}
        )
        if row is None:
            raise InvariantViolation("a transaction route locked FOR UPDATE vanished before its update")
        linked = await store.operation_routes_of(conn, organization_id, ledger_id, [id_])
        routes = linked.get(id_, [])
        await journal.record(conn, [journal.updated(PREFIX, {**row, "operation_routes": routes})])
    return TransactionRoute(row, routes)


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID, id_: UUID) -> None:
    """Soft delete; its links go with it, so its operation routes may be deleted afterwards."""
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        deleted_at = await crud.soft_delete(conn, store.TABLE, ledger_scope(organization_id, ledger_id), id_)
        if deleted_at is None:
            raise KontorError(codes.TRANSACTION_ROUTE_NOT_FOUND, entity_type=ENTITY)
        await store.unlink_all(conn, organization_id, ledger_id, id_)
        ids = {"organization_id": organization_id, "ledger_id": ledger_id, "id": id_}
        await journal.record(conn, [journal.deleted(PREFIX, ids, deleted_at)])
