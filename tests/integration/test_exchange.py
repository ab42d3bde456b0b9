"""The exchange engine end to end: BRL to USD at a stored rate with a spread; every asset nets to
zero, the spread lands in the income account, the rounding residue is booked, kontor verify passes,
and missing or expired rates are refused."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

import asyncpg

from kontor.service.verify import verify
from tests.e2e.test_transactions_basic import setup_ledger
from tests.helpers import assert_problem, create


async def _exchange_ledger(client):
    base = await setup_ledger(client, aliases=("@alice",))
    await create(client, f"{base}/assets", {"name": "Dollar", "type": "currency", "code": "USD"})
    for alias in ("@bob-usd", "@fx-income"):
        await create(client, f"{base}/accounts", {"assetCode": "USD", "type": "deposit", "alias": alias})
    response = await client.post(
        f"{base}/transactions/inflow",
        json={
            "send": {
                "asset": "BRL",
                "value": "500",
                "distribute": {"to": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "500"}}]},
            }
        },
    )
    assert response.status_code == 201
    return base


def _pay(value: str, destination: str = "@bob-usd", to: str = "USD") -> dict:
    return {
        "send": {
            "asset": "BRL",
            "value": value,
            "source": {"from": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": value}}]},
            "distribute": {
                "to": [
                    {
                        "accountAlias": destination,
                        "amount": {"asset": "BRL", "value": value},
                        "rate": {"from": "BRL", "to": to},
                    }
                ]
            },
        }
    }


async def _available(client, base, alias):
    items = (await client.get(f"{base}/accounts/alias/{alias}/balances")).json()["items"]
    return Decimal(next(b for b in items if b["key"] == "default")["available"])


async def test_brl_to_usd_with_spread_and_rounding(own_client, own_database_url):
    client = own_client
    base = await _exchange_ledger(client)
    rate = await client.put(
        f"{base}/asset-rates",
        json={
            "from": "BRL",
            "to": "USD",
            "rate": 18347,
            "scale": 5,
            "source": "test desk",
            "ttl": 3600,
            "spreadPercent": "1.5",
            "spreadAccount": "@fx-income",
        },
    )
    assert rate.status_code == 201, rate.text
    assert (rate.json()["rate"], rate.json()["scale"]) == (18347, 5)
    fetched = await client.get(f"{base}/asset-rates/{rate.json()['externalId']}")
    assert fetched.status_code == 200 and fetched.json()["spreadPercent"] == "1.5"
    listed = await client.get(f"{base}/asset-rates/from/BRL", params={"to": "USD,EUR"})
    assert [r["to"] for r in listed.json()["items"]] == ["USD"]

    paid = await client.post(f"{base}/transactions/json", json=_pay("100"))
    assert paid.status_code == 201, paid.text
    per_asset: dict[str, Decimal] = defaultdict(Decimal)
    for op in paid.json()["operations"]:
        sign = 1 if op["direction"] == "debit" else -1
        per_asset[op["assetCode"]] += sign * Decimal(op["amount"]["value"])
    assert per_asset == {"BRL": 0, "USD": 0}
    assert await _available(client, base, "@bob-usd") == Decimal("18.07")  # 18.347 less 1.5 %, rounded down
    assert await _available(client, base, "@fx-income") == Decimal("0.27")
    assert await _available(client, base, "@rounding:USD") == Decimal("0.007")
    assert await _available(client, base, "@alice") == Decimal(400)

    reverted = await client.post(f"{base}/transactions/{paid.json()['id']}/revert")
    assert reverted.status_code == 201, reverted.text
    assert await _available(client, base, "@bob-usd") == 0 and await _available(client, base, "@alice") == 500
    lines: list[str] = []
    assert (await verify(own_database_url, lines.append)).ok, lines


async def test_leg_rate_missing_and_expired(own_client, own_database_url):
    client = own_client
    base = await _exchange_ledger(client)
    assert_problem(await client.post(f"{base}/transactions/json", json=_pay("10")), 422, "KTR-0010")
    rate = await client.put(f"{base}/asset-rates", json={"from": "BRL", "to": "USD", "rate": 2, "scale": 1, "ttl": 60})
    assert rate.status_code == 201
    conn = await asyncpg.connect(own_database_url)
    try:
        await conn.execute(
            "UPDATE asset_rates SET updated_at = now() - interval '2 minutes' WHERE external_id = $1",
            uuid.UUID(rate.json()["externalId"]),
        )
    finally:
        await conn.close()
    assert_problem(await client.post(f"{base}/transactions/json", json=_pay("10")), 422, "KTR-0011")
    assert await _available(client, base, "@alice") == 500
    given = _pay("10")
    given["send"]["distribute"]["to"][0]["rate"]["value"] = "0.2"  # a rate given on the leg needs no stored one
    paid = await client.post(f"{base}/transactions/json", json=given)
    assert paid.status_code == 201, paid.text
    assert await _available(client, base, "@bob-usd") == 2
