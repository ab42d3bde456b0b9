"""One batch of money changes, applied in one database transaction.

``run_batch`` is the body of the write funnel: it replays idempotent repeats, locks what the batch
touches in the global lock order, applies each command with the pure core against the batch's
balance states (a rejected command is answered with its error and changes nothing), then writes
the money changes in one statement, which locks the journal heads last, and the journal rows and
idempotency records in a second one, and answers each command. A large batch writes its money
changes in chunks, each sent while the next is applied (``_apply_and_write``).
"""

from __future__ import annotations

import asyncio
import hashlib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from kontor.core import (
    Action,
    BalanceSettings,
    BalanceState,
    LegIntent,
    OperationDraft,
    ResolvedLeg,
    ResolvedTransaction,
    Side,
    TransactionIntent,
    apply,
)
from kontor.core.balances import OVERDRAFT_KEY
from kontor.core.journal import canonical_payload
from kontor.errors import KontorError, codes, invariant
from kontor.events import catalog
from kontor.service import journal
from kontor.service import representation as rep
from kontor.service.ids import new_id_text
from kontor.store import posting as sql
from kontor.store.db import Connection, Record

LedgerKey = tuple[UUID, UUID]
BalanceKey = tuple[str, str]


class Kind(Enum):
    CREATE = "create"
    COMMIT = "commit"
    CANCEL = "cancel"
    REVERT = "revert"


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    request_hash: str
    ttl_s: int


@dataclass(slots=True)
class Command:
    """One change to money, validated and resolved outside the funnel."""

    kind: Kind
    organization_id: UUID
    ledger_id: UUID
    resolved: ResolvedTransaction | None = None
    action: Action = Action.CREATE
    target_id: UUID | None = None
    idempotency: Idempotency | None = None
    transaction_date: datetime | None = None
    # Route ids whose legs may not draw an overdraft (the route has no overdraft entry): 0492.
    routes_without_overdraft: frozenset[str] = frozenset()

    @property
    def ledger(self) -> LedgerKey:
        return (self.organization_id, self.ledger_id)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A command's answer: the transaction's JSON text, and whether it replays an earlier answer."""

    body: str
    replayed: bool


Result = Outcome | KontorError


@dataclass(slots=True)
class _Writes:
    transactions: list[tuple[Any, ...]] = field(default_factory=list)
    operations: list[tuple[Any, ...]] = field(default_factory=list)
    statuses: list[tuple[UUID, UUID, UUID, str, datetime]] = field(default_factory=list)
    idempotency: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[journal.Event] = field(default_factory=list)
    # Each touched balance's last state, as its row of ``sql.BALANCE_COLUMNS``.
    touched: dict[tuple[UUID, UUID, str], tuple[Any, ...]] = field(default_factory=dict)


def idempotency_lock_id(organization_id: UUID, ledger_id: UUID, key: str) -> int:
    """A 64-bit advisory lock id for one idempotency key."""
    digest = hashlib.blake2b(f"{organization_id}/{ledger_id}/{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def opening(commands: Sequence[Command], *, cached_reads: bool = False) -> str:
    """What a batch's database transaction runs first: the advisory locks of its idempotency keys
    (SQL without parameters, which the funnel sends together with BEGIN). ``cached_reads``: the
    reads may run cached plans (``store.posting.plans_cacheable``); a batch of creates then switches
    the whole transaction to them here, so that neither the idempotency read nor the balance lock
    is planned per call (a batch that commits, cancels or reverts also reads its targets, which
    keep their plans per call)."""
    keys = _keys(commands)
    parts = [sql.CACHED_PLANS] if cached_reads and all(c.kind is Kind.CREATE for c in commands) else []
    if keys:
        parts.append(sql.lock_idempotency_keys_sql(sorted({idempotency_lock_id(*k) for k in keys})))
    return "; ".join(parts)


def _keys(commands: Sequence[Command]) -> list[tuple[UUID, UUID, str]]:
    return [(c.organization_id, c.ledger_id, c.idempotency.key) for c in commands if c.idempotency is not None]


async def run_batch(
    conn: Connection,
    commands: Sequence[Command],
    now: datetime,
    *,
    opened: bool = False,
    cached_plans: bool = False,
    cached_reads: bool = False,
) -> list[Result]:
    """Apply ``commands`` in order inside the caller's database transaction; one result each.
    ``opened``: the transaction has already run ``opening(commands, cached_reads=cached_reads)``.
    ``cached_plans``: the writes may run cached plans, ``cached_reads``: the reads too
    (``store.posting.plans_cacheable``)."""
    results: list[Any] = [None] * len(commands)  # a Result, a _Duplicate, or None until answered
    if not opened and (first := opening(commands, cached_reads=cached_reads)):
        await conn.execute(first)
    await _replay_idempotent(conn, commands, results, now)
    targets = await _load_targets(conn, commands, results)
    plans = _plan(commands, results, targets)
    states = await _lock_balances(conn, commands, plans, cached_plans)
    writes = _Writes()
    heads = await _apply_and_write(conn, commands, plans, states, targets, writes, results, now)
    await _write_journal(conn, writes, heads, now)
    invariant(all(r is not None for r in results), "every command of a batch is answered")
    return resolve_duplicates(results)


# --- idempotency -----------------------------------------------------------------------------


async def _replay_idempotent(conn: Connection, commands: Sequence[Command], results: list[Any], now: datetime) -> None:
    keyed = [i for i, c in enumerate(commands) if c.idempotency is not None]
    if not keyed:
        return
    keys = _keys(commands)  # in the order of ``keyed``
    stored = await sql.read_idempotency_keys(conn, keys, now)
    first_in_batch: dict[tuple[UUID, UUID, str], int] = {}
    for i, key in zip(keyed, keys, strict=True):
        if key in stored:
            results[i] = Outcome(stored[key]["response"], replayed=True)
        elif key in first_in_batch:
            results[i] = _Duplicate(first_in_batch[key])
        else:
            first_in_batch[key] = i


@dataclass(frozen=True, slots=True)
class _Duplicate:
    """A command repeating an earlier command of the same batch: it gets that command's answer."""

    of: int


