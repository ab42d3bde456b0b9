"""POST .../transactions/batch: per-item answers in order, atomic mode, idempotency, limits."""

from __future__ import annotations

from tests.e2e.test_transactions_basic import balances, send, setup_ledger
from tests.helpers import assert_problem


def transfer(value, source="@alice", destination="@bob", **extra):
    return send(
        str(value),
        [{"accountAlias": source, "amount": {"asset": "BRL", "value": str(value)}}],
        [{"accountAlias": destination, "amount": {"asset": "BRL", "value": str(value)}}],
        **extra,
    )


async def funded(client, amount="100"):
    base = await setup_ledger(client)
    response = await client.post(
        f"{base}/transactions/inflow",
        json={
            "send": {
                "asset": "BRL",
                "value": amount,
                "distribute": {"to": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": amount}}]},
            }
        },
    )
    assert response.status_code == 201
    return base


async def test_items_answered_in_order_with_mixed_results(client, database_url):
    base = await funded(client)
    items = [
        transfer(30, description="a"),
        transfer(500, description="too much"),
        transfer(20, description="b"),
        transfer(0, description="zero"),
    ]
    response = await client.post(f"{base}/transactions/batch", json={"transactions": items})
    assert response.status_code == 207, response.text
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == [201, 422, 201, 422]
    assert answers[0]["transaction"]["description"] == "a" and answers[2]["transaction"]["description"] == "b"
    assert answers[1]["error"]["code"] == "0018" and answers[3]["error"]["code"] == "0125"
    got = await balances(database_url, base)
    assert got["@alice"] == (50, 0) and got["@bob"] == (50, 0)


async def test_all_created_answers_201(client):
    base = await funded(client)
    response = await client.post(
        f"{base}/transactions/batch", json={"transactions": [transfer(1, description=str(i)) for i in range(50)]}
    )
    assert response.status_code == 201
    assert [a["status"] for a in response.json()["items"]] == [201] * 50


async def test_atomic_batch_rolls_back_entirely(client, database_url):
    base = await funded(client)
    items = [transfer(30, description="a"), transfer(500, description="too much"), transfer(20, description="b")]
    response = await client.post(f"{base}/transactions/batch", json={"transactions": items, "atomic": True})
    assert response.status_code == 422, response.text
    codes = [a["error"]["code"] for a in response.json()["items"]]
    assert codes == ["KTR-0003", "0018", "KTR-0003"]
    got = await balances(database_url, base)
    assert got["@alice"] == (100, 0) and got["@bob"] == (0, 0)
    ok = await client.post(f"{base}/transactions/batch", json={"transactions": [items[0], items[2]], "atomic": True})
    assert ok.status_code == 201
    assert (await balances(database_url, base))["@bob"] == (50, 0)


async def test_atomic_batch_with_an_invalid_item_applies_nothing(client, database_url):
    base = await funded(client)
    items = [transfer(30, description="a"), transfer(-1, description="negative")]
    response = await client.post(f"{base}/transactions/batch", json={"transactions": items, "atomic": True})
    assert response.status_code == 422
    assert [a["error"]["code"] for a in response.json()["items"]] == ["KTR-0003", "0125"]
    assert (await balances(database_url, base))["@alice"] == (100, 0)


async def test_idempotency_per_item(client, database_url):
    base = await funded(client)
    first = transfer(10, description="once", idempotencyKey="k-1")
    response = await client.post(f"{base}/transactions/batch", json={"transactions": [first, first]})
    answers = response.json()["items"]
    assert answers[0]["transaction"]["id"] == answers[1]["transaction"]["id"]
    assert [a["replayed"] for a in answers] == [False, True]
    again = await client.post(f"{base}/transactions/batch", json={"transactions": [first]})
    assert again.json()["items"][0]["replayed"] is True
    assert again.json()["items"][0]["transaction"]["id"] == answers[0]["transaction"]["id"]
    assert (await balances(database_url, base))["@bob"] == (10, 0)


async def test_size_limits(client):
    base = await funded(client)
    too_many = {"transactions": [transfer(1, description=str(i)) for i in range(1001)]}
    assert_problem(await client.post(f"{base}/transactions/batch", json=too_many), 400, "KTR-0002")
    assert_problem(await client.post(f"{base}/transactions/batch", json={"transactions": []}), 400, "KTR-0004")
    assert_problem(await client.post(f"{base}/transactions/batch", json={"transactions": [{"x": 1}]}), 400, "0053")
