from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.helpers import assert_problem, create, ledger, organization, unique


@pytest.fixture
async def base(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}"


def asset_body(code="BRL", **extra):
    return {"name": unique("Asset"), "type": "currency", "code": code, **extra}


async def test_create_answers_midaz_fields(client, base):
    response = await client.post(f"{base}/assets", json=asset_body(metadata={"k": "v"}))
    assert response.status_code == 201, response.text
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body["code"] == "BRL" and body["type"] == "currency"
    assert body["status"] == {"code": "ACTIVE", "description": None}
    assert body["metadata"] == {"k": "v"}
    assert body["deletedAt"] is None
    assert base.endswith(body["ledgerId"]) and body["organizationId"] in base


async def test_create_makes_external_account_with_debit_balance(client, base, database_url):
    await create(client, f"{base}/assets", asset_body("USD"))
    response = await client.get(f"{base}/accounts/external/USD")
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["alias"] == "@external/USD"
    assert account["name"] == "External USD"
    assert account["type"] == "external"
    assert account["assetCode"] == "USD"
    assert account["status"] == {"code": "external", "description": "Account external created by asset: USD"}
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT key, direction, account_type, alias, asset_code, allow_sending, allow_receiving FROM balances "
            "WHERE account_id = $1 AND deleted_at IS NULL",
            uuid.UUID(account["id"]),
        )
    finally:
        await conn.close()
    assert [dict(r) for r in rows] == [
        {
            "key": "default",
            "direction": "debit",
            "account_type": "external",
            "alias": "@external/USD",
            "asset_code": "USD",
            "allow_sending": True,
            "allow_receiving": True,
        }
    ]


async def test_get_list_count_patch(client, base):
    first = await create(client, f"{base}/assets", asset_body("EUR", metadata={"tier": "a"}))
    await create(client, f"{base}/assets", asset_body("BTC", type="crypto"))
    assert (await client.get(f"{base}/assets/{first['id']}")).json() == first

    listed = (await client.get(f"{base}/assets", params={"limit": 1, "page": 2})).json()
    assert listed["page"] == 2 and listed["limit"] == 1
    assert [a["code"] for a in listed["items"]] == ["BTC"]
    by_meta = (await client.get(f"{base}/assets", params={"metadata.tier": "a"})).json()
    assert [a["id"] for a in by_meta["items"]] == [first["id"]]

    count = await client.head(f"{base}/assets/metrics/count")
    assert count.status_code == 204 and count.headers["X-Total-Count"] == "2"

    body = {"name": "Euro", "status": {"code": "INACTIVE", "description": "paused"}, "metadata": {"tier": None}}
    patched = await client.patch(f"{base}/assets/{first['id']}", json=body)
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Euro"
    assert patched.json()["status"] == {"code": "INACTIVE", "description": "paused"}
    assert patched.json()["metadata"] == {}
    assert patched.json()["code"] == "EUR"


async def test_delete_retires_asset_and_external_account(client, base):
    asset = await create(client, f"{base}/assets", asset_body("GBP"))
    assert (await client.delete(f"{base}/assets/{asset['id']}")).status_code == 204
    assert_problem(await client.get(f"{base}/assets/{asset['id']}"), 404, "0055")
    assert_problem(await client.get(f"{base}/accounts/external/GBP"), 404, "0085")
    assert_problem(await client.delete(f"{base}/assets/{asset['id']}"), 404, "0055")
    # The code, the name and the external alias are free again.
    again = await create(client, f"{base}/assets", {**asset_body("GBP"), "name": asset["name"]})
    assert again["id"] != asset["id"]
    assert (await client.get(f"{base}/accounts/external/GBP")).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "stock"}, "0040"),
        ({"code": "US1"}, "0033"),
        ({"code": "U-S"}, "0033"),
        ({"code": "Usd"}, "0004"),
        ({"code": "XYZ"}, "0005"),
        ({"code": "XYZ", "type": "fiat"}, "0005"),
        ({"code": "a" * 101}, "0047"),
        ({"name": "n" * 257}, "0047"),
        ({"name": ""}, "0009"),
        ({"extra": 1}, "0053"),
    ],
)
async def test_create_validation(client, base, body, code):
    assert_problem(await client.post(f"{base}/assets", json={**asset_body(), **body}), 400, code)


async def test_non_currency_codes_need_not_be_iso(client, base):
    for asset_type, code in (("crypto", "XYZ"), ("commodity", "GOLD"), ("others", "POINTS")):
        assert (await create(client, f"{base}/assets", asset_body(code, type=asset_type)))["code"] == code


async def test_missing_required_fields(client, base):
    for field in ("name", "type", "code"):
        body = asset_body()
        del body[field]
        assert_problem(await client.post(f"{base}/assets", json=body), 400, "0009")


async def test_duplicate_name_or_code(client, base):
    asset = await create(client, f"{base}/assets", asset_body("JPY"))
    assert_problem(await client.post(f"{base}/assets", json=asset_body("JPY")), 409, "0003")
    assert_problem(await client.post(f"{base}/assets", json={**asset_body("CHF"), "name": asset["name"]}), 409, "0003")
    other = await create(client, f"{base}/assets", asset_body("CHF"))
    assert_problem(await client.patch(f"{base}/assets/{other['id']}", json={"name": asset["name"]}), 409, "0003")


async def test_patch_rejects_other_fields(client, base):
    asset = await create(client, f"{base}/assets", asset_body("MXN"))
    assert_problem(await client.patch(f"{base}/assets/{asset['id']}", json={"code": "USD"}), 400, "0053")
    assert_problem(await client.patch(f"{base}/assets/{asset['id']}", json={"type": "crypto"}), 400, "0053")


async def test_not_found(client, base):
    missing = uuid.uuid4()
    assert_problem(await client.get(f"{base}/assets/{missing}"), 404, "0055")
    assert_problem(await client.patch(f"{base}/assets/{missing}", json={"name": "x"}), 404, "0055")
    assert_problem(await client.delete(f"{base}/assets/{missing}"), 404, "0055")
    assert_problem(await client.get(f"{base}/assets/not-a-uuid"), 400, "0065")
    org_part, _, _ = base.rpartition("/ledgers/")
    assert_problem(await client.post(f"{org_part}/ledgers/{missing}/assets", json=asset_body()), 404, "0037")
    no_org = f"/v1/organizations/{missing}/ledgers/{missing}/assets"
    assert_problem(await client.post(no_org, json=asset_body()), 404, "0038")
    assert_problem(await client.get(no_org), 404, "0038")