def resolve_duplicates(results: list[Any]) -> list[Result]:
    """Fill each in-batch duplicate with the answer of the command it repeats."""
    out: list[Result] = []
    for result in results:
        if isinstance(result, _Duplicate):
            original = results[result.of]
            out.append(Outcome(original.body, replayed=True) if isinstance(original, Outcome) else original)
        else:
            out.append(result)
    return out


# --- targets of commit, cancel and revert ------------------------------------------------------


@dataclass(slots=True)
class _Target:
    row: Record
    operations: list[Any]  # stored Records, plus the rows this batch added (same keys)
    has_reversal: bool
    status: str  # the status as this batch has left it


async def _load_targets(
    conn: Connection, commands: Sequence[Command], results: list[Result | None]
) -> dict[tuple[UUID, UUID, UUID], _Target]:
    refs = sorted(
        {
            (c.organization_id, c.ledger_id, c.target_id)
            for i, c in enumerate(commands)
            if c.kind is not Kind.CREATE and c.target_id is not None and results[i] is None
        }
    )
    if not refs:
        return {}
    rows = await sql.lock_transactions(conn, refs)
    reverted = await sql.reversals_of(conn, refs)
    operations: dict[UUID, list[Record]] = {}
    for op in await sql.operations_of(conn, refs):
        operations.setdefault(op["transaction_id"], []).append(op)
    return {
        (r["organization_id"], r["ledger_id"], r["id"]): _Target(
            r, operations.get(r["id"], []), (r["organization_id"], r["ledger_id"], r["id"]) in reverted, r["status"]
        )
        for r in rows
    }


# --- planning: what each command will post ---------------------------------------------------


