from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem, create, ledger, organization


@pytest.fixture
async def url(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}/segments"


async def test_create_get_patch_delete(client, url):
    response = await client.post(url, json={"name": "Retail", "status": {"code": "ACTIVE", "description": "on"}})
    assert response.status_code == 201
    segment = response.json()
    assert uuid.UUID(segment["id"]).version == 7
    assert segment["status"] == {"code": "ACTIVE", "description": "on"}
    assert url.split("/")[5] == segment["ledgerId"]
    item = f"{url}/{segment['id']}"
    assert (await client.get(item)).json() == segment
    patched = await client.patch(item, json={"name": "Wholesale", "metadata": {"k": True}})
    assert (patched.json()["name"], patched.json()["metadata"]) == ("Wholesale", {"k": True})
    assert (await client.delete(item)).status_code == 204
    assert_problem(await client.get(item), 404, "0036")
    assert_problem(await client.patch(item, json={"name": "x"}), 404, "0036")
    assert_problem(await client.delete(item), 404, "0036")


async def test_name_is_unique_among_live_segments(client, url):
    first = await create(client, url, {"name": "Retail"})
    assert_problem(await client.post(url, json={"name": "Retail"}), 409, "0015")
    other = await create(client, url, {"name": "Corporate"})
    assert_problem(await client.patch(f"{url}/{other['id']}", json={"name": "Retail"}), 409, "0015")
    assert (await client.patch(f"{url}/{first['id']}", json={"name": "Retail"})).status_code == 200
    assert (await client.delete(f"{url}/{first['id']}")).status_code == 204
    assert (await client.post(url, json={"name": "Retail"})).status_code == 201


async def test_list_and_count(client, url):
    ids = [(await create(client, url, {"name": f"S{i}"}))["id"] for i in range(3)]
    page = (await client.get(url, params={"limit": 2, "page": 2})).json()
    assert ([s["id"] for s in page["items"]], page["page"], page["limit"]) == ([ids[2]], 2, 2)
    count = await client.head(f"{url}/metrics/count")
    assert (count.status_code, count.headers["X-Total-Count"]) == (204, "3")


async def test_request_and_scope_errors(client, url):
    assert_problem(await client.post(url, json={"name": ""}), 400, "0009")
    assert_problem(await client.post(url, json={"name": "x" * 257}), 400, "0047")
    assert_problem(await client.get(f"{url}/{uuid.uuid4()}"), 404, "0036")
    org_id, ledger_id = url.split("/")[3], url.split("/")[5]
    assert_problem(await client.get(url.replace(ledger_id, str(uuid.uuid4()))), 404, "0037")
    assert_problem(await client.post(url.replace(org_id, str(uuid.uuid4())), json={"name": "x"}), 404, "0038")
