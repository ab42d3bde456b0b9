from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import asyncpg
import pytest

from tests.helpers import assert_problem, create, ledger, organization, unique


class Ledger:
    """One fresh ledger with a BRL asset, and a direct database connection for seeding."""

    def __init__(self, client, conn, org_id: str, ledger_id: str) -> None:
        self.client = client
        self.conn = conn
        self.org_id = uuid.UUID(org_id)
        self.ledger_id = uuid.UUID(ledger_id)
        self.base = f"/v1/organizations/{org_id}/ledgers/{ledger_id}"
        self.accounts = f"{self.base}/accounts"

    async def account(self, **body):
        return await create(self.client, self.accounts, {"assetCode": "BRL", "type": "deposit", **body})

    async def seed(self, table: str, **values) -> str:
        """Insert a portfolio, segment or account type directly (their APIs are not under test here)."""
        row = {"organization_id": self.org_id, "ledger_id": self.ledger_id, "id": uuid.uuid4(), **values}
        columns = ", ".join(row)
        params = ", ".join(f"${i}" for i in range(1, len(row) + 1))
        await self.conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({params})", *row.values())
        return str(row["id"])

    async def set_available(self, account_id: str, available: str, on_hold: str = "0") -> None:
        sql = "UPDATE balances SET available = $2::numeric, on_hold = $3::numeric WHERE account_id = $1"
        await self.conn.execute(sql, uuid.UUID(account_id), available, on_hold)


@pytest.fixture
async def led(client, database_url):
    org = await organization(client)
    ledger_row = await ledger(client, org["id"])
    conn = await asyncpg.connect(database_url)
    scope = Ledger(client, conn, org["id"], ledger_row["id"])
    await create(client, f"{scope.base}/assets", {"name": unique("Real"), "type": "currency", "code": "BRL"})
    try:
        yield scope
    finally:
        await conn.close()


async def test_create_defaults_and_midaz_fields(client, led):
    response = await client.post(led.accounts, json={"assetCode": "BRL", "type": "deposit"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert uuid.UUID(body["id"]).version == 7
    assert body["alias"] == body["id"]
    assert body["name"] == "BRL deposit account"
    assert body["blocked"] is False and body["holderCheckSkipped"] is False
    assert body["status"] == {"code": "ACTIVE", "description": None}
    assert body["organizationId"] == str(led.org_id) and body["ledgerId"] == str(led.ledger_id)
    for field in ("parentAccountId", "entityId", "holderId", "portfolioId", "segmentId", "deletedAt"):
        assert body[field] is None
    assert body["metadata"] == {}
    rows = await led.conn.fetch("SELECT * FROM balances WHERE account_id = $1", uuid.UUID(body["id"]))
    assert len(rows) == 1
    balance = rows[0]
    assert (balance["key"], balance["direction"], balance["account_type"]) == ("default", "credit", "deposit")
    assert (balance["alias"], balance["asset_code"]) == (body["id"], "BRL")
    assert balance["allow_sending"] and balance["allow_receiving"]
    assert balance["available"] == 0 and balance["on_hold"] == 0


async def test_create_with_every_field(client, led):
    portfolio = await led.seed("portfolios", name="p", entity_id="ENT-1")
    segment = await led.seed("segments", name=unique("s"))
    parent = await led.account(alias="@parent")
    holder = str(uuid.uuid4())
    body = {
        "assetCode": "BRL",
        "type": "savings",
        "name": "Mine",
        "alias": "@child:1_a-b",
        "parentAccountId": parent["id"],
        "portfolioId": portfolio,
        "segmentId": segment,
        "holderId": holder,
        "blocked": True,
        "status": {"code": "PENDING", "description": "d"},
        "metadata": {"k": 1},
        "skip": {"holder": True},
    }
    account = await create(client, led.accounts, body)
    assert account["alias"] == "@child:1_a-b" and account["name"] == "Mine"
    assert account["parentAccountId"] == parent["id"]
    assert account["portfolioId"] == portfolio and account["segmentId"] == segment
    assert account["entityId"] == "ENT-1"  # copied from the portfolio
    assert account["holderId"] == holder and account["blocked"] is True
    assert account["status"] == {"code": "PENDING", "description": "d"}
    own_entity = await led.account(portfolioId=portfolio, entityId="OWN")
    assert own_entity["entityId"] == "OWN"


async def test_get_by_id_alias_and_external(client, led):
    account = await led.account(alias="@alice")
    assert (await client.get(f"{led.accounts}/{account['id']}")).json() == account
    assert (await client.get(f"{led.accounts}/alias/@alice")).json() == account
    external = await client.get(f"{led.accounts}/external/BRL")
    assert external.status_code == 200 and external.json()["alias"] == "@external/BRL"
    assert_problem(await client.get(f"{led.accounts}/{uuid.uuid4()}"), 404, "0052")
    assert_problem(await client.get(f"{led.accounts}/alias/@nobody"), 404, "0085")
    assert_problem(await client.get(f"{led.accounts}/external/EUR"), 404, "0085")
    assert_problem(await client.get(f"{led.accounts}/not-a-uuid"), 400, "0065")


async def test_list_filters_and_count(client, led):
    portfolio = await led.seed("portfolios", name="p")
    segment = await led.seed("segments", name=unique("s"))
    a = await led.account(alias="@ann", name="Ann checking", portfolioId=portfolio, entityId="E1")
    b = await led.account(alias="@bob", type="savings", segmentId=segment, blocked=True, parentAccountId=a["id"])
    c = await led.account(alias="@anna", status={"code": "INACTIVE"})

    async def ids(**params):
        response = await client.get(led.accounts, params={"limit": 100, **params})
        assert response.status_code == 200, response.text
        return {item["alias"] for item in response.json()["items"]}

    assert await ids() == {"@external/BRL", "@ann", "@bob", "@anna"}
    assert await ids(portfolio_id=portfolio) == {"@ann"}
    assert await ids(segment_id=segment) == {"@bob"}
    assert await ids(status="inactive") == {"@anna"}
    assert await ids(type="savings") == {"@bob"}
    assert await ids(asset_code="BRL") == {"@external/BRL", "@ann", "@bob", "@anna"}
    assert await ids(entity_id="E1") == {"@ann"}
    assert await ids(blocked="true") == {"@bob"}
    assert await ids(parent_account_id=a["id"]) == {"@bob"}
    assert await ids(name="ann") == {"@ann"}
    assert await ids(alias="@an") == {"@ann", "@anna"}
    page = (await client.get(led.accounts, params={"limit": 2, "page": 2})).json()
    assert (page["page"], page["limit"], len(page["items"])) == (2, 2, 2)
    assert [i["id"] for i in page["items"]] == [b["id"], c["id"]]

    count = await client.head(f"{led.accounts}/metrics/count")
    assert count.status_code == 204 and count.headers["X-Total-Count"] == "4"

    assert_problem(await client.get(led.accounts, params={"status": "PENDING"}), 400, "0082")
    assert_problem(await client.get(led.accounts, params={"portfolio_id": "nope"}), 400, "0082")
    assert_problem(await client.get(led.accounts, params={"limit": 0}), 400, "0082")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"alias": "has space"}, 400, "0096"),
        ({"alias": "@a/b"}, 400, "0096"),
        ({"alias": "@external/BRL"}, 400, "0096"),
        ({"alias": "a" * 101}, 400, "0047"),
        ({"type": "t" * 257}, 400, "0047"),
        ({"entityId": "e" * 257}, 400, "0047"),
        ({"type": ""}, 400, "0009"),
        ({"assetCode": "EUR"}, 404, "0034"),
        ({"portfolioId": str(uuid.uuid4())}, 404, "0035"),
        ({"segmentId": str(uuid.uuid4())}, 404, "0036"),
        ({"parentAccountId": str(uuid.uuid4())}, 400, "0029"),
        ({"holderId": "not-a-uuid"}, 400, "0047"),
        ({"externalCode": "x"}, 400, "0053"),
    ],
)
async def test_create_rejections(client, led, body, status, code):
    response = await client.post(led.accounts, json={"assetCode": "BRL", "type": "deposit", **body})
    assert_problem(response, status, code)


