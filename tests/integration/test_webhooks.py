"""Webhooks: subscriptions by API, signed deliveries, retries, and the attempts listed by API."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.events.sinks.webhooks import SIGNATURE_HEADER, verify
from tests.helpers import assert_problem, create, organization
from tests.integration.events_support import assert_valid, fast_settings, funded_ledger, transfer
from tests.integration.server import free_port


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A local HTTP endpoint that answers each delivery with the next status of ``statuses``."""

    statuses: list[int]
    port: int = field(default_factory=free_port)
    deliveries: list[Delivery] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")[1:]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.deliveries.append(Delivery(headers, body))
                status = self.statuses.pop(0) if self.statuses else 200
                writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def wait_for(self, count: int, timeout_s: float = 10) -> list[Delivery]:
        deadline = time.monotonic() + timeout_s
        while len(self.deliveries) < count:
            assert time.monotonic() < deadline, f"{len(self.deliveries)} of {count} deliveries"
            await asyncio.sleep(0.02)
        return self.deliveries


@pytest.fixture
async def hooked(own_database_url: str) -> AsyncIterator[AsyncTestClient]:
    settings = fast_settings(own_database_url, events_attempts_max=3)
    async with AsyncTestClient(app=create_app(settings), base_url="http://kontor.test") as client:
        yield client


async def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt(hooked):
    receiver = Receiver([500, 503])
    await receiver.start()
    try:
        org_id, ledger_id, base = await funded_ledger(hooked)
        hook = await create(
            hooked,
            f"/v1/organizations/{org_id}/webhooks",
            {"url": receiver.url, "eventTypes": ["transaction.posted"], "description": "ledger feed"},
        )
        secret = hook["secret"]
        assert secret.startswith("whsec_") and hook["eventTypes"] == ["transaction.posted"]
        posted = await create(hooked, f"{base}/transactions/json", transfer(25))

        deliveries = await receiver.wait_for(3)
        await asyncio.sleep(0.3)  # nothing else may follow: one event, delivered once it succeeded
        assert len(deliveries) == 3
        for attempt, delivery in enumerate(deliveries, start=1):
            assert verify(secret, delivery.headers[SIGNATURE_HEADER.lower()], delivery.body, time.time())
            assert not verify(secret, delivery.headers[SIGNATURE_HEADER.lower()], delivery.body + b" ", time.time())
            assert delivery.headers["x-kontor-delivery-attempt"] == str(attempt)
            assert delivery.headers["content-type"] == "application/cloudevents+json"
        envelope = json.loads(deliveries[-1].body)
        assert envelope["type"] == "transaction.posted" and envelope["subject"] == posted["id"]
        assert envelope["ledgerid"] == ledger_id and envelope["data"]["id"] == posted["id"]
        assert_valid([envelope])

        attempts = (await hooked.get(f"/v1/organizations/{org_id}/webhooks/{hook['id']}/attempts")).json()["items"]
        assert [(a["attempt"], a["statusCode"], a["succeeded"]) for a in attempts] == [
            (3, 200, True),
            (2, 503, False),
            (1, 500, False),
        ]
        assert {a["eventId"] for a in attempts} == {envelope["id"]}
    finally:
        await receiver.stop()


async def test_an_event_refused_too_often_is_dead_lettered_and_the_next_one_delivered(hooked, own_database_url):
    receiver = Receiver([500, 500, 500])  # events_attempts_max=3: the first event is given up
    await receiver.start()
    try:
        org_id, _, base = await funded_ledger(hooked)
        hook = await create(
            hooked, f"/v1/organizations/{org_id}/webhooks", {"url": receiver.url, "eventTypes": ["transaction.posted"]}
        )
        first = await create(hooked, f"{base}/transactions/json", transfer(1))
        second = await create(hooked, f"{base}/transactions/json", transfer(2))
        deliveries = await receiver.wait_for(4)
        subjects = [json.loads(d.body)["subject"] for d in deliveries]
        assert subjects == [first["id"]] * 3 + [second["id"]]
        conn = await asyncpg.connect(own_database_url)
        try:
            dead = await conn.fetch("SELECT sink, attempts, last_error FROM event_dead_letters")
        finally:
            await conn.close()
        assert [(r["sink"], r["attempts"], r["last_error"]) for r in dead] == [(f"webhook:{hook['id']}", 3, "HTTP 500")]
    finally:
        await receiver.stop()


async def test_subscriptions_are_listed_without_their_secret_and_deleted(client):
    hooked = client  # the session's app: no relay runs there, so nothing is delivered
    org = await organization(hooked)
    base = f"/v1/organizations/{org['id']}/webhooks"
    hook = await create(hooked, base, {"url": "http://127.0.0.1:9/hook"})
    assert hook["eventTypes"] == [] and hook["ledgerId"] is None
    listed = (await hooked.get(base)).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]] and all("secret" not in h for h in listed)
    got = await hooked.get(f"{base}/{hook['id']}")
    assert got.status_code == 200 and "secret" not in got.json()
    assert (await hooked.delete(f"{base}/{hook['id']}")).status_code == 204
    assert (await hooked.get(base)).json()["items"] == []
    assert_problem(await hooked.get(f"{base}/{hook['id']}"), 404, "0007")
    assert (await hooked.get(f"{base}/{hook['id']}/attempts")).json()["items"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "ftp://example.test/x"}, "0047"),
        ({"url": "/relative"}, "0047"),
        ({"url": "http://127.0.0.1:9/", "eventTypes": ["transaction.exploded"]}, "0047"),
        ({"eventTypes": []}, "0009"),
    ],
)
async def test_invalid_subscriptions_are_refused(client, body: dict[str, Any], code: str):
    org = await organization(client)
    assert_problem(await client.post(f"/v1/organizations/{org['id']}/webhooks", json=body), 400, code)
