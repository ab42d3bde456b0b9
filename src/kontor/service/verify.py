"""``kontor verify``: recompute every balance from its operations and re-hash every journal chain.

A ledger that passes has, for every balance, an unbroken chain of operations from zero to its
current amounts, each moving exactly its amount; balanced transactions; and, per ledger, a gapless
journal whose every hash recomputes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from kontor.core.journal import GENESIS, canonical_payload, link
from kontor.errors import InvariantViolation
from kontor.events import journal
from kontor.service import representation as rep
from kontor.store import verify as store
from kontor.store.events import JournalEvent


@dataclass(slots=True)
class Report:
    counts: dict[str, int] = field(default_factory=dict)
    passed: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


async def verify(url: str, echo: Callable[[str], None] = print) -> Report:
    conn = await store.connect(url)
    report = Report()
    try:
        report.counts = await store.counts(conn)
        echo("checking " + ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in report.counts.items()))
        for check in store.CHECKS:
            bad = await store.run_check(conn, check)
            _record(report, check.name, check.rule, [tuple(r) for r in bad], echo)
        problems = await _journal_problems(conn)
        _record(report, "journal chain", "each ledger's journal is gapless and every hash recomputes", problems, echo)
    finally:
        await conn.close()
    return report


def _record(report: Report, name: str, rule: str, bad: list[tuple[object, ...]], echo: Callable[[str], None]) -> None:
    if bad:
        report.failures.append(name)
        echo(f"FAIL  {name}: {rule}")
        for example in bad[: store.EXAMPLES_MAX]:
            echo(f"        {example}")
    else:
        report.passed.append(name)
        echo(f"ok    {name}: {rule}")


async def _journal_problems(conn: store.Connection) -> list[tuple[object, ...]]:
    problems: list[tuple[object, ...]] = []
    heads = await store.journal_heads(conn)
    last: dict[tuple[object, object], tuple[int, bytes]] = {}
    async for row in store.journal_rows(conn):
        ledger = (row["organization_id"], row["ledger_id"])
        seq, prev = last.get(ledger, (0, GENESIS))
        expected = link(
            prev,
            row["seq"],
            str(row["id"]),
            row["event_type"],
            row["subject"],
            rep.iso(row["created_at"]) or "",
            canonical_payload(msgspec.json.decode(row["payload"])),
            row["span"],
        )
        if row["seq"] != seq + row["span"] or bytes(row["prev_hash"]) != prev or bytes(row["hash"]) != expected:
            problems.append((ledger[1], row["seq"], "gap or hash mismatch"))
        elif not _carries_its_span(row):
            problems.append((ledger[1], row["seq"], "span does not match the balances its transaction moved"))
        last[ledger] = (row["seq"], bytes(row["hash"]))
        if len(problems) >= store.EXAMPLES_MAX:
            break
    for ledger, head in heads.items():
        if last.get(ledger, (0, GENESIS)) != head:
            problems.append((ledger[1], head[0], "head does not match the last row"))
    return problems


def _carries_its_span(row: Mapping[str, Any]) -> bool:
    """Whether the row's payload holds every event its span says it carries."""
    event = JournalEvent(*(row[name] for name in store.JOURNAL_EVENT_FIELDS))
    try:
        return len(journal.events_of(event)) == int(row["span"])
    except (InvariantViolation, msgspec.DecodeError, msgspec.ValidationError):
        return False
