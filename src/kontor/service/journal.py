"""Appending to the journal: every change, money or onboarding, records its events here.

The journal is the events outbox. Its rows are written in the caller's database transaction, so
an event exists exactly when its change committed. Each chain (a ledger, or an organization's own
chain under ``catalog.ORGANIZATION_CHAIN``) has one gapless ``seq`` and one hash chain
(``core.journal``). The chain heads are locked last, just before commit, and held only for that
tail: call ``append`` as the last statement of a unit of work, after every other lock it takes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from kontor.core.journal import canonical_payload, link
from kontor.errors import invariant
from kontor.events import catalog
from kontor.service import representation as rep
from kontor.service.ids import new_id_text
from kontor.store import posting as sql
from kontor.store.db import Connection

Chain = tuple[UUID, UUID]  # (organization_id, ledger_id)
# One journal row to record: its chain, type, subject, payload as canonical JSON text, and span:
# how many events it carries (a money change's row carries its balance.changed events too, which
# are derived from its payload when read: ``kontor.events.journal``).
Event = tuple[Chain, str, str, str, int]


def organization_chain(organization_id: UUID) -> Chain:
    """The chain of an organization's own events (organization.*), which have no ledger."""
    return (organization_id, catalog.ORGANIZATION_CHAIN)


def event(chain: Chain, event_type: str, subject: str, payload: dict[str, Any]) -> Event:
    """An event whose payload is a JSON object, written as the canonical text that is hashed."""
    return (chain, event_type, subject, canonical_payload(payload), 1)


async def append(conn: Connection, events: Sequence[Event], now: datetime) -> None:
    """Number and chain ``events`` per chain, in order; one lock of the heads, taken last."""
    rows, heads = await prepare(conn, events, now)
    if rows:
        await sql.insert_journal(conn, rows)
        await sql.move_journal_heads(conn, heads)


async def prepare(
    conn: Connection, events: Sequence[Event], now: datetime
) -> tuple[list[tuple[Any, ...]], dict[Chain, tuple[int, bytes]]]:
    """Lock the chains' heads and number and hash ``events``: the journal rows to write and the
    heads to move, for a caller that writes them together with everything else."""
    if not events:
        return [], {}
    return chain(events, await sql.lock_journal_heads(conn, chains(events)), now)


def chains(events: Sequence[Event]) -> list[Chain]:
    return sorted({chain for chain, *_ in events})


def chain(
    events: Sequence[Event], heads: dict[Chain, tuple[int, bytes]], now: datetime
) -> tuple[list[tuple[Any, ...]], dict[Chain, tuple[int, bytes]]]:
    """Number and hash ``events`` after ``heads`` (locked by the caller): the journal rows to
    write and the heads to move."""
    invariant(all(catalog.is_recorded(e[1]) for e in events), "every journal row type is in the catalog")
    created = rep.iso(now) or ""
    rows = []
    for chain_key, event_type, subject, text, span in events:
        seq, prev = heads[chain_key]
        seq += span
        event_id = new_id_text()
        digest = link(prev, seq, event_id, event_type, subject, created, text, span)
        rows.append((chain_key[0], chain_key[1], seq, event_id, event_type, subject, text, now, prev, digest, span))
        heads[chain_key] = (seq, digest)
    return rows, heads


# --- onboarding events -----------------------------------------------------------------------


def chain_of(prefix: str, row: Mapping[str, Any]) -> Chain:
    """The chain an entity's events belong to: its organization's, its own ledger's, or its ledger's."""
    if prefix == "organization":
        return organization_chain(row["id"])
    if prefix == "ledger":
        return (row["organization_id"], row["id"])
    return (row["organization_id"], row["ledger_id"])


def created(prefix: str, row: Mapping[str, Any]) -> Event:
    return event(chain_of(prefix, row), f"{prefix}.created", str(row["id"]), catalog.created(prefix, row))


def updated(prefix: str, row: Mapping[str, Any]) -> Event:
    return event(chain_of(prefix, row), f"{prefix}.updated", str(row["id"]), catalog.updated(prefix, row))


def deleted(prefix: str, row: Mapping[str, Any], deleted_at: datetime) -> Event:
    """``<prefix>.deleted`` for ``row`` (as it was read before the delete, or as retired)."""
    chain = chain_of(prefix, row)
    ledger_id = None if prefix == "organization" else chain[1]
    payload = catalog.deleted(row["id"], chain[0], ledger_id, deleted_at)
    return event(chain, f"{prefix}.deleted", str(row["id"]), payload)


async def record(conn: Connection, events: Sequence[Event]) -> None:
    """Append an onboarding change's events: call it last in the unit of work (the heads lock last)."""
    await append(conn, events, datetime.now(UTC))
