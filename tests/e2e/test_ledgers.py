from __future__ import annotations

import dataclasses
import uuid

from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from tests.helpers import assert_problem, ledger, organization, unique

DEFAULT_SETTINGS = {
    "accounting": {"validateAccountType": False, "validateRoutes": False, "requireHolder": False},
    "tracer": {"mode": "off", "failPosture": "open", "timeoutMs": 250},
    "overrides": {"allowFeeSkip": False, "allowTracerSkip": False, "allowHolderSkip": False},
}


def base(org_id: str) -> str:
    return f"/v1/organizations/{org_id}/ledgers"


async def test_create_answers_midaz_fields(client):
    org = await organization(client)
    response = await client.post(base(org["id"]), json={"name": "Treasury", "metadata": {"k": "v"}})
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body["organizationId"] == org["id"]
    assert body["name"] == "Treasury"
    assert body["status"] == {"code": "ACTIVE", "description": None}
    assert body["metadata"] == {"k": "v"}
    assert body["settings"] == DEFAULT_SETTINGS
    assert body["deletedAt"] is None
    assert body["createdAt"].endswith("Z")


async def test_get_patch_delete_and_name_reuse(client):
    org = await organization(client)
    led = await ledger(client, org["id"], metadata={"a": 1, "b": 2})
    url = f"{base(org['id'])}/{led['id']}"
    assert (await client.get(url)).json() == led

    patched = await client.patch(
        url, json={"name": "Renamed", "status": {"code": "INACTIVE", "description": "paused"}, "metadata": {"a": None}}
    )
    assert patched.status_code == 200
    assert patched.json()["name"] == "Renamed"
    assert patched.json()["status"] == {"code": "INACTIVE", "description": "paused"}
    assert patched.json()["metadata"] == {"b": 2}
    assert (await client.patch(url, json={"metadata": None})).json()["metadata"] == {}

    assert (await client.delete(url)).status_code == 204
    assert_problem(await client.get(url), 404, "0037")
    assert_problem(await client.delete(url), 404, "0037")
    reused = await client.post(base(org["id"]), json={"name": "Renamed"})
    assert reused.status_code == 201


async def test_name_is_unique_per_organization(client):
    org, other = await organization(client), await organization(client)
    name = unique("Ledger")
    await ledger(client, org["id"], name=name)
    assert_problem(await client.post(base(org["id"]), json={"name": name}), 409, "0002")
    assert (await client.post(base(other["id"]), json={"name": name})).status_code == 201
    second = await ledger(client, org["id"])
    assert_problem(await client.patch(f"{base(org['id'])}/{second['id']}", json={"name": name}), 409, "0002")


async def test_scope_errors(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    missing_org = base(str(uuid.uuid4()))
    assert_problem(await client.post(missing_org, json={"name": "x"}), 404, "0038")
    assert_problem(await client.get(missing_org), 404, "0038")
    assert (await client.head(f"{missing_org}/metrics/count")).status_code == 404  # HEAD answers carry no body
    for method in ("get", "delete"):
        assert_problem(await getattr(client, method)(f"{missing_org}/{led['id']}"), 404, "0038")
    assert_problem(await client.patch(f"{missing_org}/{led['id']}", json={"name": "x"}), 404, "0038")
    other = await organization(client)
    assert_problem(await client.get(f"{base(other['id'])}/{led['id']}"), 404, "0037")
    assert_problem(await client.patch(f"{base(org['id'])}/{uuid.uuid4()}", json={"name": "x"}), 404, "0037")
    assert_problem(await client.get(f"{base(org['id'])}/not-a-uuid"), 400, "0065")
    assert_problem(await client.get(base("not-a-uuid")), 400, "0065")


async def test_request_shape_errors(client):
    org = await organization(client)
    url = base(org["id"])
    assert_problem(await client.post(url, json={}), 400, "0009")
    assert_problem(await client.post(url, json={"name": ""}), 400, "0009")
    assert_problem(await client.post(url, json={"name": "x" * 257}), 400, "0047")
    assert_problem(await client.post(url, json={"name": "x", "code": 1}), 400, "0053")
    assert_problem(await client.post(url, json={"name": "x", "metadata": {"k": {"n": 1}}}), 400, "0067")
    led = await ledger(client, org["id"])
    assert_problem(await client.patch(f"{url}/{led['id']}", json={"settings": {}}), 400, "0053")


async def test_list_filters_and_count(client):
    org = await organization(client)
    url = base(org["id"])
    prefix = unique("Book")
    first = await ledger(client, org["id"], name=f"{prefix}-a", metadata={"team": "ops"})
    second = await ledger(client, org["id"], name=f"{prefix}-b", status={"code": "INACTIVE"})
    await ledger(client, org["id"])

    listed = (await client.get(url, params={"name": prefix.lower()})).json()
    assert [item["id"] for item in listed["items"]] == [first["id"], second["id"]]
    assert listed["page"] == 1 and listed["limit"] == 10
    inactive = (await client.get(url, params={"status": "inactive"})).json()
    assert [item["id"] for item in inactive["items"]] == [second["id"]]
    tagged = (await client.get(url, params={"metadata.team": "ops"})).json()
    assert [item["id"] for item in tagged["items"]] == [first["id"]]
    paged = (await client.get(url, params={"limit": 1, "page": 2, "sort_order": "desc"})).json()
    assert [item["id"] for item in paged["items"]] == [second["id"]]

    assert_problem(await client.get(url, params={"name": "x", "metadata.team": "ops"}), 400, "0082")
    assert_problem(await client.get(url, params={"status": "SLEEPING"}), 400, "0082")
    count = await client.head(f"{url}/metrics/count")
    assert count.status_code == 204
    assert count.headers["X-Total-Count"] == "3"


async def test_create_with_settings(client):
    org = await organization(client)
    full = {**DEFAULT_SETTINGS, "tracer": {"mode": "enforce", "failPosture": "closed", "timeoutMs": 500}}
    created = await ledger(client, org["id"], settings=full)
    assert created["settings"] == full
    fetched = await client.get(f"{base(org['id'])}/{created['id']}/settings")
    assert fetched.json() == full

    def post(settings):
        return client.post(base(org["id"]), json={"name": unique("L"), "settings": settings})

    body = assert_problem(await post({"accounting": {"validateRoutes": True}}), 400, "0148")
    assert "settings.tracer.mode" in [error["location"] for error in body["errors"]]
    assert_problem(await post({**full, "extra": {}}), 400, "0147")
    assert_problem(await post({**full, "tracer": {**full["tracer"], "mode": "loud"}}), 400, "0176")
    assert_problem(await post([1]), 400, "0094")


async def test_delete_is_refused_in_production(client, settings):
    org = await organization(client)
    led = await ledger(client, org["id"])
    app = create_app(dataclasses.replace(settings, env_name="production"))
    async with AsyncTestClient(app=app, base_url="http://kontor.test") as production:
        assert_problem(await production.delete(f"{base(org['id'])}/{led['id']}"), 422, "0008")
    assert (await client.get(f"{base(org['id'])}/{led['id']}")).status_code == 200
