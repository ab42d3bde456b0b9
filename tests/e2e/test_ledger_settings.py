from __future__ import annotations

import uuid

import pytest

from kontor.core.limits import SETTINGS_BODY_BYTES_MAX
from kontor.service.context import Context
from kontor.service.ledger_settings import get_settings
from kontor.store.db import Database
from tests.e2e.test_ledgers import DEFAULT_SETTINGS
from tests.helpers import assert_problem, ledger, organization


@pytest.fixture
async def url(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}/settings"


async def test_get_answers_the_defaults(client, url):
    response = await client.get(url)
    assert response.status_code == 200
    assert response.json() == DEFAULT_SETTINGS


async def test_patch_deep_merges_and_returns_full_settings(client, url):
    first = await client.patch(url, json={"accounting": {"validateRoutes": True}})
    assert first.status_code == 200
    expected = {**DEFAULT_SETTINGS, "accounting": {**DEFAULT_SETTINGS["accounting"], "validateRoutes": True}}
    assert first.json() == expected

    second = await client.patch(url, json={"tracer": {"mode": "advisory", "timeoutMs": 100}, "overrides": {}})
    expected["tracer"] = {"mode": "advisory", "failPosture": "open", "timeoutMs": 100}
    assert second.json() == expected
    assert (await client.get(url)).json() == expected
    ledger_url = url.removesuffix("/settings")
    assert (await client.get(ledger_url)).json()["settings"] == expected
    assert (await client.patch(url, json={})).json() == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"bogus": {}}, "0147"),
        ({"accounting": {"validateEverything": True}}, "0147"),
        ({"accounting": {"validateRoutes": "yes"}}, "0148"),
        ({"accounting": {"validateRoutes": None}}, "0148"),
        ({"tracer": {"timeoutMs": True}}, "0148"),
        ({"tracer": {"timeoutMs": 2.5}}, "0148"),
        ({"tracer": {"mode": 1}}, "0148"),
        ({"tracer": "off"}, "0148"),
        ({"validateRoutes": True}, "0149"),
        ({"mode": "enforce"}, "0149"),
        ({"tracer": {"mode": "strict"}}, "0176"),
        ({"tracer": {"failPosture": "ajar"}}, "0176"),
        ({"tracer": {"timeoutMs": 0}}, "0176"),
    ],
)
async def test_patch_schema_errors(client, url, body, code):
    problem = assert_problem(await client.patch(url, json=body), 400, code)
    assert problem["errors"]
    assert (await client.get(url)).json() == DEFAULT_SETTINGS


async def test_patch_body_errors(client, url):
    def send(content: bytes):
        return client.patch(url, content=content, headers={"content-type": "application/json"})

    assert_problem(await send(b"{not json"), 400, "0094")
    assert_problem(await send(b""), 400, "0094")
    assert_problem(await send(b"[]"), 400, "0094")
    padded = b'{"accounting": {}' + b" " * SETTINGS_BODY_BYTES_MAX + b"}"
    assert_problem(await send(padded), 400, "0143")


async def test_scope_errors(client, url):
    org_id = url.split("/")[3]
    for path in (f"/v1/organizations/{org_id}/ledgers/{uuid.uuid4()}/settings",):
        assert_problem(await client.get(path), 404, "0037")
        assert_problem(await client.patch(path, json={}), 404, "0037")
    missing_org = url.replace(org_id, str(uuid.uuid4()))
    assert_problem(await client.get(missing_org), 404, "0038")
    assert_problem(await client.patch(missing_org, json={"accounting": {}}), 404, "0038")


async def test_get_settings_reads_through_a_context_or_a_connection(client, url, settings):
    await client.patch(url, json={"accounting": {"validateAccountType": True}})
    _, _, _, org_id, _, ledger_id, _ = url.split("/")
    # The test client serves the app on its own event loop, so this test opens its own pool.
    ctx = Context(db=Database(settings.database_url, min_size=1, max_size=1), settings=settings, extras={})
    try:
        from_ctx = await get_settings(ctx, uuid.UUID(org_id), uuid.UUID(ledger_id))
        async with ctx.db.connection() as conn:
            from_conn = await get_settings(conn, uuid.UUID(org_id), uuid.UUID(ledger_id))
    finally:
        await ctx.db.close()
    assert from_ctx == from_conn
    assert from_ctx["accounting"]["validateAccountType"] is True
    assert from_ctx["tracer"] == DEFAULT_SETTINGS["tracer"]