def _plan(
    commands: Sequence[Command], results: list[Result | None], targets: dict[tuple[UUID, UUID, UUID], _Target]
) -> dict[int, ResolvedTransaction]:
    """The resolved transaction each remaining command posts; refusals are answered here."""
    plans: dict[int, ResolvedTransaction] = {}
    for i, command in enumerate(commands):
        if results[i] is not None:
            continue
        if command.kind is Kind.CREATE:
            invariant(command.resolved is not None, "a create carries its resolved transaction")
            plans[i] = command.resolved  # type: ignore[assignment]
            continue
        target = targets.get((command.organization_id, command.ledger_id, command.target_id))  # type: ignore[arg-type]
        if target is None:
            results[i] = KontorError(
                codes.ENTITY_NOT_FOUND, "The transaction does not exist.", entity_type="Transaction"
            )
            continue
        # What the command posts, for the balance lock: a revert runs the operations back, a commit or
        # cancel the pending legs (a transaction in another status has none stored, and is refused).
        plans[i] = reversal_of(target) if command.kind is Kind.REVERT else _stored_plan(target)
    return plans


def _stored_plan(target: _Target) -> ResolvedTransaction:
    """A stored transaction's legs as a resolved transaction (for commit and cancel; a transaction
    stored in another status than PENDING has no legs, and gives none)."""
    row = target.row
    legs = tuple(_stored_leg(leg) for leg in row["legs"] or ())
    sources = tuple(leg.intent for leg in legs if leg.side is Side.SOURCE)
    destinations = tuple(leg.intent for leg in legs if leg.side is Side.DESTINATION)
    intent = TransactionIntent(
        asset=row["asset_code"],
        value=row["amount"],
        sources=sources,
        destinations=destinations,
        pending=row["status"] == "PENDING",
        description=row["description"],
        code=row["code"],
        chart_of_accounts_group_name=row["chart_of_accounts_group_name"],
        metadata=row["metadata"],
        route=row["route"],
        route_id=str(row["route_id"]) if row["route_id"] else None,
    )
    return ResolvedTransaction(intent, legs)


def _stored_leg(data: dict[str, Any]) -> ResolvedLeg:
    amount = Decimal(data["amount"])
    intent = LegIntent(
        alias=data["alias"],
        balance_key=data["key"],
        amount=amount,
        description=data.get("description"),
        chart_of_accounts=data.get("chartOfAccounts"),
        metadata=data.get("metadata"),
        route=data.get("route"),
        route_id=data.get("routeId"),
    )
    return ResolvedLeg(Side(data["side"]), int(data["index"]), data["alias"], data["key"], amount, intent)


def legs_json(resolved: ResolvedTransaction) -> list[dict[str, Any]]:
    """The legs as stored in ``transactions.legs``."""
    return [
        {
            "side": leg.side.value,
            "index": leg.index,
            "alias": leg.alias,
            "key": leg.balance_key,
            "amount": rep.amount(leg.amount),
            "description": leg.intent.description,
            "chartOfAccounts": leg.intent.chart_of_accounts,
            "metadata": leg.intent.metadata,
            "route": leg.intent.route,
            "routeId": leg.intent.route_id,
        }
        for leg in resolved.legs
    ]


def reversal_of(target: _Target) -> ResolvedTransaction:
    """The reversal of an approved transaction: its CREDIT legs become sources, its DEBIT legs destinations."""
    sources: list[ResolvedLeg] = []
    destinations: list[ResolvedLeg] = []
    for op in target.operations:
        # Holds and releases net out within the original; overdraft moves follow from the legs.
        if op["type"] not in ("DEBIT", "CREDIT", "BLOCK", "UNBLOCK"):
            continue
        side = Side.SOURCE if op["direction"] == "credit" else Side.DESTINATION
        bucket = sources if side is Side.SOURCE else destinations
        intent = LegIntent(
            alias=op["account_alias"],
            balance_key=op["balance_key"],
            amount=op["amount"],
            description=op["description"],
            chart_of_accounts=op["chart_of_accounts"] or None,
            metadata=op["metadata"] or None,
            route=op["route"] or None,
            route_id=str(op["route_id"]) if op["route_id"] else None,
        )
        asset = op["asset_code"] if op["asset_code"] != target.row["asset_code"] else None
        bucket.append(ResolvedLeg(side, len(bucket), intent.alias, intent.balance_key, op["amount"], intent, asset))
    row = target.row
    reversed_intent = TransactionIntent(
        asset=row["asset_code"],
        value=row["amount"],
        sources=tuple(leg.intent for leg in sources),
        destinations=tuple(leg.intent for leg in destinations),
        description=row["description"],
        chart_of_accounts_group_name=row["chart_of_accounts_group_name"],
        metadata=row["metadata"],
        route=row["route"],
        route_id=str(row["route_id"]) if row["route_id"] else None,
    )
    return ResolvedTransaction(reversed_intent, tuple(sources + destinations))


