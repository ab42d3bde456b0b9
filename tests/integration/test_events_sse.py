"""Server-Sent Events from a real ``kontor serve``: a balance change reaches an open stream within a
second of its 201, and a client reconnecting with Last-Event-ID resumes with no gap and no repeat."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from tests.integration.events_support import assert_valid, funded_ledger, journal, transfer
from tests.integration.server import Server

LATENCY_MAX_S = 1.0


class Stream:
    """The messages of one SSE response, parsed as they arrive."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines: AsyncIterator[str] = response.aiter_lines()

    async def next(self, timeout_s: float = 5.0) -> dict[str, Any]:
        return await asyncio.wait_for(self._next(), timeout_s)

    async def _next(self) -> dict[str, Any]:
        fields: dict[str, str] = {}
        async for line in self._lines:
            if line == "":
                if "data" in fields:
                    return {"id": int(fields["id"]), "event": fields["event"], "envelope": json.loads(fields["data"])}
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        raise EOFError("the stream ended")


async def test_balance_changes_stream_live_and_resume_without_gap_or_repeat(own_database_url):
    with Server(own_database_url, workers=2, env={"KONTOR_EVENTS_RELAY": "false"}) as server:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as http:
            _, _, base = await funded_ledger(http)
            url = f"{base}/events/stream?types=balance.changed"
            received: list[dict[str, Any]] = []
            latencies = []
            async with http.stream("GET", url) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                stream = Stream(response)
                for i in range(3):  # distinct bodies: a repeated body is an idempotent replay
                    posted = await http.post(f"{base}/transactions/json", json=transfer(1, description=f"live {i}"))
                    answered = time.perf_counter()
                    assert posted.status_code == 201, posted.text
                    first = await stream.next(timeout_s=LATENCY_MAX_S)
                    latencies.append(time.perf_counter() - answered)
                    second = await stream.next()
                    paid = {m["envelope"]["data"]["transactionId"] for m in (first, second)}
                    assert paid == {posted.json()["id"]}
                    received += [first, second]
            assert max(latencies) < LATENCY_MAX_S, latencies
            print(f"SSE latency after the 201: {', '.join(f'{s * 1000:.1f} ms' for s in latencies)}")

            for value in (2, 3, 4):  # while no one listens
                assert (await http.post(f"{base}/transactions/json", json=transfer(value))).status_code == 201
            last_id = str(received[-1]["id"])
            async with http.stream("GET", url, headers={"Last-Event-ID": last_id}) as response:
                stream = Stream(response)
                for _ in range(6):
                    received.append(await stream.next())

    ledger_id = base.rsplit("/", 1)[1]
    rows = await journal(own_database_url)
    changed = [r["seq"] for r in rows if str(r["ledger_id"]) == ledger_id and r["event_type"] == "balance.changed"]
    assert [m["id"] for m in received] == changed[-12:]  # in order, none missing, none twice
    assert all(m["event"] == "balance.changed" and m["envelope"]["seq"] == m["id"] for m in received)
    assert_valid(m["envelope"] for m in received)
