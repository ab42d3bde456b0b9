"""What the event tests share: settings for a fast relay, a ledger with funds, the journal as
PostgreSQL holds it, the published schemas, and a TCP proxy that plays a broker outage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema

from kontor.config import Settings
from kontor.events.journal import events_of
from kontor.store.events import JournalEvent
from tests.helpers import create, ledger, organization

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
NATS_URL = "nats://127.0.0.1:4222"


def fast_settings(database_url: str, **extra: Any) -> Settings:
    """A relay that retries within tens of milliseconds and polls five times a second."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "events_retry_base_s": 0.05,
        "events_retry_max_s": 0.5,
        "events_poll_s": 0.2,
        "events_timeout_s": 3.0,
        **extra,
    }
    return Settings(**values)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def transfer(value: int | str, source: str = "@alice", destination: str = "@bob", **extra: Any) -> dict[str, Any]:
    amount = {"asset": "BRL", "value": str(value)}
    return {
        "send": {
            "asset": "BRL",
            "value": str(value),
            "source": {"from": [{"accountAlias": source, "amount": amount}]},
            "distribute": {"to": [{"accountAlias": destination, "amount": amount}]},
        },
        **extra,
    }


def inflow(value: int | str, destination: str = "@alice") -> dict[str, Any]:
    amount = {"asset": "BRL", "value": str(value)}
    return {
        "send": {
            "asset": "BRL",
            "value": str(value),
            "distribute": {"to": [{"accountAlias": destination, "amount": amount}]},
        }
    }


async def funded_ledger(client: Any, amount: int = 100) -> tuple[str, str, str]:
    """An organization, a ledger with BRL, @alice (holding ``amount``) and @bob: (org, ledger, base path)."""
    org = await organization(client)
    led = await ledger(client, org["id"])
    base = f"/v1/organizations/{org['id']}/ledgers/{led['id']}"
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    for alias in ("@alice", "@bob"):
        await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": alias})
    await create(client, f"{base}/transactions/inflow", inflow(amount))
    return org["id"], led["id"], base


async def journal(database_url: str) -> list[dict[str, Any]]:
    """Every event the journal holds, in chain order, as the relay reads them (a money change's
    row carries its balance changes too)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT organization_id, ledger_id, seq, id, event_type, subject, created_at, payload, span"
            " FROM journal ORDER BY organization_id, ledger_id, seq"
        )
    finally:
        await conn.close()
    keys = ("organization_id", "ledger_id", "seq", "id", "event_type", "subject")
    events = (event for row in rows for event in events_of(JournalEvent(*row)))
    return [{key: getattr(event, key) for key in keys} for event in events]


def validators() -> dict[str, jsonschema.protocols.Validator]:
    """One validator per event type, from the schema files published in docs/events/."""
    out = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text())
        out[schema["title"]] = jsonschema.Draft202012Validator(schema)
    return out


def assert_valid(envelopes: Iterable[dict[str, Any]]) -> int:
    """Each envelope validates against its type's schema; returns how many were checked."""
    checks = validators()
    count = 0
    for envelope in envelopes:
        errors = sorted(checks[envelope["type"]].iter_errors(envelope), key=lambda e: list(e.path))
        assert not errors, (envelope["type"], [f"{list(e.path)}: {e.message}" for e in errors[:5]])
        count += 1
    return count


def assert_in_chain_order(envelopes: list[dict[str, Any]]) -> dict[tuple[str, str], list[int]]:
    """After de-duplication by id, each chain's events arrive with strictly increasing seq."""
    seen: set[str] = set()
    chains: dict[tuple[str, str], list[int]] = {}
    for envelope in envelopes:
        if envelope["id"] in seen:
            continue
        seen.add(envelope["id"])
        chains.setdefault((envelope["organizationid"], envelope["ledgerid"]), []).append(envelope["seq"])
    for chain, seqs in chains.items():
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), (chain, seqs[:20])
    return chains


class Proxy:
    """A TCP proxy to a broker; ``stop`` closes the port and cuts every connection (an outage);
    ``hold`` keeps connections open but forwards nothing until ``release`` (a broker that hangs)."""

    def __init__(self, port: int, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.port = port
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    def hold(self) -> None:
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            self._writers.clear()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()
