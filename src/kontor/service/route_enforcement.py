"""Route enforcement: with the ledger setting ``accounting.validateRoutes`` on, every transaction
action follows the transaction route it names.

It runs before a command reaches the write funnel, on a read connection, and judges the legs as
the client gave them (legs the engine adds itself, such as exchange legs, are not judged). Checks
run in this order, and the first failure answers:

1. the transaction names a route, ``routeId`` or the legacy ``route`` (422 0114), as a UUID
   (400 0115), of a live transaction route of the ledger (404 0105);
2. the action's routes are the linked operation routes with an accounting entry for the action
   (create, annotation, block and unblock: ``direct``; pending: ``hold``, whose destination legs
   are judged against the ``commit`` destination routes; commit: ``commit``; cancel: ``cancel``,
   judging source legs only; revert: ``revert``); none is 422 0157;
3. every leg judged names one of those routes in its ``routeId`` (422 0117);
4. the distinct routes the legs use are exactly the action's routes (422 0116; not on cancel);
5. a source leg uses a source or bidirectional route, a destination leg a destination or
   bidirectional one (422 0152);
6. a bidirectional route used on both sides moves money both ways: one of its source legs and
   one of its destination legs have a non-zero amount (422 0151; not on cancel);
7. each leg meets its route's account rule: its alias equals ``validIf`` (422 0118), its balance's
   account type is in ``validIf`` (422 0119).

Revert, whatever the setting (as Midaz does): once the funnel's own revert checks (0087, 0088,
0099, 0089) would pass, every operation whose ``routeId`` names a live operation route must name a
bidirectional one (422 0150). Then, with the setting on, the reversal is judged as above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from kontor.core import Action, ResolvedTransaction, Side
from kontor.errors import KontorError, codes, invariant
from kontor.service import ledger_settings
from kontor.service import transaction_routes as routes_service
from kontor.service.context import Context
from kontor.service.posting import Kind
from kontor.store import operation_routes as operation_store
from kontor.store import transaction_routes as store
from kontor.store import transactions as transaction_store
from kontor.store.db import Connection, Record

ENTITY = "TransactionRoute"
_ACTIONS = {
    Action.CREATE: "direct",
    Action.ANNOTATE: "direct",
    Action.BLOCK: "direct",
    Action.UNBLOCK: "direct",
    Action.PENDING: "hold",
    Action.COMMIT: "commit",
    Action.CANCEL: "cancel",
}
_SIDE_TYPES = {Side.SOURCE: ("source", "bidirectional"), Side.DESTINATION: ("destination", "bidirectional")}
AccountTypes = Mapping[tuple[str, str], str]


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg as enforcement sees it: its side, balance, operation route and amount."""

    side: Side
    alias: str
    balance_key: str
    route_id: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Posting:
    """What one action posts: the route the transaction names, the action's entry name, the legs."""

    route_id: str | None
    route: str | None
    action: str
    legs: tuple[Leg, ...]


def posting_of(resolved: ResolvedTransaction, action: Action) -> Posting:
    invariant(action in _ACTIONS, f"route enforcement knows the action {action}")
    legs = tuple(Leg(leg.side, leg.alias, leg.balance_key, leg.intent.route_id, leg.amount) for leg in resolved.legs)
    return Posting(resolved.intent.route_id, resolved.intent.route, _ACTIONS[action], legs)


# --- entry points ------------------------------------------------------------------------------


def enabled(settings: dict[str, Any]) -> bool:
    """Whether a ledger's (merged) settings ask for route validation."""
    return bool(settings["accounting"]["validateRoutes"])


async def check_create(
    ctx: Context, organization_id: UUID, ledger_id: UUID, resolved: ResolvedTransaction, action: Action
) -> frozenset[str]:
    """Judge a new transaction (json, inflow, outflow, annotation, block, unblock, pending).

    The caller has seen the ledger's settings ask for it (``enabled``). Returns the ids of the
    routes it uses that have no ``overdraft`` entry: a leg on one of them may not draw an overdraft
    (422 ``0492``), which only the posting itself can tell.
    """
    async with ctx.db.connection() as conn:
        return await _enforce(conn, organization_id, ledger_id, posting_of(resolved, action), {})


async def check_batch(
    ctx: Context, organization_id: UUID, ledger_id: UUID, plans: Sequence[tuple[ResolvedTransaction, Action] | None]
) -> list[KontorError | frozenset[str] | None]:
    """Judge each planned transaction of a batch (None: nothing to judge): its refusal, or (as for
    ``check_create``) the ids of its routes without an overdraft entry.

    The caller has seen the ledger's settings ask for it (``enabled``).
    """
    judged: list[KontorError | frozenset[str] | None] = [None] * len(plans)
    async with ctx.db.connection() as conn:
        cache: dict[UUID, routes_service.TransactionRoute | None] = {}
        for index, plan in enumerate(plans):
            if plan is None:
                continue
            try:
                judged[index] = await _enforce(conn, organization_id, ledger_id, posting_of(*plan), cache)
            except KontorError as refusal:
                judged[index] = refusal
    return judged


