from __future__ import annotations

import uuid

import pytest

from kontor.service.account_types import key_exists
from kontor.store.db import Database
from tests.helpers import assert_problem, create, ledger, organization


@pytest.fixture
async def url(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}/account-types"


async def test_create_get_patch_delete(client, url):
    body = {"name": "Current Assets", "keyValue": "current_assets", "description": "Cash soon", "metadata": {"a": 1}}
    response = await client.post(url, json=body)
    assert response.status_code == 201
    created = response.json()
    assert uuid.UUID(created["id"]).version == 7
    assert {k: created[k] for k in body} == body
    assert url.split("/")[3] == created["organizationId"] and url.split("/")[5] == created["ledgerId"]
    assert created["deletedAt"] is None
    item = f"{url}/{created['id']}"
    assert (await client.get(item)).json() == created

    patched = (await client.patch(item, json={"name": "Assets", "description": None, "metadata": {"b": 2}})).json()
    assert (patched["name"], patched["keyValue"], patched["metadata"]) == ("Assets", "current_assets", {"a": 1, "b": 2})
    assert "description" not in patched
    assert_problem(await client.patch(item, json={"keyValue": "other"}), 400, "0053")

    assert (await client.delete(item)).status_code == 204
    assert_problem(await client.get(item), 404, "0109")
    assert_problem(await client.patch(item, json={"name": "x"}), 404, "0109")
    assert_problem(await client.delete(item), 404, "0109")
    assert (await client.post(url, json={"name": "Again", "keyValue": "current_assets"})).status_code == 201


async def test_key_value_rules(client, url):
    await create(client, url, {"name": "Cash", "keyValue": "cash"})
    assert_problem(await client.post(url, json={"name": "Cash 2", "keyValue": "cash"}), 409, "0108")
    assert (await client.post(url, json={"name": "Cash 3", "keyValue": "CASH-3_x"})).status_code == 201
    body = assert_problem(await client.post(url, json={"name": "Bad", "keyValue": "has space"}), 400, "0120")
    assert body["errors"][0]["location"] == "keyValue"
    assert_problem(await client.post(url, json={"name": "Bad", "keyValue": "a.b"}), 400, "0120")
    assert_problem(await client.post(url, json={"name": "Bad", "keyValue": "k" * 51}), 400, "0047")
    assert_problem(await client.post(url, json={"name": "Bad"}), 400, "0009")
    assert_problem(await client.post(url, json={"name": "", "keyValue": "k"}), 400, "0009")
    assert_problem(await client.post(url, json={"name": "n" * 101, "keyValue": "k"}), 400, "0047")
    assert_problem(await client.post(url, json={"name": "n", "keyValue": "k", "description": "d" * 501}), 400, "0047")


async def test_cursor_list_and_filter(client, url):
    ids = [(await create(client, url, {"name": f"T{i}", "keyValue": f"t{i}"}))["id"] for i in range(3)]
    first = (await client.get(url, params={"limit": 2})).json()
    assert [t["id"] for t in first["items"]] == ids[:2]
    assert first["limit"] == 2 and "prev_cursor" not in first
    second = (await client.get(url, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [t["id"] for t in second["items"]] == ids[2:]
    assert "next_cursor" not in second
    back = (await client.get(url, params={"limit": 2, "cursor": second["prev_cursor"]})).json()
    assert [t["id"] for t in back["items"]] == ids[:2]
    filtered = (await client.get(url, params={"key_value": "t1"})).json()
    assert [t["id"] for t in filtered["items"]] == [ids[1]]
    assert_problem(await client.get(url, params={"cursor": "???"}), 400, "0082")
    assert (await client.head(f"{url}/metrics/count")).status_code in (404, 405)


async def test_scope_errors(client, url):
    org_id, ledger_id = url.split("/")[3], url.split("/")[5]
    missing_ledger = url.replace(ledger_id, str(uuid.uuid4()))
    assert_problem(await client.post(missing_ledger, json={"name": "n", "keyValue": "k"}), 404, "0037")
    assert_problem(await client.get(missing_ledger), 404, "0037")
    assert_problem(await client.get(url.replace(org_id, str(uuid.uuid4()))), 404, "0038")
    assert_problem(await client.get(f"{url}/{uuid.uuid4()}"), 404, "0109")


async def test_key_exists(client, url, settings):
    await create(client, url, {"name": "Cash", "keyValue": "cash"})
    org_id, ledger_id = uuid.UUID(url.split("/")[3]), uuid.UUID(url.split("/")[5])
    # The test client serves the app on its own event loop, so this test opens its own pool.
    db = Database(settings.database_url, min_size=1, max_size=1)
    try:
        async with db.connection() as conn:
            assert await key_exists(conn, org_id, ledger_id, "cash")
            assert not await key_exists(conn, org_id, ledger_id, "CASH")
            assert not await key_exists(conn, org_id, uuid.uuid4(), "cash")
    finally:
        await db.close()
