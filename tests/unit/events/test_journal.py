"""The balance.changed events a transaction's journal row carries, derived from its payload."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from kontor.core.journal import canonical_payload
from kontor.errors import InvariantViolation
from kontor.events import catalog
from kontor.events.journal import events_after, events_of
from kontor.store.events import JournalEvent

ORG, LEDGER = uuid.uuid4(), uuid.uuid4()
TX = str(uuid.uuid4())
NOW = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)


def operation(n: int, op_type: str, direction: str, available: str, *, affected: bool = True) -> dict[str, Any]:
    balance = {"available": available, "onHold": "0", "version": n + 1, "overdraftUsed": "0"}
    return {
        "id": f"00000000-0000-7000-8000-00000000000{n}",
        "transactionId": TX,
        "description": "",
        "type": op_type,
        "direction": direction,
        "assetCode": "BRL",
        "chartOfAccounts": "",
        "amount": {"value": "5"},
        "balance": {**balance, "version": n},
        "balanceAfter": balance,
        "status": {"code": "", "description": None},
        "accountId": f"10000000-0000-7000-8000-00000000000{n}",
        "accountAlias": f"@a{n}",
        "balanceKey": "default",
        "balanceId": f"20000000-0000-7000-8000-00000000000{n}",
        "organizationId": str(ORG),
        "ledgerId": str(LEDGER),
        "route": "",
        "balanceAffected": affected,
        "createdAt": f"2026-12-02T19:00:0{n}Z",
        "updatedAt": "2026-12-02T19:00:09Z",
        "deletedAt": None,
        "metadata": {},
    }


def row(event_type: str, seq: int, span: int, operations: list[dict[str, Any]]) -> JournalEvent:
    payload = canonical_payload({"id": TX, "status": {"code": "APPROVED"}, "operations": operations})
    return JournalEvent(ORG, LEDGER, seq, uuid.uuid4(), event_type, TX, NOW, payload, span)


TRANSFER = [operation(1, "DEBIT", "debit", "95"), operation(2, "CREDIT", "credit", "5")]


def test_a_posted_transfer_carries_its_balance_changes_before_its_own_event() -> None:
    posted = row("transaction.posted", 12, 3, TRANSFER)
    events = events_of(posted)
    assert [(e.seq, e.event_type) for e in events] == [
        (10, "balance.changed"),
        (11, "balance.changed"),
        (12, "transaction.posted"),
    ]
    assert events[-1] is posted
    first = json.loads(events[0].payload_text)
    assert first == {
        "organizationId": str(ORG),
        "ledgerId": str(LEDGER),
        "accountId": TRANSFER[0]["accountId"],
        "balanceId": TRANSFER[0]["balanceId"],
        "alias": "@a1",
        "assetCode": "BRL",
        "balanceKey": "default",
        "available": "95",
        "onHold": "0",
        "version": 2,
        "reason": "debit",
        "operationType": "DEBIT",
        "direction": "debit",
        "amount": "5",
        "transactionId": TX,
        "operationId": TRANSFER[0]["id"],
        "occurredAt": "2026-12-02T19:00:01Z",
    }
    assert events[0].payload_text == canonical_payload(first)  # the canonical text, as stored before
    assert set(first) == set(catalog.BalanceChanged.__struct_encode_fields__)
    assert [e.subject for e in events[:2]] == [f"{TX}:{op['id']}" for op in TRANSFER]
    assert all(e.created_at == NOW and e.chain == posted.chain for e in events)


def test_derived_ids_are_stable_and_distinct() -> None:
    posted = row("transaction.posted", 3, 3, TRANSFER)
    once, again = events_of(posted), events_of(posted)
    assert [e.id for e in once] == [e.id for e in again]
    assert len({e.id for e in once}) == 3


def test_a_commit_carries_only_its_own_operations() -> None:
    holds = [operation(1, "ON_HOLD", "debit", "90"), operation(2, "ON_HOLD", "debit", "0", affected=False)]
    settle = [operation(3, "DEBIT", "debit", "90"), operation(4, "CREDIT", "credit", "5")]
    committed = row("transaction.committed", 20, 3, [*holds, *settle])
    events = events_of(committed)
    assert [e.subject.split(":")[1] for e in events[:2]] == [settle[0]["id"], settle[1]["id"]]
    assert [e.seq for e in events] == [18, 19, 20]


def test_an_unpublished_transaction_carries_only_its_balance_changes() -> None:
    pending = row(catalog.TRANSACTION_UNPUBLISHED, 7, 1, [operation(1, "ON_HOLD", "debit", "95")])
    events = events_of(pending)
    assert [(e.seq, e.event_type) for e in events] == [(7, "balance.changed")]
    assert json.loads(events[0].payload_text)["reason"] == "hold"


def test_a_row_of_span_one_is_itself() -> None:
    created = JournalEvent(ORG, LEDGER, 1, uuid.uuid4(), "ledger.created", "x", NOW, "{}", 1)
    assert events_of(created) == [created]
    written_before_spans = row("transaction.posted", 5, 1, TRANSFER)  # its balance changes have rows of their own
    assert events_of(written_before_spans) == [written_before_spans]


def test_a_span_beyond_the_moved_balances_is_refused() -> None:
    with pytest.raises(InvariantViolation):
        events_of(row("transaction.posted", 9, 4, TRANSFER))
    with pytest.raises(InvariantViolation):
        events_of(JournalEvent(ORG, LEDGER, 9, uuid.uuid4(), "ledger.created", "x", NOW, "{}", 2))


def test_reading_after_a_cursor_inside_a_row_skips_what_was_delivered() -> None:
    rows = [row("transaction.posted", 3, 3, TRANSFER), row("transaction.posted", 6, 3, TRANSFER)]
    assert [e.seq for e in events_after(rows, 0, 100)] == [1, 2, 3, 4, 5, 6]
    assert [e.seq for e in events_after(rows, 2, 100)] == [3, 4, 5, 6]
    assert [e.seq for e in events_after(rows, 2, 2)] == [3, 4]