async def check_settle(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, kind: Kind) -> None:
    """Judge a commit, cancel or revert of a stored transaction.

    The caller asks for a commit or cancel only when the ledger's settings say so (``enabled``),
    and for every revert, whose 0150 rule holds whatever the setting. A transaction the funnel
    will refuse anyway (missing, wrong status, already reverted) is left to the funnel, so that
    its codes keep their precedence over the route codes.
    """
    async with ctx.db.connection() as conn:
        row = await transaction_store.get(conn, organization_id, ledger_id, transaction_id)
        if row is None:
            return
        if kind is Kind.REVERT:
            await _check_revert(conn, organization_id, ledger_id, row)
            return
        if row["status"] != "PENDING":
            return
        legs = tuple(_stored_leg(leg) for leg in row["legs"])
        action = "commit" if kind is Kind.COMMIT else "cancel"
        posting = Posting(_text(row["route_id"]), row["route"], action, legs)
        await _enforce(conn, organization_id, ledger_id, posting, {})


async def _check_revert(conn: Connection, organization_id: UUID, ledger_id: UUID, row: Record) -> None:
    if row["parent_transaction_id"] is not None or row["status"] != "APPROVED":
        return
    if await store.has_reversal(conn, organization_id, ledger_id, row["id"]):
        return
    operations = (await transaction_store.operations_of(conn, organization_id, ledger_id, [row["id"]])).get(
        row["id"], []
    )
    legs = _reversal_legs(operations)
    if not legs:
        return
    route_ids = sorted({op["route_id"] for op in operations if op["route_id"] is not None})
    for route in await operation_store.by_ids(conn, organization_id, ledger_id, route_ids):
        if route["operation_type"] != "bidirectional":
            raise KontorError(
                codes.REVERT_NON_BIDIRECTIONAL,
                f"Operation route {route['id']} is {route['operation_type']}; a revert needs bidirectional routes.",
                entity_type="Transaction",
            )
    if await _validates_routes(conn, organization_id, ledger_id):
        posting = Posting(_text(row["route_id"]), row["route"], "revert", legs)
        await _enforce(conn, organization_id, ledger_id, posting, {})


# --- reading what a judgement needs ------------------------------------------------------------


async def _validates_routes(conn: Connection, organization_id: UUID, ledger_id: UUID) -> bool:
    stored = await store.ledger_settings(conn, organization_id, ledger_id)
    return bool(ledger_settings.merged(stored)["accounting"]["validateRoutes"])


async def _enforce(
    conn: Connection,
    organization_id: UUID,
    ledger_id: UUID,
    posting: Posting,
    cache: dict[UUID, routes_service.TransactionRoute | None],
) -> frozenset[str]:
    """Rules 1 to 7: read the transaction route (once per batch) and the balances' account types.

    Returns the ids of the transaction route's operation routes that have no ``overdraft`` entry."""
    route_id = transaction_route_id(posting.route_id, posting.route)
    if route_id not in cache:
        cache[route_id] = await routes_service.load(conn, organization_id, ledger_id, route_id)
    transaction_route = cache[route_id]
    if transaction_route is None:
        raise KontorError(codes.TRANSACTION_ROUTE_NOT_FOUND, entity_type=ENTITY)
    routes = action_routes(transaction_route.operation_routes, posting.action)
    legs = judged_legs(posting)
    check_legs(legs, routes, source_only=posting.action == "cancel")
    refs = sorted(
        {(leg.alias, leg.balance_key) for leg in legs if _route_of(leg, routes)["account_rule_type"] == "account_type"}
    )
    types = await store.account_types(conn, organization_id, ledger_id, refs) if refs else {}
    check_account_rules(legs, routes, types)
    return frozenset(
        str(route["id"])
        for route in transaction_route.operation_routes
        if "overdraft" not in (route["accounting_entries"] or {})
    )


# --- the rules (pure) --------------------------------------------------------------------------


def transaction_route_id(route_id: str | None, route: str | None) -> UUID:
    """Rule 1's first two parts: ``routeId``, else the legacy ``route``, as a UUID."""
    text = route_id or route or ""
    if not text:
        raise KontorError(codes.TRANSACTION_ROUTE_MISSING, entity_type=ENTITY)
    parsed = _uuid(text)
    if parsed is None:
        raise KontorError(
            codes.ROUTE_ID_INVALID, f"The transaction route {text[:64]!r} is not a UUID.", entity_type=ENTITY
        )
    return parsed


def action_routes(operation_routes: Sequence[Record], action: str) -> dict[UUID, Record]:
    """Rule 2: the operation routes taking part in ``action``, by id; none is 422 0157."""
    routes = _with_entry(operation_routes, action)
    if not routes:
        raise KontorError(
            codes.ROUTE_NONE_FOR_ACTION,
            f"No operation route of the transaction route covers {action}.",
            entity_type=ENTITY,
        )
    if action == "hold":
        # A pending transaction's destinations only move at commit: they answer to commit's routes.
        routes.update(
            (id_, route)
            for id_, route in _with_entry(operation_routes, "commit").items()
            if route["operation_type"] == "destination"
        )
    return routes


