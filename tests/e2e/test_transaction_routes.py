from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem, create, ledger, organization


@pytest.fixture
async def base(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}"


@pytest.fixture
def url(base):
    return f"{base}/transaction-routes"


async def operation_route(client, base, operation_type, **extra):
    body = {"title": f"{operation_type} route", "operationType": operation_type, **extra}
    return await create(client, f"{base}/operation-routes", body)


async def test_create_get_list_patch_delete(client, base, url):
    source = await operation_route(client, base, "source", account={"ruleType": "alias", "validIf": "@alice"})
    destination = await operation_route(client, base, "destination")
    body = {
        "title": "Charge settlement",
        "description": "Settles a charge",
        "operationRoutes": [source["id"], destination["id"], source["id"]],  # a repeat links once
        "metadata": {"k": "v"},
    }
    created = await create(client, url, body)
    assert uuid.UUID(created["id"]).version == 7
    assert (created["title"], created["description"], created["metadata"]) == (
        "Charge settlement",
        "Settles a charge",
        {"k": "v"},
    )
    # The answer embeds the full operation routes, in the order given.
    assert created["operationRoutes"] == [source, destination]
    item = f"{url}/{created['id']}"
    assert (await client.get(item)).json() == created

    second = await create(client, url, {"title": "Second", "operationRoutes": [source["id"], destination["id"]]})
    page = (await client.get(url, params={"limit": 1})).json()
    assert [i["id"] for i in page["items"]] == [created["id"]] and page["next_cursor"]
    assert page["items"][0]["operationRoutes"] == [source, destination]
    rest = (await client.get(url, params={"cursor": page["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [second["id"]]

    bidirectional = await operation_route(client, base, "bidirectional")
    patched = (
        await client.patch(
            item,
            json={
                "title": "Renamed",
                "description": "",
                "operationRoutes": [bidirectional["id"]],
                "metadata": {"n": 1},
            },
        )
    ).json()
    assert (patched["title"], patched["description"], patched["metadata"]) == (
        "Renamed",
        "Settles a charge",
        {"k": "v", "n": 1},
    )
    assert patched["operationRoutes"] == [bidirectional]
    kept = (await client.patch(item, json={"title": "Again"})).json()
    assert kept["operationRoutes"] == [bidirectional]
    # The replaced routes are free again; the route still linked is not.
    assert_problem(await client.delete(f"{base}/operation-routes/{bidirectional['id']}"), 422, "0107")
    assert_problem(await client.patch(item, json={"operationType": "x"}), 400, "0053")

    assert (await client.delete(item)).status_code == 204
    assert_problem(await client.get(item), 404, "0105")
    assert_problem(await client.patch(item, json={"title": "x"}), 404, "0105")
    assert_problem(await client.delete(item), 404, "0105")
    assert_problem(await client.get(f"{url}/nope"), 400, "0065")
    assert (await client.delete(f"{base}/operation-routes/{bidirectional['id']}")).status_code == 204


async def test_request_shape(client, base, url):
    source = await operation_route(client, base, "source")
    assert_problem(await client.post(url, json={"operationRoutes": [source["id"]]}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "", "operationRoutes": [source["id"]]}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "t"}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": ["nope"]}), 400, "0047")
    assert_problem(await client.post(url, json={"title": "t" * 256, "operationRoutes": [source["id"]]}), 400, "0047")
    long_description = {"title": "t", "description": "d" * 251, "operationRoutes": [source["id"]]}
    assert_problem(await client.post(url, json=long_description), 400, "0047")
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": [], "x": 1}), 400, "0053")


async def test_operation_routes_must_exist(client, base, url):
    source = await operation_route(client, base, "source")
    destination = await operation_route(client, base, "destination")
    missing = str(uuid.uuid4())
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": [source["id"], missing]}), 404, "0101")
    assert (await client.delete(f"{base}/operation-routes/{destination['id']}")).status_code == 204
    deleted = {"title": "t", "operationRoutes": [source["id"], destination["id"]]}
    assert_problem(await client.post(url, json=deleted), 404, "0101")
    # Another ledger's operation route is not found either.
    org = await organization(client)
    other = await ledger(client, org["id"])
    foreign = await operation_route(client, f"/v1/organizations/{org['id']}/ledgers/{other['id']}", "destination")
    assert_problem(
        await client.post(url, json={"title": "t", "operationRoutes": [source["id"], foreign["id"]]}), 404, "0101"
    )
    assert (await client.get(url)).json()["items"] == []  # nothing was created


async def test_source_and_destination_needed(client, base, url):
    source = await operation_route(client, base, "source")
    destination = await operation_route(client, base, "destination")
    bidirectional = await operation_route(client, base, "bidirectional")
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": [destination["id"]]}), 422, "0153")
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": []}), 422, "0153")
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": [source["id"]]}), 422, "0154")
    # A bidirectional route counts as both.
    assert (await client.post(url, json={"title": "t", "operationRoutes": [bidirectional["id"]]})).status_code == 201
    both = await create(client, url, {"title": "t", "operationRoutes": [source["id"], bidirectional["id"]]})
    item = f"{url}/{both['id']}"
    assert_problem(await client.patch(item, json={"operationRoutes": [source["id"]]}), 422, "0154")
    assert_problem(await client.patch(item, json={"operationRoutes": [destination["id"]]}), 422, "0153")
    assert (await client.get(item)).json()["operationRoutes"] == [source, bidirectional]


async def test_at_most_100_operation_routes(client, base, url):
    source = await operation_route(client, base, "source")
    destination = await operation_route(client, base, "destination")
    too_many = [source["id"], destination["id"]] + [str(uuid.uuid4()) for _ in range(99)]
    assert_problem(await client.post(url, json={"title": "t", "operationRoutes": too_many}), 400, "0158")
    route = await create(client, url, {"title": "t", "operationRoutes": [source["id"], destination["id"]]})
    assert_problem(await client.patch(f"{url}/{route['id']}", json={"operationRoutes": too_many}), 400, "0158")
    # 100 ids, repeats included, is within the bound.
    hundred = [source["id"], destination["id"]] * 50
    assert (await client.post(url, json={"title": "t", "operationRoutes": hundred})).status_code == 201