# --- balances --------------------------------------------------------------------------------


async def _lock_balances(
    conn: Connection, commands: Sequence[Command], plans: dict[int, ResolvedTransaction], cached_plans: bool
) -> dict[LedgerKey, dict[BalanceKey, BalanceState]]:
    refs = sorted(
        {
            (commands[i].organization_id, commands[i].ledger_id, leg.alias, leg.balance_key)
            for i, plan in plans.items()
            for leg in plan.legs
        }
    )
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]] = {}
    _file(states, await sql.lock_balances(conn, refs, then_writes=cached_plans))
    # The overdraft companions of balances that may overdraw are locked next (also in id order): a
    # debit may draw on them, a credit repay them. Companions are never a request's own legs.
    companions = sorted(
        {
            (ledger[0], ledger[1], state.alias, OVERDRAFT_KEY)
            for ledger, by_key in states.items()
            for state in by_key.values()
            if state.may_overdraw
        }
    )
    if companions:
        if cached_plans:
            await sql.plan_per_call(conn)  # the first lock switched to cached plans; this is a read
        _file(states, await sql.lock_balances(conn, companions, then_writes=cached_plans))
    return states


def _file(states: dict[LedgerKey, dict[BalanceKey, BalanceState]], rows: Sequence[Record]) -> None:
    for row in rows:
        ledger = (row["organization_id"], row["ledger_id"])
        states.setdefault(ledger, {})[(row["alias"], row["key"])] = balance_state(row)


def balance_state(row: Record) -> BalanceState:
    settings = row["settings"]
    return BalanceState(
        id=str(row["id"]),
        account_id=str(row["account_id"]),
        alias=row["alias"],
        key=row["key"],
        asset_code=row["asset_code"],
        account_type=row["account_type"],
        available=row["available"],
        on_hold=row["on_hold"],
        version=row["version"],
        direction=row["direction"],
        allow_sending=row["allow_sending"],
        allow_receiving=row["allow_receiving"],
        overdraft_used=row["overdraft_used"],
        settings=_settings(settings) if settings else None,
    )


def _settings(data: dict[str, Any]) -> BalanceSettings:
    limit = data.get("overdraftLimit")
    return BalanceSettings(
        balance_scope=data.get("balanceScope"),
        allow_overdraft=bool(data.get("allowOverdraft", False)),
        overdraft_limit_enabled=bool(data.get("overdraftLimitEnabled", False)),
        overdraft_limit=Decimal(str(limit)) if limit is not None else None,
    )


# --- applying one command --------------------------------------------------------------------


def _apply_one(
    command: Command,
    plan: ResolvedTransaction,
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]],
    targets: dict[tuple[UUID, UUID, UUID], _Target],
    writes: _Writes,
    now: datetime,
) -> Result:
    try:
        if command.kind is Kind.CREATE:
            return _create(command, plan, command.action, states, writes, now)
        target = targets[(command.organization_id, command.ledger_id, command.target_id)]  # type: ignore[index]
        if command.kind is Kind.REVERT:
            return _revert(command, target, states, writes, now)
        return _settle(command, plan, target, states, writes, now)
    except KontorError as error:
        return error


