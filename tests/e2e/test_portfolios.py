from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem, create, ledger, organization


@pytest.fixture
async def url(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}/portfolios"


async def test_create_answers_midaz_fields(client, url):
    response = await client.post(url, json={"name": "Treasury", "entityId": "EXT-1", "metadata": {"k": 1}})
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body["name"] == "Treasury"
    assert body["entityId"] == "EXT-1"
    assert url.split("/")[3] == body["organizationId"] and url.split("/")[5] == body["ledgerId"]
    assert body["status"] == {"code": "ACTIVE", "description": None}
    assert body["metadata"] == {"k": 1}
    assert body["deletedAt"] is None
    bare = await create(client, url, {"name": "Bare"})
    assert bare["entityId"] is None and bare["metadata"] == {}


async def test_get_patch_delete(client, url):
    portfolio = await create(client, url, {"name": "P", "entityId": "E"})
    item = f"{url}/{portfolio['id']}"
    assert (await client.get(item)).json() == portfolio
    patched = await client.patch(item, json={"name": "Q", "entityId": None, "status": {"code": "INACTIVE"}})
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["entityId"]) == ("Q", None)
    assert patched.json()["status"]["code"] == "INACTIVE"
    assert (await client.patch(item, json={"metadata": {"x": "y"}})).json()["metadata"] == {"x": "y"}
    assert (await client.delete(item)).status_code == 204
    assert_problem(await client.get(item), 404, "0035")
    assert_problem(await client.patch(item, json={"name": "R"}), 404, "0035")
    assert_problem(await client.delete(item), 404, "0035")


async def test_names_need_not_be_unique(client, url):
    first = await create(client, url, {"name": "Same"})
    second = await create(client, url, {"name": "Same"})
    assert first["id"] != second["id"]


async def test_list_filters_and_count(client, url):
    first = await create(client, url, {"name": "A", "entityId": "E-1", "metadata": {"tier": "gold"}})
    second = await create(client, url, {"name": "B", "entityId": "E-2", "status": {"code": "INACTIVE"}})
    listed = (await client.get(url)).json()
    assert [p["id"] for p in listed["items"]] == [first["id"], second["id"]]
    assert (listed["page"], listed["limit"]) == (1, 10)
    assert [p["id"] for p in (await client.get(url, params={"entity_id": "E-2"})).json()["items"]] == [second["id"]]
    assert [p["id"] for p in (await client.get(url, params={"status": "ACTIVE"})).json()["items"]] == [first["id"]]
    assert [p["id"] for p in (await client.get(url, params={"metadata.tier": "gold"})).json()["items"]] == [first["id"]]
    assert_problem(await client.get(url, params={"status": "GONE"}), 400, "0082")
    count = await client.head(f"{url}/metrics/count")
    assert (count.status_code, count.headers["X-Total-Count"]) == (204, "2")


async def test_request_and_scope_errors(client, url):
    assert_problem(await client.post(url, json={}), 400, "0009")
    assert_problem(await client.post(url, json={"name": "x" * 257}), 400, "0047")
    assert_problem(await client.post(url, json={"name": "x", "entityId": "e" * 257}), 400, "0047")
    assert_problem(await client.post(url, json={"name": "x", "ledgerId": str(uuid.uuid4())}), 400, "0053")
    assert_problem(await client.get(f"{url}/{uuid.uuid4()}"), 404, "0035")
    assert_problem(await client.get(f"{url}/nope"), 400, "0065")
    org_id, ledger_id = url.split("/")[3], url.split("/")[5]
    missing_ledger = url.replace(ledger_id, str(uuid.uuid4()))
    assert_problem(await client.post(missing_ledger, json={"name": "x"}), 404, "0037")
    assert_problem(await client.get(missing_ledger), 404, "0037")
    missing_org = url.replace(org_id, str(uuid.uuid4()))
    assert_problem(await client.post(missing_org, json={"name": "x"}), 404, "0038")
    assert (await client.head(f"{missing_org}/metrics/count")).status_code == 404
