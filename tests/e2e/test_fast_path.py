"""POST .../transactions/json is served by kontor.api.fast in front of Litestar: it must answer
exactly what the Litestar route answers. Each case is sent to both (the second client runs the
same Litestar app without the fast path, on the same database) and the answers compared."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from kontor.api import fast
from kontor.api.app import create_app
from tests.e2e.test_transactions_basic import send, setup_ledger
from tests.helpers import inflow

# Fields of an answer that differ between two equal requests.
VARYING = {"id", "createdAt", "updatedAt", "transactionId", "balanceId", "accountId", "ledgerId", "organizationId"}


@pytest.fixture
async def plain(settings) -> AsyncIterator[AsyncTestClient]:
    fronted = create_app(settings)
    assert isinstance(fronted, fast.Fronted)
    async with AsyncTestClient(app=fronted.litestar, base_url="http://kontor.test") as client:
        yield client


def _shape(value):
    if isinstance(value, dict):
        return {k: ("<varies>" if k in VARYING else _shape(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return value


def _transfer(value="1", **extra):
    return send(
        value,
        [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": value}}],
        [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": value}}],
        **extra,
    )


CASES = {
    "posted": (_transfer("1", description="rent", metadata={"k": "v"}), {}),
    "pending": (_transfer("2", pending=True), {}),
    "insufficient funds (the funnel refuses)": (_transfer("1000"), {}),
    "unknown field (the body's shape)": ({**_transfer("1"), "nope": 1}, {}),
    "malformed JSON": (b'{"send": ', {}),
    "empty body": (b"", {}),
    "amount not a number": (_transfer("abc"), {}),
    "unknown account": (
        send(
            "1",
            [{"accountAlias": "@nobody", "amount": {"asset": "BRL", "value": "1"}}],
            [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "1"}}],
        ),
        {},
    ),
    "bad TTL header": (_transfer("1"), {"X-Idempotency": "k", "X-TTL": "soon"}),
    "not declared as JSON": (msgspec.json.encode(_transfer("1")), {"Content-Type": "text/plain"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
async def test_the_fast_path_answers_as_litestar_does(client, plain, case):
    body, headers = CASES[case]
    answers = []
    for http in (client, plain):
        base = await setup_ledger(http)
        await inflow(http, base, "@alice", "100")
        path = f"{base}/transactions/json"
        if isinstance(body, bytes):
            sent = {"Content-Type": "application/json", **headers}
            answers.append(await http.post(path, content=body, headers=sent))
        else:
            answers.append(await http.post(path, json=body, headers=headers))
    fronted, litestar = answers
    assert fronted.status_code == litestar.status_code, (fronted.text, litestar.text)
    assert fronted.headers["content-type"] == litestar.headers["content-type"]
    assert fronted.headers.get("x-idempotency-replayed") == litestar.headers.get("x-idempotency-replayed")
    assert _shape(fronted.json()) == _shape(litestar.json())


async def test_an_unknown_ledger_is_refused_as_litestar_refuses_it(client, plain):
    base = await setup_ledger(client)
    missing = base.rsplit("/", 1)[0] + f"/{uuid.uuid4()}/transactions/json"
    fronted, litestar = [await http.post(missing, json=_transfer("1")) for http in (client, plain)]
    assert (fronted.status_code, fronted.json()) == (litestar.status_code, litestar.json())
    assert fronted.status_code == 404


async def test_a_replay_through_the_fast_path(client):
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "10")
    key = {"X-Idempotency": uuid.uuid4().hex}
    first = await client.post(f"{base}/transactions/json", json=_transfer("1"), headers=key)
    again = await client.post(f"{base}/transactions/json", json=_transfer("1"), headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert (first.headers["x-idempotency-replayed"], again.headers["x-idempotency-replayed"]) == ("false", "true")
    assert again.content == first.content