def _create(
    command: Command,
    plan: ResolvedTransaction,
    action: Action,
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]],
    writes: _Writes,
    now: datetime,
    parent_id: UUID | None = None,
) -> Outcome:
    balances = states.setdefault(command.ledger, {})
    drafts = apply(plan, action, balances, _overdraft_veto(command.routes_without_overdraft))
    transaction_id = new_id_text()
    created_at = command.transaction_date or now
    stored_status = {Action.PENDING: "PENDING", Action.ANNOTATE: "NOTED"}.get(action, "APPROVED")
    intent = plan.intent
    row = {
        "organization_id": command.organization_id,
        "ledger_id": command.ledger_id,
        "id": transaction_id,
        "parent_transaction_id": parent_id,
        "description": intent.description,
        "code": intent.code,
        "chart_of_accounts_group_name": intent.chart_of_accounts_group_name or "",
        "status": stored_status,
        "status_description": stored_status,
        "amount": intent.value,
        "asset_code": intent.asset,
        "source": list(plan.source_aliases),
        "destination": list(plan.destination_aliases),
        "route": intent.route or "",
        "route_id": UUID(intent.route_id) if intent.route_id else None,
        "metadata": intent.metadata or {},
        "created_at": created_at,
        "updated_at": now,
        "deleted_at": None,
    }
    legs = legs_json(plan) if stored_status == "PENDING" else None  # read only to commit or cancel
    writes.transactions.append(_TRANSACTION_ROW({**row, "legs": legs}))
    op_rows = _operations(command, transaction_id, drafts, created_at, now, writes, intent.description)
    answer_status = "CREATED" if stored_status == "APPROVED" else stored_status
    body = rep.transaction(row, [rep.operation(op) for op in op_rows], status_code=answer_status)
    changes = _balance_changes(op_rows)
    event: str | None
    if stored_status == "APPROVED":
        event, span = ("transaction.reverted" if parent_id else "transaction.posted"), changes + 1
    else:  # no event of its own (as in Midaz), but its balance changes are published
        event, span = (catalog.TRANSACTION_UNPUBLISHED, changes) if changes else (None, 0)
    return _answer(command, transaction_id, rep_text(body), event, span, writes, now)


def _overdraft_veto(routes: frozenset[str]) -> Callable[[list[OperationDraft]], None] | None:
    """Refuse (0492) a posting that draws an overdraft through a route with no overdraft entry."""
    if not routes:
        return None

    def veto(drafts: list[OperationDraft]) -> None:
        for draft in drafts:
            if draft.type == "OVERDRAFT" and draft.direction == "debit" and draft.leg.intent.route_id in routes:
                raise KontorError(codes.OVERDRAFT_ROUTE_ENTRY_MISSING, entity_type="Transaction")

    return veto


def _settle(
    command: Command,
    plan: ResolvedTransaction,
    target: _Target,
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]],
    writes: _Writes,
    now: datetime,
) -> Outcome:
    """Commit or cancel a pending transaction."""
    if target.status != "PENDING":
        raise KontorError(
            codes.STATUS_FORBIDS_ACTION,
            f"The transaction is {target.status}; only PENDING transactions can be committed or canceled.",
            entity_type="Transaction",
        )
    action = Action.COMMIT if command.kind is Kind.COMMIT else Action.CANCEL
    drafts = apply(plan, action, states.setdefault(command.ledger, {}))
    new_status = "APPROVED" if action is Action.COMMIT else "CANCELED"
    target.status = new_status
    transaction_id = target.row["id"]
    writes.statuses.append((command.organization_id, command.ledger_id, transaction_id, new_status, now))
    op_rows = _operations(command, transaction_id, drafts, now, now, writes, target.row["description"])
    row = {**dict(target.row), "status": new_status, "updated_at": now}
    operations = [rep.operation(op) for op in target.operations] + [rep.operation(op) for op in op_rows]
    # A revert later in this batch reads the operations as this commit left them.
    target.operations = [*target.operations, *op_rows]
    text = rep_text(rep.transaction(row, operations))
    event = "transaction.committed" if action is Action.COMMIT else "transaction.canceled"
    writes.events.append((command.ledger, event, str(transaction_id), text, _balance_changes(op_rows) + 1))
    return Outcome(text, replayed=False)


