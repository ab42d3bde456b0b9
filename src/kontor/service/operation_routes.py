"""Operation routes: how one leg of a transaction is booked, per action.

An operation route has an operation type (``source``, ``destination`` or ``bidirectional``,
fixed at creation), an optional account rule (the leg's alias must equal ``validIf``, or its
balance's account type must be in ``validIf``), and accounting entries: for each action a debit
and/or credit rubric. Checks run in this order, and the first failure answers:

1. ``operationType`` is one of the three types (400 0047);
2. the account rule gives ``ruleType`` and ``validIf`` together (400 0009), a known ``ruleType``
   (400 0111) and a ``validIf`` of its shape: a string for ``alias``, a list of strings for
   ``account_type`` (400 0112);
3. each entry has a debit or a credit, and each rubric a non-blank code and description (400 0009;
   422 0166 for ``overdraft``, ``block`` and ``unblock``, as Midaz answers);
4. the direction x scenario matrix: ``revert`` only on bidirectional routes (422 0165); no
   ``hold`` or ``cancel`` on destination routes (422 0162); the sides each (type, action) needs
   (422 0166); ``hold`` together with ``commit`` and ``cancel`` (422 0163); ``direct`` whenever
   another scenario exists (422 0164).

A route linked to a live transaction route cannot be deleted (422 0107).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from kontor.errors import Code, FieldError, FieldErrors, InvariantViolation, KontorError, codes
from kontor.service import journal
from kontor.service.context import Context
from kontor.service.scope import require_ledger
from kontor.service.scoped import LedgerScoped, ledger_scope
from kontor.store import crud
from kontor.store import operation_routes as store
from kontor.store.db import Connection, Record

ENTITY = "OperationRoute"
OPERATION_TYPES = ("source", "destination", "bidirectional")
RULE_TYPES = ("alias", "account_type")
ACTIONS = ("direct", "hold", "commit", "cancel", "revert", "overdraft", "block", "unblock")
# Midaz answers a malformed entry of these newer scenarios with 422 0166 instead of 400 0009.
_NEWER_SCENARIOS = frozenset({"overdraft", "block", "unblock"})
_NEEDS_DIRECT = ("hold", "commit", "cancel", "revert", "overdraft")
_RESERVE_GROUP = ("hold", "commit", "cancel")

Rubric = dict[str, str]
Entry = dict[str, Rubric | None]  # {"debit": rubric or None, "credit": rubric or None}
Entries = dict[str, Entry]  # action -> entry, in ACTIONS order

PREFIX = "operation-route"  # of its event types
RESOURCE = LedgerScoped(store.TABLE, ENTITY, codes.OPERATION_ROUTE_NOT_FOUND, event_prefix=PREFIX)

get = RESOURCE.get
list_ = RESOURCE.list_cursor


# --- rules -------------------------------------------------------------------------------------


def check_operation_type(value: str) -> str:
    """``source``, ``destination`` or ``bidirectional`` (any letter case): else 400 0047."""
    normalized = value.lower()
    if normalized not in OPERATION_TYPES:
        raise FieldErrors(
            codes.INVALID_FIELD,
            f"operationType must be one of {', '.join(OPERATION_TYPES)}.",
            entity_type=ENTITY,
            errors=[FieldError("operationType", "invalid operation type", value)],
        )
    return normalized


def check_account(rule_type: str | None, valid_if: Any) -> dict[str, Any] | None:
    """The account rule as columns, or None for no rule; guards rule 2 of the module docstring."""
    if not rule_type and valid_if is None:
        return None
    if not rule_type or valid_if is None:
        missing = "account.ruleType" if not rule_type else "account.validIf"
        raise FieldErrors(
            codes.MISSING_FIELD,
            f"{missing} is a required field when the other is given.",
            entity_type=ENTITY,
            errors=[FieldError(missing, f"{missing} is a required field")],
        )
    normalized = rule_type.lower()
    if normalized not in RULE_TYPES:
        raise KontorError(codes.ROUTE_RULE_TYPE_INVALID, entity_type=ENTITY)
    fits = (
        isinstance(valid_if, str)
        if normalized == "alias"
        else isinstance(valid_if, list) and all(isinstance(item, str) for item in valid_if)
    )
    if not fits:
        raise KontorError(
            codes.ROUTE_RULE_VALUE_INVALID,
            "validIf must be a string for an alias rule and a list of strings for an account_type rule.",
            entity_type=ENTITY,
        )
    return {"account_rule_type": normalized, "account_rule_valid_if": valid_if}


def check_entries(entries: Mapping[str, Entry]) -> None:
    """Each entry has a side and each rubric a code and a description (rule 3)."""
    for action in ACTIONS:
        entry = entries.get(action)
        if entry is None:
            continue
        code = codes.ENTRIES_SIDE_MISSING if action in _NEWER_SCENARIOS else codes.MISSING_FIELD
        if entry.get("debit") is None and entry.get("credit") is None:
            raise _entry_error(code, f"accountingEntries.{action}", "needs a debit or a credit rubric")
        for side in ("debit", "credit"):
            rubric = entry.get(side)
            for part in ("code", "description") if rubric is not None else ():
                if not (rubric.get(part) or "").strip():  # type: ignore[union-attr]
                    raise _entry_error(code, f"accountingEntries.{action}.{side}.{part}", "is a required field")


def check_matrix(operation_type: str, entries: Mapping[str, Entry] | None) -> None:
    """The direction x scenario matrix (rule 4), on the entries as they will be stored."""
    if not entries:
        return
    present = {action for action in ACTIONS if entries.get(action) is not None}
    if operation_type != "bidirectional" and "revert" in present:
        raise KontorError(
            codes.ENTRIES_REVERT_BIDIRECTIONAL,
            "revert is only allowed for bidirectional operation routes.",
            entity_type=ENTITY,
        )
    if operation_type == "destination" and present & {"hold", "cancel"}:
        scenario = "hold" if "hold" in present else "cancel"
        raise KontorError(
            codes.ENTRIES_DESTINATION_HOLD, f"{scenario} is not allowed for destination routes.", entity_type=ENTITY
        )
    for action in ACTIONS:
        if action in present:
            _check_sides(operation_type, action, entries[action])
    if operation_type != "destination":
        _check_reserve_group(present)
    if present & set(_NEEDS_DIRECT) and "direct" not in present:
        raise KontorError(
            codes.ENTRIES_DIRECT_REQUIRED, "direct is required when other scenarios are present.", entity_type=ENTITY
        )


def _required_sides(operation_type: str, action: str) -> tuple[str, ...]:
    """Which rubrics a (type, action) needs: one side for one-legged moves, both otherwise."""
    if action in ("direct", "commit", "block", "unblock"):
        if operation_type == "source":
            return ("debit",)
        if operation_type == "destination":
            return ("credit",)
    return ("debit", "credit")


def _check_sides(operation_type: str, action: str, entry: Entry) -> None:
    for side in _required_sides(operation_type, action):
        if entry.get(side) is None:
            raise KontorError(
                codes.ENTRIES_SIDE_MISSING, f"{side} is required for {operation_type}/{action}.", entity_type=ENTITY
            )


def _check_reserve_group(present: set[str]) -> None:
    if "hold" in present:
        missing = [action for action in ("commit", "cancel") if action not in present]
        if missing:
            raise KontorError(codes.ENTRIES_HOLD_PAIR, f"hold requires {' and '.join(missing)}.", entity_type=ENTITY)
    elif present & set(_RESERVE_GROUP):
        raise KontorError(codes.ENTRIES_HOLD_PAIR, "commit and cancel require hold.", entity_type=ENTITY)


def _entry_error(code: Code, location: str, message: str) -> KontorError:
    return FieldErrors(code, f"{location} {message}.", entity_type=ENTITY, errors=[FieldError(location, message)])


def merge_entries(current: Entries | None, patch: Mapping[str, Entry | None] | None) -> Entries | None:
    """A PATCH's entries laid over the stored ones: a given action replaces, a null one is removed.

    A ``patch`` of None (``"accountingEntries": null``) clears every entry.
    """
    if patch is None:
        return None
    merged = dict(current or {})
    for action, entry in patch.items():
        if entry is None:
            merged.pop(action, None)
        else:
            merged[action] = entry
    ordered = {action: merged[action] for action in ACTIONS if action in merged}
    return ordered or None


# --- use cases ---------------------------------------------------------------------------------


async def create(ctx: Context, organization_id: UUID, ledger_id: UUID, values: dict[str, Any]) -> Record:
    """Insert a route whose fields already passed the rules above (the caller runs them in order)."""
    check_matrix(values["operation_type"], values.get("accounting_entries"))
    return await RESOURCE.create(ctx, organization_id, ledger_id, values)


async def update(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    id_: UUID,
    changes: dict[str, Any],
    entries_patch: Mapping[str, Entry | None] | None,
    entries_given: bool,
    metadata: crud.MetadataPatch,
) -> Record:
    """Apply a PATCH; merged entries are checked against the stored (immutable) operation type."""
    scope = ledger_scope(organization_id, ledger_id)
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        current = await _require_locked(conn, organization_id, ledger_id, id_)
        changes = {**changes, "metadata": metadata.apply(current["metadata"])}
        if entries_given:
            merged = merge_entries(current["accounting_entries"], entries_patch)
            check_matrix(current["operation_type"], merged)
            changes["accounting_entries"] = merged
        row = await crud.update(conn, store.TABLE, scope, id_, changes)
        if row is None:
            raise KontorError(codes.OPERATION_ROUTE_NOT_FOUND, entity_type=ENTITY)
        await journal.record(conn, [journal.updated(PREFIX, row)])
        return row


async def delete(ctx: Context, organization_id: UUID, ledger_id: UUID, id_: UUID) -> None:
    """Soft delete, refused while a live transaction route links the route (422 0107)."""
    async with ctx.db.transaction() as conn:
        await require_ledger(conn, organization_id, ledger_id)
        # The row lock waits for any transaction route being created with this route (it holds
        # FOR SHARE), so the link check below sees that link once it is committed.
        route = await _require_locked(conn, organization_id, ledger_id, id_)
        if await store.is_linked(conn, organization_id, ledger_id, id_):
            raise KontorError(codes.OPERATION_ROUTE_LINKED, entity_type=ENTITY)
        deleted_at = await crud.soft_delete(conn, store.TABLE, ledger_scope(organization_id, ledger_id), id_)
        if deleted_at is None:
            raise InvariantViolation("an operation route locked FOR UPDATE vanished before its delete")
        await journal.record(conn, [journal.deleted(PREFIX, route, deleted_at)])


async def _require_locked(conn: Connection, organization_id: UUID, ledger_id: UUID, id_: UUID) -> Record:
    row = await crud.get(conn, store.TABLE, ledger_scope(organization_id, ledger_id), id_, lock=True)
    if row is None:
        raise KontorError(codes.OPERATION_ROUTE_NOT_FOUND, entity_type=ENTITY)
    return row
