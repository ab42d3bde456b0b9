"""Transactions: create (json, inflow, outflow, annotation), commit, cancel, revert, read, annotate.

Every change to money goes through the write funnel; this module validates and resolves a request
outside the funnel (scope, idempotency key, transaction date, leg resolution) and reads
transactions back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kontor.core import Action, ResolvedTransaction, TransactionIntent, resolve
from kontor.errors import KontorError, codes
from kontor.service import exchange, ledger_settings, route_enforcement
from kontor.service import representation as rep
from kontor.service.context import Context
from kontor.service.posting import Command, Idempotency, Kind, Outcome
from kontor.service.scope import require_ledger
from kontor.store import transactions as store
from kontor.store.crud import MetadataPatch
from kontor.store.query import CursorPage, ListQuery

ENTITY = "Transaction"
IDEMPOTENCY_TTL_DEFAULT_S = 300


def idempotency(key: str | None, ttl: str | None, endpoint: str, body: bytes) -> Idempotency:
    """Midaz's rule: without ``X-Idempotency`` the SHA-256 of the request is the key; TTL defaults to 300 s."""
    request_hash = hashlib.sha256(endpoint.encode() + b"\n" + body).hexdigest()
    try:
        ttl_s = int(ttl) if ttl is not None else IDEMPOTENCY_TTL_DEFAULT_S
    except ValueError:
        ttl_s = IDEMPOTENCY_TTL_DEFAULT_S
    if ttl_s <= 0:
        ttl_s = IDEMPOTENCY_TTL_DEFAULT_S
    return Idempotency(key=key or request_hash, request_hash=request_hash, ttl_s=ttl_s)


def transaction_date(text: str | None, *, pending: bool, now: datetime | None = None) -> datetime | None:
    """Back-dating: RFC 3339, ``YYYY-MM-DDTHH:MM:SS`` or ``YYYY-MM-DD`` (UTC); never future (0121), never pending (0122)."""
    if text is None or text == "":
        return None
    if pending:
        raise KontorError(codes.PENDING_WITH_TRANSACTION_DATE, entity_type=ENTITY)
    value = _parse_instant(text)
    if value > (now or datetime.now(UTC)):
        raise KontorError(codes.FUTURE_TRANSACTION_DATE, entity_type=ENTITY)
    return value