def judged_legs(posting: Posting) -> tuple[Leg, ...]:
    """The legs an action judges: a cancel only releases its sources."""
    if posting.action == "cancel":
        return tuple(leg for leg in posting.legs if leg.side is Side.SOURCE)
    return posting.legs


def check_legs(legs: Sequence[Leg], routes: Mapping[UUID, Record], *, source_only: bool) -> None:
    """Rules 3 to 6."""
    for leg in legs:
        if _uuid(leg.route_id) not in routes:
            raise KontorError(
                codes.LEG_ROUTE_NOT_FOUND,
                f"The {leg.side.value} leg {leg.alias}#{leg.balance_key} has no routeId of the transaction route "
                f"for this action (got {leg.route_id or 'none'}).",
                entity_type="OperationRoute",
            )
    used = {_uuid(leg.route_id) for leg in legs}
    if not source_only and used != set(routes):
        raise KontorError(
            codes.ROUTE_COUNT_MISMATCH,
            f"The legs use {len(used)} of the {len(routes)} operation routes configured for this action.",
            entity_type=ENTITY,
        )
    for leg in legs:
        route = _route_of(leg, routes)
        if route["operation_type"] not in _SIDE_TYPES[leg.side]:
            raise KontorError(
                codes.ROUTE_DIRECTION_MISMATCH,
                f"The {leg.side.value} leg {leg.alias} uses the {route['operation_type']} route {route['id']}.",
                entity_type="OperationRoute",
            )
    if not source_only:
        _check_counterparts(legs, routes)


def _check_counterparts(legs: Sequence[Leg], routes: Mapping[UUID, Record]) -> None:
    moves: dict[UUID, dict[Side, bool]] = {}
    for leg in legs:
        route_id = _uuid(leg.route_id)
        if route_id is not None and routes[route_id]["operation_type"] == "bidirectional":
            sides = moves.setdefault(route_id, {})
            sides[leg.side] = sides.get(leg.side, False) or leg.amount > 0
    for route_id, sides in moves.items():
        if len(sides) == 2 and not all(sides.values()):
            raise KontorError(
                codes.ROUTE_MISSING_COUNTERPART,
                f"The bidirectional route {route_id} needs a debit and a credit counterpart.",
                entity_type="OperationRoute",
            )


def check_account_rules(legs: Sequence[Leg], routes: Mapping[UUID, Record], types: AccountTypes) -> None:
    """Rule 7. A leg whose balance does not exist is left to the engine (422 0019)."""
    for leg in legs:
        route = _route_of(leg, routes)
        rule_type, valid_if = route["account_rule_type"], route["account_rule_valid_if"]
        if rule_type == "alias" and leg.alias != valid_if:
            raise KontorError(
                codes.ROUTE_ALIAS_MISMATCH,
                f"The leg account {leg.alias} does not match the route's account {valid_if}.",
                entity_type="AccountRule",
            )
        account_type = types.get((leg.alias, leg.balance_key))
        if rule_type == "account_type" and account_type is not None and account_type not in valid_if:
            raise KontorError(
                codes.ROUTE_ACCOUNT_TYPE_MISMATCH,
                f"The account type {account_type} of {leg.alias} is not one of {', '.join(valid_if)}.",
                entity_type="AccountRule",
            )


def _with_entry(operation_routes: Sequence[Record], action: str) -> dict[UUID, Record]:
    return {route["id"]: route for route in operation_routes if (route["accounting_entries"] or {}).get(action)}


def _route_of(leg: Leg, routes: Mapping[UUID, Record]) -> Record:
    """The route of a leg that passed rule 3."""
    route_id = _uuid(leg.route_id)
    invariant(route_id in routes, "a judged leg names one of the action's routes")
    return routes[route_id]  # type: ignore[index]


# --- legs of stored transactions ---------------------------------------------------------------


def _stored_leg(data: Mapping[str, Any]) -> Leg:
    return Leg(Side(data["side"]), data["alias"], data["key"], data.get("routeId"), Decimal(data["amount"]))


def _reversal_legs(operations: Sequence[Record]) -> tuple[Leg, ...]:
    """The reversal's legs, as the funnel builds them: credits become sources, debits destinations."""
    legs = [
        Leg(
            Side.SOURCE if op["direction"] == "credit" else Side.DESTINATION,
            op["account_alias"],
            op["balance_key"],
            _text(op["route_id"]),
            op["amount"],
        )
        for op in operations
        if op["type"] in ("DEBIT", "CREDIT", "BLOCK", "UNBLOCK")
    ]
    return tuple(sorted(legs, key=lambda leg: leg.side is Side.DESTINATION))


def _uuid(text: str | None) -> UUID | None:
    if not text:
        return None
    try:
        return UUID(text)
    except ValueError:
        return None


def _text(value: UUID | None) -> str | None:
    return str(value) if value is not None else None
