"""An account's operations over HTTP: the list (filters, default window, cursor) and one read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import assert_problem, create, ledger, organization


def leg(alias: str, value: str) -> dict:
    return {"accountAlias": alias, "amount": {"asset": "BRL", "value": value}}


@pytest.fixture
async def led(client):
    """A ledger where @alice received 100 (inflow) and sent 30 to @bob; returns its paths and postings."""
    org = await organization(client)
    ledger_row = await ledger(client, org["id"])
    base = f"/v1/organizations/{org['id']}/ledgers/{ledger_row['id']}"
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    accounts = {}
    for alias in ("@alice", "@bob"):
        body = {"assetCode": "BRL", "type": "deposit", "alias": alias}
        accounts[alias] = await create(client, f"{base}/accounts", body)
    inflow = await create(
        client,
        f"{base}/transactions/inflow",
        {"send": {"asset": "BRL", "value": "100", "distribute": {"to": [leg("@alice", "100")]}}},
    )
    transfer = await create(
        client,
        f"{base}/transactions/json",
        {
            "send": {
                "asset": "BRL",
                "value": "30",
                "source": {"from": [leg("@alice", "30")]},
                "distribute": {"to": [leg("@bob", "30")]},
            }
        },
    )
    return {
        "base": base,
        "alice": f"{base}/accounts/{accounts['@alice']['id']}/operations",
        "bob": f"{base}/accounts/{accounts['@bob']['id']}/operations",
        "inflow": inflow,
        "transfer": transfer,
    }


def alice_leg(transaction: dict) -> dict:
    return next(op for op in transaction["operations"] if op["accountAlias"] == "@alice")


async def list_items(client, path: str, **params) -> list[dict]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    items: list[dict] = response.json()["items"]
    return items


async def test_list_answers_the_operations_as_posted(client, led):
    items = await list_items(client, led["alice"])
    assert items == [alice_leg(led["inflow"]), alice_leg(led["transfer"])]
    assert [(op["type"], op["direction"], op["amount"]["value"]) for op in items] == [
        ("CREDIT", "credit", "100"),
        ("DEBIT", "debit", "30"),
    ]
    assert items[1]["balance"]["available"] == "100" and items[1]["balanceAfter"]["available"] == "70"
    newest_first = await list_items(client, led["alice"], sort_order="desc")
    assert newest_first == items[::-1]


async def test_filters(client, led):
    assert [op["type"] for op in await list_items(client, led["alice"], type="debit")] == ["DEBIT"]
    assert [op["type"] for op in await list_items(client, led["alice"], direction="credit")] == ["CREDIT"]
    assert [op["type"] for op in await list_items(client, led["alice"], direction="DEBIT")] == ["DEBIT"]
    assert await list_items(client, led["alice"], type="ON_HOLD") == []
    assert await list_items(client, led["alice"], route_id=str(uuid.uuid4())) == []
    assert_problem(await client.get(led["alice"], params={"direction": "sideways"}), 400, "0082")
    assert_problem(await client.get(led["alice"], params={"route_id": "not-a-uuid"}), 400, "0082")
    assert_problem(await client.get(led["alice"], params={"type": "x" * 257}), 400, "0082")


async def test_cursor_pages(client, led):
    first = (await client.get(led["alice"], params={"limit": 1})).json()
    assert len(first["items"]) == 1 and first["limit"] == 1 and first["next_cursor"]
    second = (await client.get(led["alice"], params={"limit": 1, "cursor": first["next_cursor"]})).json()
    assert second["items"] == [alice_leg(led["transfer"])]
    assert "next_cursor" not in second and second["prev_cursor"]


async def test_default_window_is_the_last_month(client, led):
    back = (datetime.now(UTC) - timedelta(days=70)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = await create(
        client,
        f"{led['base']}/transactions/inflow",
        {"transactionDate": back, "send": {"asset": "BRL", "value": "1", "distribute": {"to": [leg("@alice", "1")]}}},
    )
    assert len(await list_items(client, led["alice"])) == 2
    day = back[:10]
    dated = await list_items(client, led["alice"], start_date=day, end_date=day)
    assert dated == [alice_leg(old)]
    assert await list_items(client, led["alice"], start_date="2000-01-01", end_date="2000-01-02") == []
    assert_problem(await client.get(led["alice"], params={"start_date": day}), 400, "0083")


async def test_unknown_account_has_no_operations(client, led):
    path = f"{led['base']}/accounts/{uuid.uuid4()}/operations"
    assert await list_items(client, path) == []


async def test_get_one_operation_of_the_account(client, led):
    operation = alice_leg(led["transfer"])
    response = await client.get(f"{led['alice']}/{operation['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == operation
    assert_problem(await client.get(f"{led['bob']}/{operation['id']}"), 404, "0007")
    assert_problem(await client.get(f"{led['alice']}/{uuid.uuid4()}"), 404, "0007")
    assert_problem(await client.get(f"{led['alice']}/not-a-uuid"), 400, "0065")
    other_ledger = led["alice"].replace(led["base"].split("/")[-1], str(uuid.uuid4()))
    assert_problem(await client.get(f"{other_ledger}/{operation['id']}"), 404, "0037")
