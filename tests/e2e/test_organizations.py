from __future__ import annotations

import uuid

from tests.helpers import assert_problem, organization, unique

BASE = "/v1/organizations"


async def test_create_answers_midaz_fields(client):
    response = await client.post(BASE, json={"legalName": "Acme", "legalDocument": "123"})
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body["legalName"] == "Acme"
    assert body["legalDocument"] == "123"
    assert body["status"] == {"code": "ACTIVE", "description": None}
    assert body["parentOrganizationId"] is None
    assert body["deletedAt"] is None
    assert body["metadata"] == {}
    assert body["createdAt"].endswith("Z")


async def test_get_list_patch_delete(client):
    org = await organization(client, metadata={"tier": "gold", "n": 1})
    got = (await client.get(f"{BASE}/{org['id']}")).json()
    assert got == org

    patched = await client.patch(f"{BASE}/{org['id']}", json={"legalName": "Renamed", "metadata": {"n": None, "x": 2}})
    assert patched.status_code == 200
    assert patched.json()["legalName"] == "Renamed"
    assert patched.json()["metadata"] == {"tier": "gold", "x": 2}

    listed = await client.get(BASE, params={"metadata.tier": "gold", "limit": 100})
    assert org["id"] in [o["id"] for o in listed.json()["items"]]
    assert listed.json()["limit"] == 100 and listed.json()["page"] == 1

    assert (await client.delete(f"{BASE}/{org['id']}")).status_code == 204
    assert_problem(await client.get(f"{BASE}/{org['id']}"), 404, "0038")


async def test_parent_organization(client):
    parent = await organization(client)
    child = await organization(client, parentOrganizationId=parent["id"])
    assert child["parentOrganizationId"] == parent["id"]
    assert_problem(
        await client.post(
            BASE, json={"legalName": "x", "legalDocument": "1", "parentOrganizationId": str(uuid.uuid4())}
        ),
        404,
        "0039",
    )
    assert_problem(await client.patch(f"{BASE}/{child['id']}", json={"parentOrganizationId": child["id"]}), 422, "0091")


async def test_address_country(client):
    ok = await client.post(
        BASE, json={"legalName": "a", "legalDocument": "1", "address": {"line1": "x", "country": "BR"}}
    )
    assert ok.status_code == 201
    assert ok.json()["address"]["country"] == "BR"
    bad = await client.post(
        BASE, json={"legalName": "a", "legalDocument": "1", "address": {"line1": "x", "country": "XX"}}
    )
    assert_problem(bad, 400, "0032")


async def test_request_shape_errors(client):
    assert_problem(await client.post(BASE, content=b"{bad", headers={"content-type": "application/json"}), 400, "0094")
    body = assert_problem(await client.post(BASE, json={"legalName": "a", "legalDocument": "1", "zzz": 1}), 400, "0053")
    assert body["errors"][0]["location"] == "zzz"
    assert_problem(await client.post(BASE, json={"legalName": "a"}), 400, "0009")
    assert_problem(await client.post(BASE, json={"legalName": "", "legalDocument": "1"}), 400, "0009")
    assert_problem(await client.post(BASE, json={"legalName": 5, "legalDocument": "1"}), 400, "0094")
    assert_problem(await client.post(BASE, json={"legalName": "a" * 257, "legalDocument": "1"}), 400, "0047")
    assert_problem(await client.post(BASE, json={"legalName": "a\u0000", "legalDocument": "1"}), 400, "0047")
    assert_problem(await client.get(f"{BASE}/not-a-uuid"), 400, "0065")
    assert_problem(await client.get(f"{BASE}/{uuid.uuid4()}"), 404, "0038")


async def test_metadata_errors(client):
    def post(metadata):
        return client.post(BASE, json={"legalName": "a", "legalDocument": "1", "metadata": metadata})

    assert_problem(await post({"k" * 101: "v"}), 400, "0050")
    assert_problem(await post({"k": "v" * 2001}), 400, "0051")
    assert_problem(await post({"k": {"nested": 1}}), 400, "0067")
    assert_problem(await post({"k": [1, 2]}), 400, "0051")


async def test_pagination_errors(client):
    assert_problem(await client.get(BASE, params={"limit": 101}), 400, "0080")
    assert_problem(await client.get(BASE, params={"limit": 0}), 400, "0082")
    assert_problem(await client.get(BASE, params={"limit": "x"}), 400, "0082")
    assert_problem(await client.get(BASE, params={"sort_order": "sideways"}), 400, "0081")
    assert_problem(await client.get(BASE, params={"start_date": "2024-01-01"}), 400, "0083")
    assert_problem(await client.get(BASE, params={"start_date": "2024-02-01", "end_date": "2024-01-01"}), 400, "0078")
    assert_problem(await client.get(BASE, params={"start_date": "01/02/2024", "end_date": "2024-01-01"}), 400, "0131")


async def test_list_filters_pages_and_count(client):
    name = unique("Paged")
    ids = [(await organization(client, legalName=f"{name}-{i}"))["id"] for i in range(3)]
    first = (await client.get(BASE, params={"legal_name": name, "limit": 2})).json()
    second = (await client.get(BASE, params={"legal_name": name, "limit": 2, "page": 2})).json()
    assert [o["id"] for o in first["items"] + second["items"]] == ids
    desc = (await client.get(BASE, params={"legal_name": name, "sort_order": "desc"})).json()
    assert [o["id"] for o in desc["items"]] == ids[::-1]
    count = await client.head(f"{BASE}/metrics/count")
    assert count.status_code == 204
    assert int(count.headers["X-Total-Count"]) >= 3
    today = (await client.get(f"{BASE}/{ids[0]}")).json()["createdAt"][:10]
    dated = (await client.get(BASE, params={"legal_name": name, "start_date": today, "end_date": today})).json()
    assert len(dated["items"]) == 3
