"""The events a journal row carries, and reading them by seq.

A money change's journal row holds its transaction, as the HTTP answer shows it, operations
included. Each operation that moved a balance is also a ``balance.changed`` event, and everything
that event says is in the operation (the balance as it left it), so the row does not store it
twice: it carries ``span`` events, its balance changes first, then its own event (none for a
``TRANSACTION_UNPUBLISHED`` row), on the seqs ``(seq - span, seq]``. This module derives them.

A derived event is the same every time it is derived: its payload is the canonical text the write
funnel used to store, its id is a UUIDv5 of the row's id and its place in the row, and its time is
the row's. The row's hash covers its payload and span, so the derived events are as
tamper-evident as stored ones.
"""

from __future__ import annotations

import uuid

import msgspec

from kontor.core.journal import canonical_payload
from kontor.errors import invariant
from kontor.events import catalog
from kontor.store import events as store
from kontor.store.events import JournalEvent

BALANCE_CHANGED = "balance.changed"

# Why a balance changed, by operation type.
_REASONS = {
    "DEBIT": "debit",
    "CREDIT": "credit",
    "ON_HOLD": "hold",
    "RELEASE": "release",
    "OVERDRAFT": "overdraft",
    "BLOCK": "block",
    "UNBLOCK": "unblock",
}


class _Amount(msgspec.Struct):
    value: str


class _Balance(msgspec.Struct, rename="camel"):
    available: str
    on_hold: str
    version: int


class _Operation(msgspec.Struct, rename="camel"):
    """What a balance change needs of an operation's JSON (the rest is ignored when decoding)."""

    id: str
    transaction_id: str
    type: str
    direction: str
    asset_code: str
    amount: _Amount
    balance_after: _Balance
    account_id: str
    account_alias: str
    balance_key: str
    balance_id: str
    organization_id: str
    ledger_id: str
    balance_affected: bool
    created_at: str


class _Transaction(msgspec.Struct):
    operations: list[_Operation]


_DECODER = msgspec.json.Decoder(_Transaction)


def events_of(row: JournalEvent) -> list[JournalEvent]:
    """Every event ``row`` carries, in seq order."""
    own = row.event_type != catalog.TRANSACTION_UNPUBLISHED
    changes = row.span - own
    if changes == 0:
        return [row]
    invariant(row.event_type in catalog.TRANSACTION_ROWS, "only a transaction's row carries balance changes")
    # The change's own operations are the last ones: a commit's or cancel's follow the pending's.
    moved = [op for op in _DECODER.decode(row.payload_text).operations if op.balance_affected][-changes:]
    invariant(len(moved) == changes, "a row's span counts its operations that moved a balance")
    first = row.seq - row.span + 1
    events = [
        JournalEvent(
            row.organization_id,
            row.ledger_id,
            first + i,
            uuid.uuid5(row.id, str(i)),
            BALANCE_CHANGED,
            f"{op.transaction_id}:{op.id}",
            row.created_at,
            canonical_payload(balance_changed(op)),
        )
        for i, op in enumerate(moved)
    ]
    if own:
        events.append(row)
    return events


def balance_changed(op: _Operation) -> dict[str, object]:
    """The ``balance.changed`` payload of one operation (``catalog.BalanceChanged``)."""
    return {
        "organizationId": op.organization_id,
        "ledgerId": op.ledger_id,
        "accountId": op.account_id,
        "balanceId": op.balance_id,
        "alias": op.account_alias,
        "assetCode": op.asset_code,
        "balanceKey": op.balance_key,
        "available": op.balance_after.available,
        "onHold": op.balance_after.on_hold,
        "version": op.balance_after.version,
        "reason": _REASONS.get(op.type, "adjust"),
        "operationType": op.type,
        "direction": op.direction,
        "amount": op.amount.value,
        "transactionId": op.transaction_id,
        "operationId": op.id,
        "occurredAt": op.created_at,
    }


async def read(conn: store.Connection, chain: store.Chain, after: int, limit: int) -> list[JournalEvent]:
    """At most ``limit`` events of one chain after ``seq = after``, in order."""
    return events_after(await store.read(conn, chain, after, limit), after, limit)


def events_after(rows: list[JournalEvent], after: int, limit: int) -> list[JournalEvent]:
    """The first ``limit`` events ``rows`` carry after ``seq = after`` (the first row read may
    carry some at or before it: a cursor can stop inside a row)."""
    return [event for row in rows for event in events_of(row) if event.seq > after][:limit]
