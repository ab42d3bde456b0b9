"""Every change records its events in the journal, in the same database transaction, and every
recorded event, wrapped as the sinks send it, validates against its schema in docs/events/."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from kontor.events import catalog, schemas
from kontor.events.journal import events_of
from kontor.service.verify import verify
from kontor.store.events import JournalEvent
from tests.helpers import create, ledger, organization
from tests.integration.events_support import SCHEMAS, assert_valid, transfer


async def every_kind_of_change(client: Any) -> dict[str, str]:
    """Create, update and delete one of everything, and move money every way."""
    org = await organization(client)
    org_path = f"/v1/organizations/{org['id']}"
    assert (await client.patch(org_path, json={"doingBusinessAs": "Acme"})).status_code == 200
    led = await ledger(client, org["id"])
    base = f"{org_path}/ledgers/{led['id']}"
    assert (await client.patch(base, json={"metadata": {"k": "v"}})).status_code == 200
    assert (await client.patch(f"{base}/settings", json={"accounting": {"requireHolder": False}})).status_code == 200
    for kind, body in (
        ("portfolios", {"name": "P"}),
        ("segments", {"name": "S"}),
        ("account-types", {"name": "Deposit", "keyValue": "deposit"}),
    ):
        entity = await create(client, f"{base}/{kind}", body)
        assert (await client.patch(f"{base}/{kind}/{entity['id']}", json={"metadata": {"a": 1}})).status_code == 200
        assert (await client.delete(f"{base}/{kind}/{entity['id']}")).status_code == 204
    both = await create(client, f"{base}/operation-routes", {"title": "Both", "operationType": "bidirectional"})
    assert (await client.patch(f"{base}/operation-routes/{both['id']}", json={"title": "Either"})).status_code == 200
    route = await create(client, f"{base}/transaction-routes", {"title": "Pay", "operationRoutes": [both["id"]]})
    assert (await client.patch(f"{base}/transaction-routes/{route['id']}", json={"title": "P"})).status_code == 200
    assert (await client.delete(f"{base}/transaction-routes/{route['id']}")).status_code == 204
    assert (await client.delete(f"{base}/operation-routes/{both['id']}")).status_code == 204
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    usd = await create(client, f"{base}/assets", {"name": "Dollar", "type": "currency", "code": "USD"})
    assert (await client.patch(f"{base}/assets/{usd['id']}", json={"name": "US Dollar"})).status_code == 200
    assert (await client.delete(f"{base}/assets/{usd['id']}")).status_code == 204
    alice, bob, carol = [
        await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": alias})
        for alias in ("@alice", "@bob", "@carol")
    ]
    assert (await client.patch(f"{base}/accounts/{bob['id']}", json={"name": "Bob"})).status_code == 200
    extra = await create(client, f"{base}/accounts/{bob['id']}/balances", {"key": "savings"})
    flags = {"allowSending": False, "settings": {"allowOverdraft": True, "overdraftLimitEnabled": False}}
    assert (await client.patch(f"{base}/balances/{extra['id']}", json=flags)).status_code == 200
    assert (await client.delete(f"{base}/balances/{extra['id']}")).status_code == 204
    await create(
        client,
        f"{base}/transactions/inflow",
        {
            "send": {
                "asset": "BRL",
                "value": "100",
                "distribute": {"to": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "100"}}]},
            }
        },
    )
    posted = await create(client, f"{base}/transactions/json", transfer(10))
    to_commit = await create(client, f"{base}/transactions/json", transfer(5, pending=True, description="c"))
    to_cancel = await create(client, f"{base}/transactions/json", transfer(6, pending=True, description="x"))
    await create(client, f"{base}/transactions/{to_commit['id']}/commit", {})
    await create(client, f"{base}/transactions/{to_cancel['id']}/cancel", {})
    await create(client, f"{base}/transactions/{posted['id']}/revert", {})
    assert (await client.delete(f"{base}/accounts/{carol['id']}")).status_code == 204
    assert alice
    doomed = await ledger(client, org["id"])
    assert (await client.delete(f"{org_path}/ledgers/{doomed['id']}")).status_code == 204
    other = await organization(client)
    assert (await client.delete(f"/v1/organizations/{other['id']}")).status_code == 204
    return {"organization": org["id"], "ledger": led["id"]}


async def recorded(database_url: str) -> list[JournalEvent]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT organization_id, ledger_id, seq, id, event_type, subject, created_at, payload::text, span"
            " FROM journal ORDER BY organization_id, ledger_id, seq"
        )
    finally:
        await conn.close()
    return [event for row in rows for event in events_of(JournalEvent(*row))]


async def test_every_event_type_is_recorded_and_matches_its_schema(own_client, own_database_url):
    ids = await every_kind_of_change(own_client)
    events = await recorded(own_database_url)
    envelopes = [json.loads(catalog.encode(event)) for event in events]
    assert assert_valid(envelopes) == len(events)
    assert {e.event_type for e in events} == set(catalog.EVENT_TYPES)

    org_chain = [e for e in envelopes if e["ledgerid"] == str(catalog.ORGANIZATION_CHAIN)]
    assert {e["type"] for e in org_chain} == {"organization.created", "organization.updated", "organization.deleted"}
    assert all(e["source"] == f"/v1/organizations/{e['organizationid']}" for e in org_chain)
    in_ledger = [e["type"] for e in envelopes if e["ledgerid"] == ids["ledger"]]
    assert in_ledger[:3] == ["ledger.created", "ledger.updated", "ledger.updated"]
    # @external/BRL, @external/USD, three accounts' defaults, savings, and savings' overdraft companion
    assert in_ledger.count("balance.created") == 7
    assert "balance.config-changed" in in_ledger and in_ledger[-2:] == ["balance.deleted", "account.deleted"]

    report = await verify(own_database_url, echo=lambda _: None)
    assert report.ok, report.failures


async def test_a_refused_change_records_nothing(own_client, own_database_url):
    org = await organization(own_client)
    led = await ledger(own_client, org["id"])
    before = len(await recorded(own_database_url))
    duplicate = await own_client.post(f"/v1/organizations/{org['id']}/ledgers", json={"name": led["name"]})
    assert duplicate.status_code == 409
    assert len(await recorded(own_database_url)) == before


def test_the_published_schemas_are_the_catalogs():
    on_disk = {path.name: path.read_text() for path in SCHEMAS.glob("*.json")}
    assert on_disk == schemas.rendered(), "run `make event-schemas`"