def _parse_instant(text: str) -> datetime:
    candidate = text.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError as exc:
        raise KontorError(codes.INVALID_FIELD, "transactionDate is not a valid date.", entity_type=ENTITY) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def create(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    intent: TransactionIntent,
    action: Action,
    key: Idempotency,
    date: datetime | None = None,
) -> Outcome:
    resolved = resolve(intent)
    settings = await _require_scope(ctx, organization_id, ledger_id)
    no_overdraft: frozenset[str] = frozenset()
    if route_enforcement.enabled(settings):
        no_overdraft = await route_enforcement.check_create(ctx, organization_id, ledger_id, resolved, action)
    resolved = await _convert(ctx, organization_id, ledger_id, resolved)
    command = Command(
        Kind.CREATE,
        organization_id,
        ledger_id,
        resolved=resolved,
        action=action,
        idempotency=key,
        transaction_date=date,
        routes_without_overdraft=no_overdraft,
    )
    return await ctx.funnel.submit(command)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A create request validated and resolved outside the funnel, ready to queue."""

    command: Command


def prepare(
    organization_id: UUID,
    ledger_id: UUID,
    intent: TransactionIntent,
    action: Action,
    key: Idempotency,
    date: datetime | None,
) -> Prepared:
    """Resolve ``intent`` (Midaz's validation order); raises the first refusal."""
    return Prepared(
        Command(
            Kind.CREATE,
            organization_id,
            ledger_id,
            resolved=resolve(intent),
            action=action,
            idempotency=key,
            transaction_date=date,
        )
    )


async def create_batch(
    ctx: Context, organization_id: UUID, ledger_id: UUID, items: list[Prepared | KontorError], *, atomic: bool
) -> list[Outcome | KontorError]:
    """Queue every prepared item together; answers in order. ``atomic``: all commit or none does."""
    if route_enforcement.enabled(await _require_scope(ctx, organization_id, ledger_id)):
        items = await _enforce_routes(ctx, organization_id, ledger_id, items)
    commands = [
        await _converted(ctx, item.command)
        for item in items
        if isinstance(item, Prepared) and item.command.resolved is not None
    ]

    if atomic and len(commands) < len(items):
        return [
            item if isinstance(item, KontorError) else KontorError(codes.BATCH_ROLLED_BACK, entity_type=ENTITY)
            for item in items
        ]
    submit = ctx.funnel.submit_atomic if atomic else ctx.funnel.submit_many
    answers = iter(await submit(commands))
    return [item if isinstance(item, KontorError) else next(answers) for item in items]


async def settle(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, kind: Kind) -> Outcome:
    """Commit, cancel or revert ``transaction_id``."""
    settings = await _require_scope(ctx, organization_id, ledger_id)
    # A revert is judged whatever the setting: operations on a one-way route cannot be reverted (0150).
    if kind is Kind.REVERT or route_enforcement.enabled(settings):
        await route_enforcement.check_settle(ctx, organization_id, ledger_id, transaction_id, kind)
    return await ctx.funnel.submit(Command(kind, organization_id, ledger_id, target_id=transaction_id))


async def _enforce_routes(
    ctx: Context, organization_id: UUID, ledger_id: UUID, items: list[Prepared | KontorError]
) -> list[Prepared | KontorError]:
    """Each item the ledger's routes refuse (``accounting.validateRoutes``) becomes its refusal."""
    plans = [
        (item.command.resolved, item.command.action)
        if isinstance(item, Prepared) and item.command.resolved is not None
        else None
        for item in items
    ]
    judged = await route_enforcement.check_batch(ctx, organization_id, ledger_id, plans)
    out: list[Prepared | KontorError] = []
    for item, verdict in zip(items, judged, strict=True):
        if isinstance(verdict, KontorError):
            out.append(verdict)
        elif isinstance(item, Prepared) and verdict:
            out.append(Prepared(replace(item.command, routes_without_overdraft=verdict)))
        else:
            out.append(item)
    return out


async def _converted(ctx: Context, command: Command) -> Command:
    """``command`` with its conversions expanded (the same command when it has none)."""
    resolved = command.resolved
    if resolved is None or not any(leg.intent.rate is not None for leg in resolved.legs):
        return command
    return replace(command, resolved=await _convert(ctx, command.organization_id, command.ledger_id, resolved))


async def _convert(
    ctx: Context, organization_id: UUID, ledger_id: UUID, resolved: ResolvedTransaction
) -> ResolvedTransaction:
    """Expand legs that convert into another asset (the exchange engine); others pass unchanged."""
    if not any(leg.intent.rate is not None for leg in resolved.legs):
        return resolved
    async with ctx.db.transaction() as conn:
        return await exchange.apply_conversions(conn, organization_id, ledger_id, resolved)


async def _require_scope(ctx: Context, organization_id: UUID, ledger_id: UUID) -> dict[str, Any]:
    """The ledger must exist (0038/0037); returns its settings (cached briefly, see Context)."""
    settings = ctx.known_ledger(organization_id, ledger_id)
    if settings is not None:
        return settings
    async with ctx.db.connection() as conn:
        row = await require_ledger(conn, organization_id, ledger_id)
    settings = ledger_settings.merged(row["settings"] or {})
    ctx.remember_ledger(organization_id, ledger_id, settings)
    return settings


async def get(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID) -> dict[str, Any]:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        row = await store.get(conn, organization_id, ledger_id, transaction_id)
        if row is None:
            raise KontorError(codes.ENTITY_NOT_FOUND, "The transaction does not exist.", entity_type=ENTITY)
        operations = await store.operations_of(conn, organization_id, ledger_id, [transaction_id])
    return rep.transaction(row, [rep.operation(op) for op in operations.get(transaction_id, [])])


async def list_(
    ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery
) -> tuple[list[dict[str, Any]], CursorPage]:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        page = await store.list_page(conn, organization_id, ledger_id, query)
        ids = [row["id"] for row in page.rows]  # type: ignore[index]
        operations = await store.operations_of(conn, organization_id, ledger_id, ids)
    items = [
        rep.transaction(row, [rep.operation(op) for op in operations.get(row["id"], [])])  # type: ignore[index]
        for row in page.rows
    ]
    return items, page


async def count(ctx: Context, organization_id: UUID, ledger_id: UUID, query: ListQuery) -> int:
    async with ctx.db.connection() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        return await store.count(conn, organization_id, ledger_id, query)


async def update(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    transaction_id: UUID,
    description: str | None,
    metadata: MetadataPatch,
) -> dict[str, Any]:
    """PATCH changes only the description and metadata; the money never changes."""
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        row = await store.get(conn, organization_id, ledger_id, transaction_id, lock=True)
        if row is None:
            raise KontorError(codes.ENTITY_NOT_FOUND, "The transaction does not exist.", entity_type=ENTITY)
        changes: dict[str, Any] = {"metadata": metadata.apply(row["metadata"])}
        if description is not None:
            changes["description"] = description
        await store.update(conn, organization_id, ledger_id, transaction_id, changes)
    return await get(ctx, organization_id, ledger_id, transaction_id)


async def update_operation(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    transaction_id: UUID,
    operation_id: UUID,
    description: str | None,
    metadata: MetadataPatch,
) -> dict[str, Any]:
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        row = await store.get_operation(conn, organization_id, ledger_id, operation_id, transaction_id=transaction_id)
        if row is None:
            raise KontorError(codes.ENTITY_NOT_FOUND, "The operation does not exist.", entity_type="Operation")
        changes: dict[str, Any] = {"metadata": metadata.apply(row["metadata"])}
        if description is not None:
            changes["description"] = description
        updated = await store.update_operation(conn, organization_id, ledger_id, operation_id, changes)
    return rep.operation(updated)
