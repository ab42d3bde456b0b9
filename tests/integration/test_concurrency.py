"""The posting engine under load, across processes and crashes.

* 64 concurrent clients post random transfers among 50 accounts, each also crediting one hot
  account, against a server with 2 worker processes; afterwards ``kontor verify`` passes, every 201
  is stored exactly once, nothing refused left a trace, and every balance equals the replay of
  exactly the accepted transfers.
* The same load, with the server SIGKILLed in the middle and restarted: every transfer answered 201
  before the kill is there, nothing is half-applied.
* The same X-Idempotency sent 20 times at once, and again after a restart: one transaction, 20
  identical answers.

Sizes are bounded for ``make test``; ``KONTOR_LOAD_TRANSFERS`` raises them for a soak run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.integration import load
from tests.integration.server import KONTOR, Server

TRANSFERS = int(os.environ.get("KONTOR_LOAD_TRANSFERS", "20000"))
CLIENTS = 64
ACCOUNTS = 50

pytestmark = pytest.mark.slow


def kontor_verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KONTOR), "verify"],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _client(server: Server) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    return httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60)


async def _stored(database_url: str, ledger: load.Ledger) -> tuple[dict[str, str], dict[str, object], set[str]]:
    """Stored transfers by description -> id, balances by alias, and the idempotency keys stored."""
    ledger_id = uuid.UUID(ledger.base.rsplit("/", 1)[1])
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT id, description FROM transactions WHERE ledger_id = $1 AND description IS NOT NULL", ledger_id
        )
        descriptions = Counter(r["description"] for r in rows)
        assert max(descriptions.values(), default=1) == 1, "a transfer was stored twice"
        balances = {
            r["alias"]: r["available"]
            for r in await conn.fetch(
                "SELECT alias, available FROM balances WHERE ledger_id = $1 AND key = 'default'", ledger_id
            )
        }
        keys = {r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys WHERE ledger_id = $1", ledger_id)}
    finally:
        await conn.close()
    return {r["description"]: str(r["id"]) for r in rows}, balances, keys


def _description(answer: load.Answer, bodies: dict[str, str]) -> str:
    return bodies[answer.key]


async def _check(database_url: str, ledger: load.Ledger, answers: list[load.Answer], *, crashed: bool) -> None:
    stored, balances, keys = await _stored(database_url, ledger)
    by_key = {a.key: a for a in answers}
    accepted = [a for a in answers if a.status == 201]
    refused = [a for a in answers if 400 <= a.status < 500]
    assert accepted, "no transfer was accepted"
    stored_ids = set(stored.values())
    for answer in accepted:
        assert answer.transaction_id in stored_ids, f"201 transaction {answer.transaction_id} is missing"
        assert answer.key in keys
    for answer in refused:
        assert answer.code == "0018", answer
        assert answer.key not in keys, "a refused transfer left an idempotency record"
    if not crashed:
        assert all(a.status in (201, 422) for a in answers), Counter((a.status, a.code) for a in answers)
        assert len(stored) == len(accepted), "stored transfers differ from the 201 answers"
    # Balances equal the replay of exactly what is stored (for a crash, answers lost with the
    # connection may or may not have committed; the stored ones count).
    committed = [a for a in answers if a.key in keys]
    assert len(committed) == len(stored)
    expected = load.expected_balances(ledger, committed)
    assert {alias: balances[alias] for alias in expected} == expected
    assert all(v >= 0 for v in balances.values() if v is not None)
    assert by_key  # answers were recorded
    result = kontor_verify(database_url)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_concurrent_transfers_two_workers(own_database_url, tmp_path: Path):
    database_url = own_database_url
    with Server(database_url, workers=2, log_path=tmp_path / "server.log") as server:
        async with _client(server) as client:
            ledger = await load.setup(client, ACCOUNTS, funding=load.Decimal(100_000))
            answers = await load.run(client, ledger, TRANSFERS, CLIENTS, seed=1)
    statuses = Counter(a.status for a in answers)
    assert statuses[201] > TRANSFERS // 2, Counter((a.status, a.code) for a in answers)
    await _check(database_url, ledger, answers, crashed=False)


async def test_sigkill_mid_load_loses_nothing_acknowledged(own_database_url, tmp_path: Path):
    database_url = own_database_url
    server = Server(database_url, workers=2, log_path=tmp_path / "server.log").start()
    try:
        async with _client(server) as client:
            ledger = await load.setup(client, ACCOUNTS, funding=load.Decimal(100_000))
            stop = asyncio.Event()
            running = asyncio.create_task(load.run(client, ledger, TRANSFERS, CLIENTS, seed=2, stop=stop))
            while True:  # kill once a good share of the load has been answered
                await asyncio.sleep(0.2)
                if await _count(database_url, ledger) > min(2000, TRANSFERS // 4):
                    break
            server.kill()
            stop.set()
            answers = await running
        assert any(a.status == 0 for a in answers) or len(answers) < TRANSFERS
        server.start()
        await _check(database_url, ledger, answers, crashed=True)
        async with _client(server) as client:  # and the ledger still works
            more = await load.run(client, ledger, 200, 8, seed=3)
        assert any(a.status == 201 for a in more)
    finally:
        server.stop()


async def _count(database_url: str, ledger: load.Ledger) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM transactions WHERE ledger_id = $1", uuid.UUID(ledger.base.rsplit("/", 1)[1])
            )
        )
    finally:
        await conn.close()


async def test_same_idempotency_key_twenty_times_and_after_restart(own_database_url, tmp_path: Path):
    database_url = own_database_url
    server = Server(database_url, workers=2, log_path=tmp_path / "server.log").start()
    try:
        async with _client(server) as client:
            ledger = await load.setup(client, 2, funding=load.Decimal(1000))
            body, _ = load.transfer(ledger, load.random.Random(4))
            body["send"]["value"] = "10"
            body["send"]["source"]["from"][0]["amount"]["value"] = "10"
            body["send"]["distribute"]["to"][0]["amount"]["value"] = "9.99"
            headers = {"X-Idempotency": uuid.uuid4().hex}
            responses = await asyncio.gather(
                *(client.post(f"{ledger.base}/transactions/json", json=body, headers=headers) for _ in range(20))
            )
        assert [r.status_code for r in responses] == [201] * 20
        assert len({r.text for r in responses}) == 1, "the 20 answers differ"
        assert sorted(r.headers["X-Idempotency-Replayed"] for r in responses).count("false") == 1
        server.stop()
        server.start()
        async with _client(server) as client:
            again = await client.post(f"{ledger.base}/transactions/json", json=body, headers=headers)
        assert again.status_code == 201 and again.text == responses[0].text
        assert again.headers["X-Idempotency-Replayed"] == "true"
        stored, _, _ = await _stored(database_url, ledger)
        assert len(stored) == 1
    finally:
        server.stop()