async def test_create_requires_asset_code_and_type(client, led):
    assert_problem(await client.post(led.accounts, json={"type": "deposit"}), 400, "0009")
    assert_problem(await client.post(led.accounts, json={"assetCode": "BRL"}), 400, "0009")


async def test_parent_must_hold_the_same_asset(client, led):
    await create(client, f"{led.base}/assets", {"name": unique("Dollar"), "type": "currency", "code": "USD"})
    parent = await led.account(assetCode="USD")
    assert_problem(
        await client.post(led.accounts, json={"assetCode": "BRL", "type": "x", "parentAccountId": parent["id"]}),
        422,
        "0030",
    )


async def test_alias_unique_exactly_and_free_after_delete(client, led):
    first = await led.account(alias="@a_b")
    assert_problem(
        await client.post(led.accounts, json={"assetCode": "BRL", "type": "t", "alias": "@a_b"}), 409, "0020"
    )
    # An exact comparison: "_" is not a wildcard.
    assert (await led.account(alias="@axb"))["alias"] == "@axb"
    assert (await client.delete(f"{led.accounts}/{first['id']}")).status_code == 204
    assert_problem(await client.get(f"{led.accounts}/{first['id']}"), 404, "0052")
    assert_problem(await client.get(f"{led.accounts}/alias/@a_b"), 404, "0085")
    again = await led.account(alias="@a_b")
    assert again["id"] != first["id"]


async def test_validate_account_type_setting(client, led):
    settings = json.dumps({"accounting": {"validateAccountType": True}})
    await led.conn.execute("UPDATE ledgers SET settings = $2::jsonb WHERE id = $1", led.ledger_id, settings)
    await led.seed("account_types", name="Deposit", key_value="deposit")
    assert (await led.account(type="deposit"))["type"] == "deposit"
    assert_problem(await client.post(led.accounts, json={"assetCode": "BRL", "type": "loan"}), 400, "0066")
    # "external" is exempt from the registry.
    assert (await led.account(type="external", alias="@ext-partner"))["type"] == "external"