def _revert(
    command: Command,
    target: _Target,
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]],
    writes: _Writes,
    now: datetime,
) -> Outcome:
    """Revert an approved transaction with a new transaction whose legs run the other way."""
    if target.has_reversal:
        raise KontorError(codes.ALREADY_REVERTED, entity_type="Transaction")
    if target.row["parent_transaction_id"] is not None:
        raise KontorError(codes.IS_A_REVERSAL, entity_type="Transaction")
    if target.status != "APPROVED":
        raise KontorError(
            codes.STATUS_FORBIDS_ACTION,
            f"The transaction is {target.status}; only APPROVED transactions can be reverted.",
            entity_type="Transaction",
        )
    reversal = reversal_of(target)
    if not reversal.legs:
        raise KontorError(codes.NOTHING_TO_REVERT, entity_type="Transaction")
    outcome = _create(command, reversal, Action.CREATE, states, writes, now, parent_id=target.row["id"])
    target.has_reversal = True
    return outcome


def _operations(
    command: Command,
    transaction_id: UUID | str,
    drafts: list[OperationDraft],
    created_at: datetime,
    now: datetime,
    writes: _Writes,
    description: str | None,
) -> list[dict[str, Any]]:
    """The operation rows of ``drafts``; an operation's description is its leg's, else the transaction's."""
    rows = []
    for draft in drafts:
        leg = draft.leg.intent
        row = {
            "organization_id": command.organization_id,
            "ledger_id": command.ledger_id,
            "id": new_id_text(),
            "transaction_id": transaction_id,
            "description": leg.description or description,
            "type": draft.type,
            "direction": draft.direction,
            "asset_code": draft.asset_code,
            "chart_of_accounts": leg.chart_of_accounts or "",
            "amount": draft.amount,
            "available_before": draft.before.available,
            "on_hold_before": draft.before.on_hold,
            "overdraft_before": draft.before.overdraft_used,
            "version_before": draft.before.version,
            "available_after": draft.after.available,
            "on_hold_after": draft.after.on_hold,
            "overdraft_after": draft.after.overdraft_used,
            "version_after": draft.after.version,
            "account_id": draft.account_id,
            "account_alias": draft.alias,
            "balance_key": draft.balance_key,
            "balance_id": draft.balance_id,
            "route": leg.route or "",
            "route_id": UUID(leg.route_id) if leg.route_id else None,
            "balance_affected": draft.balance_affected,
            "metadata": leg.metadata or {},
            "created_at": created_at,
            "updated_at": now,
            "deleted_at": None,
        }
        rows.append(row)
        writes.operations.append(_OPERATION_ROW(row))
        if draft.balance_affected:
            _touch(command, draft, writes, now)
    return rows


def _touch(command: Command, draft: OperationDraft, writes: _Writes, now: datetime) -> None:
    after = draft.after
    org, ledger = command.organization_id, command.ledger_id
    writes.touched[(org, ledger, draft.balance_id)] = (
        org,
        ledger,
        draft.balance_id,
        after.available,
        after.on_hold,
        after.overdraft_used,
        after.version,
        now,
    )