async def test_free_text_type_without_the_setting(client, led):
    assert (await led.account(type="anything-goes"))["type"] == "anything-goes"


async def test_patch(client, led):
    portfolio = await led.seed("portfolios", name="p")
    segment = await led.seed("segments", name=unique("s"))
    account = await led.account(metadata={"a": 1, "b": 2})
    url = f"{led.accounts}/{account['id']}"
    body = {
        "name": "Renamed",
        "segmentId": segment,
        "portfolioId": portfolio,
        "entityId": "E9",
        "status": {"code": "BLOCKED"},
        "blocked": True,
        "metadata": {"a": None, "c": 3},
    }
    patched = await client.patch(url, json=body)
    assert patched.status_code == 200, patched.text
    got = patched.json()
    assert (got["name"], got["segmentId"], got["portfolioId"], got["entityId"]) == ("Renamed", segment, portfolio, "E9")
    assert got["status"]["code"] == "BLOCKED" and got["blocked"] is True
    assert got["metadata"] == {"b": 2, "c": 3}
    assert got["updatedAt"] >= account["updatedAt"]

    cleared = (await client.patch(url, json={"segmentId": None, "portfolioId": None, "entityId": None})).json()
    assert (cleared["segmentId"], cleared["portfolioId"], cleared["entityId"]) == (None, None, None)
    assert cleared["name"] == "Renamed"


async def test_patch_rejections(client, led):
    account = await led.account()
    url = f"{led.accounts}/{account['id']}"
    for field, value in (
        ("alias", "@x"),
        ("type", "t"),
        ("assetCode", "BRL"),
        ("parentAccountId", None),
        ("holderId", None),
    ):
        assert_problem(await client.patch(url, json={field: value}), 400, "0053")
    assert_problem(await client.patch(url, json={"portfolioId": str(uuid.uuid4())}), 404, "0035")
    assert_problem(await client.patch(url, json={"segmentId": str(uuid.uuid4())}), 404, "0036")
    assert_problem(await client.patch(f"{led.accounts}/{uuid.uuid4()}", json={"name": "x"}), 404, "0052")


async def test_external_accounts_are_immutable(client, led):
    external = (await client.get(f"{led.accounts}/external/BRL")).json()
    url = f"{led.accounts}/{external['id']}"
    assert_problem(await client.patch(url, json={"name": "x"}), 422, "0074")
    assert_problem(await client.delete(url), 422, "0074")


async def test_delete_refused_while_funds_remain(client, led):
    account = await led.account()
    url = f"{led.accounts}/{account['id']}"
    await led.set_available(account["id"], "10.5")
    assert_problem(await client.delete(url), 422, "0012")
    await led.set_available(account["id"], "0", on_hold="1")
    assert_problem(await client.delete(url), 422, "0012")
    assert (await client.get(url)).status_code == 200

    await led.set_available(account["id"], "0")
    assert (await client.delete(url)).status_code == 204
    assert_problem(await client.get(url), 404, "0052")
    assert_problem(await client.delete(url), 404, "0052")
    live = await led.conn.fetchval(
        "SELECT count(*) FROM balances WHERE account_id = $1 AND deleted_at IS NULL", uuid.UUID(account["id"])
    )
    assert live == 0


async def test_scope_not_found(client, led):
    missing = uuid.uuid4()
    body = {"assetCode": "BRL", "type": "deposit"}
    assert_problem(
        await client.post(f"/v1/organizations/{led.org_id}/ledgers/{missing}/accounts", json=body), 404, "0037"
    )
    assert_problem(await client.post(f"/v1/organizations/{missing}/ledgers/{missing}/accounts", json=body), 404, "0038")
    assert_problem(await client.get(f"/v1/organizations/{led.org_id}/ledgers/{missing}/accounts"), 404, "0037")


def _hold_balance(database_url: str, account_id: uuid.UUID, locked: threading.Event, hold_s: float) -> None:
    """A stand-in posting, on its own thread and loop: fund the balance, keep the row locked, commit."""

    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("UPDATE balances SET available = 7 WHERE account_id = $1", account_id)
                locked.set()
                await asyncio.sleep(hold_s)
        finally:
            await conn.close()

    asyncio.run(run())


async def test_delete_waits_for_a_concurrent_posting(client, led, database_url):
    """DELETE locks the balances it checks: a posting holding them wins, and DELETE then sees the funds.

    (The test client blocks the event loop while a request runs, so the posting runs on a thread.)
    """
    account = await led.account()
    locked = threading.Event()
    hold_s = 0.3
    posting = threading.Thread(target=_hold_balance, args=(database_url, uuid.UUID(account["id"]), locked, hold_s))
    posting.start()
    try:
        assert locked.wait(5)
        started = time.monotonic()
        response = await client.delete(f"{led.accounts}/{account['id']}")
        waited_s = time.monotonic() - started
    finally:
        posting.join()
    assert_problem(response, 422, "0012")
    assert waited_s >= hold_s / 2
    assert (await client.get(f"{led.accounts}/{account['id']}")).status_code == 200