def _row_of(columns: Sequence[tuple[str, str]]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values in ``columns``' order (``operator.itemgetter``: one C call per row)."""
    return operator.itemgetter(*(name for name, _ in columns))  # type: ignore[return-value]


_TRANSACTION_ROW = _row_of(sql.TRANSACTION_COLUMNS)
_OPERATION_ROW = _row_of(sql.OPERATION_COLUMNS)


def rep_text(body: dict[str, Any]) -> str:
    return canonical_payload(body)


def _balance_changes(op_rows: list[dict[str, Any]]) -> int:
    """How many balance.changed events these operations publish: one per balance moved. They are
    derived from the transaction's payload when the journal is read (``kontor.events.journal``),
    so the row carries them as its span, not as rows of their own."""
    return sum(1 for op in op_rows if op["balance_affected"])


def _answer(
    command: Command,
    transaction_id: UUID | str,
    text: str,
    event: str | None,
    span: int,
    writes: _Writes,
    now: datetime,
) -> Outcome:
    """Record a create's answer: as the payload of its journal row, if it has one (``span``
    events), and for its idempotency key, which points at that row (``_JOURNAL_INDEX``) or else
    holds the text."""
    journal_index = None
    if event is not None:
        journal_index = len(writes.events)
        writes.events.append((command.ledger, event, str(transaction_id), text, span))
    if command.idempotency is not None:
        key = command.idempotency
        writes.idempotency.append(
            (
                command.organization_id,
                command.ledger_id,
                key.key,
                key.request_hash,
                transaction_id,
                text if journal_index is None else None,
                journal_index,
                now + timedelta(seconds=key.ttl_s),
            )
        )
    return Outcome(text, replayed=False)


# An idempotency row's place for the journal seq of its answer: until the batch's events are
# numbered, it holds the event's index in ``_Writes.events``.
_JOURNAL_INDEX = 6


# --- writing ---------------------------------------------------------------------------------


# A batch of at least this many commands is applied in chunks of ``OVERLAP_CHUNK``: each chunk's
# money changes are sent to PostgreSQL before the next chunk is applied, so that PostgreSQL writes
# one chunk while Python applies and renders the next, inside the batch's lock window.
OVERLAP_MIN = 200
OVERLAP_CHUNK = 100


async def _apply_and_write(
    conn: Connection,
    commands: Sequence[Command],
    plans: dict[int, ResolvedTransaction],
    states: dict[LedgerKey, dict[BalanceKey, BalanceState]],
    targets: dict[tuple[UUID, UUID, UUID], _Target],
    writes: _Writes,
    results: list[Any],
    now: datetime,
) -> dict[LedgerKey, tuple[int, bytes]]:
    """Apply ``plans`` and write their money changes: in one piece, or for a large batch chunk by
    chunk, each chunk's changes written while the next is applied. The last statement locks the
    journal heads and returns them (``_write_changes``). The chunks' statements run one after
    another on the one connection, in the batch's transaction."""
    items = list(plans.items())
    size = OVERLAP_CHUNK if len(items) >= OVERLAP_MIN else max(len(items), 1)
    chunks = [items[start : start + size] for start in range(0, len(items), size)] or [[]]
    sent: asyncio.Task[Any] | None = None
    try:
        for number, chunk in enumerate(chunks, start=1):
            for index, plan in chunk:
                results[index] = _apply_one(commands[index], plan, states, targets, writes, now)
            if sent is not None:
                await sent
                sent = None
            if number == len(chunks):
                return await _write_changes(conn, writes)
            written = _Writes(writes.transactions, writes.operations, writes.statuses, touched=writes.touched)
            writes.transactions, writes.operations, writes.statuses, writes.touched = [], [], [], {}
            sent = asyncio.ensure_future(_write_changes(conn, written, last=False))
            await asyncio.sleep(0)  # the statement goes out before the next chunk is applied
    finally:
        if sent is not None:  # a chunk failed to apply: its predecessor's statement ends first
            await asyncio.wait([sent])
            if not sent.cancelled():
                sent.exception()  # retrieved: the batch fails with the first error
    raise AssertionError("unreachable")  # pragma: no cover


async def _write_changes(conn: Connection, writes: _Writes, *, last: bool = True) -> dict[LedgerKey, tuple[int, bytes]]:
    """Write the money changes; the ``last`` statement of a batch locks the journal heads at its
    end (the last lock: every batch of a ledger waits for it, so it is held only for the journal
    rows and the commit) and returns them."""
    return await sql.write_changes(
        conn,
        transactions=writes.transactions,
        operations=writes.operations,
        balances=list(writes.touched.values()),
        statuses=writes.statuses,
        chains=journal.chains(writes.events) if last else (),
    )


async def _write_journal(
    conn: Connection, writes: _Writes, heads: dict[LedgerKey, tuple[int, bytes]], now: datetime
) -> None:
    """The journal rows, chained on ``heads``, and the idempotency records."""
    journal_rows, heads = journal.chain(writes.events, heads, now) if writes.events else ([], {})
    if journal_rows or writes.idempotency:
        await sql.write_journal(
            conn,
            idempotency=[_with_journal_seq(row, journal_rows) for row in writes.idempotency],
            journal=journal_rows,
            heads=heads,
        )


def _with_journal_seq(row: tuple[Any, ...], journal_rows: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    index = row[_JOURNAL_INDEX]
    if index is None:
        return row
    seq = journal_rows[index][2]
    return (*row[:_JOURNAL_INDEX], seq, *row[_JOURNAL_INDEX + 1 :])
