"""Transactions over HTTP: every refusal of reference §3-§4 the API implements, worked examples, lists, PATCH.

Each refusal is checked twice: the answer (status and Midaz code) and the ledger afterwards, which
must be exactly as before (balances with their versions, and no transaction, operation, journal or
idempotency row). Balances are read with SQL, which also sees versions and every posting table;
test_balance_endpoints_agree_with_the_books checks the balance endpoints against it.

Concurrency: Litestar's ``AsyncTestClient`` runs each request to completion before the next one
starts (its transport blocks on a portal call), so ``asyncio.gather`` over it is serial. Concurrent
requests here go through :func:`concurrently`, which gathers threads that share the client's portal,
so the application really serves them at the same time and the write funnel batches them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient
from litestar.testing import transport as litestar_transport

from tests.helpers import assert_problem, create, ledger, organization, unique

ALIASES = ("@alice", "@bob", "@carol", "@fees")
EXTERNAL = "@external/BRL"


# --- request builders ------------------------------------------------------------------------------


def leg(
    alias: str,
    value: str | None = None,
    *,
    share: int | None = None,
    of: int | None = None,
    remaining: bool = False,
    key: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One ``from``/``to`` entry; give ``value``, ``share`` (and ``of``) or ``remaining``."""
    entry: dict[str, Any] = {"accountAlias": alias, **extra}
    if key is not None:
        entry["balanceKey"] = key
    if value is not None:
        entry["amount"] = {"asset": "BRL", "value": value}
    if share is not None:
        entry["share"] = {"percentage": share, **({"percentageOfPercentage": of} if of is not None else {})}
    if remaining:
        entry["remaining"] = "remaining"
    return entry


def transfer(
    value: str, sources: list[dict[str, Any]], destinations: list[dict[str, Any]], *, asset: str = "BRL", **extra: Any
) -> dict[str, Any]:
    return {
        "send": {"asset": asset, "value": value, "source": {"from": sources}, "distribute": {"to": destinations}},
        **extra,
    }


def inflow(value: str, *destinations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"send": {"asset": "BRL", "value": value, "distribute": {"to": list(destinations)}}, **extra}


def outflow(value: str, *sources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"send": {"asset": "BRL", "value": value, "source": {"from": list(sources)}}, **extra}


def pay(value: str, source: str = "@alice", destination: str = "@bob", **extra: Any) -> dict[str, Any]:
    return transfer(value, [leg(source, value)], [leg(destination, value)], **extra)


def ops_of(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(o["accountAlias"], o["type"], o["amount"]["value"]) for o in body["operations"]]


# --- the ledger under test -------------------------------------------------------------------------


@dataclass
class Book:
    """A fresh ledger (BRL, four deposit accounts, @alice funded with 100) and a database connection."""

    client: AsyncTestClient
    conn: asyncpg.Connection
    organization_id: uuid.UUID
    ledger_id: uuid.UUID
    base: str

    @property
    def transactions(self) -> str:
        return f"{self.base}/transactions"

    async def post(self, kind: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post(f"{self.transactions}/{kind}", json=body, **kwargs)

    async def ok(self, kind: str, body: Any, **kwargs: Any) -> dict[str, Any]:
        response = await self.post(kind, body, **kwargs)
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    async def act(self, transaction_id: str, action: str) -> httpx.Response:
        return await self.client.post(f"{self.transactions}/{transaction_id}/{action}")

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        """``alias`` (``alias#key`` for keys other than default) -> (available, on_hold)."""
        rows = await self.conn.fetch(
            "SELECT alias, key, available, on_hold FROM balances"
            " WHERE organization_id = $1 AND ledger_id = $2 AND deleted_at IS NULL",
            self.organization_id,
            self.ledger_id,
        )
        return {
            (r["alias"] if r["key"] == "default" else f"{r['alias']}#{r['key']}"): (r["available"], r["on_hold"])
            for r in rows
        }

    async def state(self) -> dict[str, Any]:
        """Everything a refusal must leave alone."""
        scope = (self.organization_id, self.ledger_id)
        where = "WHERE organization_id = $1 AND ledger_id = $2"
        balances = await self.conn.fetch(
            f"SELECT alias, key, available, on_hold, overdraft_used, version FROM balances {where}", *scope
        )
        counts = {
            table: await self.conn.fetchval(f"SELECT count(*) FROM {table} {where}", *scope)
            for table in ("transactions", "operations", "journal", "idempotency_keys")
        }
        return {"balances": {(r["alias"], r["key"]): tuple(r.values())[2:] for r in balances}, **counts}

    async def sql(self, statement: str, *args: Any) -> None:
        await self.conn.execute(statement, *args)

    async def add_balance(self, alias: str, key: str) -> None:
        """A second balance for an account, copied from its default one (the balance API is not under test)."""
        await self.sql(
            """INSERT INTO balances (organization_id, ledger_id, id, account_id, alias, key, asset_code, account_type)
               SELECT organization_id, ledger_id, $4, account_id, alias, $3, asset_code, account_type FROM balances
                WHERE organization_id = $1 AND ledger_id = $2 AND alias = $5 AND key = 'default'""",
            self.organization_id,
            self.ledger_id,
            key,
            uuid.uuid4(),
            alias,
        )


async def open_book(
    client: AsyncTestClient, conn: asyncpg.Connection, aliases: tuple[str, ...] = ALIASES, funds: str | None = "100"
) -> Book:
    org = await organization(client)
    led = await ledger(client, org["id"])
    base = f"/v1/organizations/{org['id']}/ledgers/{led['id']}"
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    for alias in aliases:
        await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": alias})
    book = Book(client, conn, uuid.UUID(org["id"]), uuid.UUID(led["id"]), base)
    if funds is not None:
        await book.ok("inflow", inflow(funds, leg(aliases[0], funds), description="opening funds"))
    return book


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def book(client: AsyncTestClient, conn: asyncpg.Connection) -> Book:
    return await open_book(client, conn)


@contextlib.asynccontextmanager
async def unchanged(book: Book) -> AsyncIterator[None]:
    """The block's requests are refused: balances, versions and every posting table stay exactly as they were."""
    before = await book.state()
    yield
    assert await book.state() == before


async def concurrently(
    client: AsyncTestClient, *requests: tuple[str, str, dict[str, Any] | None, dict[str, str] | None]
) -> list[httpx.Response]:
    """Send ``(method, url, json, headers)`` requests at the same time (see the module docstring)."""
    # The transport is the client's own portal, so this client needs no opening or closing of its own.
    sync = httpx.Client(base_url=str(client.base_url), transport=litestar_transport.TestClientTransport(client=client))
    calls = (
        asyncio.to_thread(sync.request, method, url, json=body, headers=headers)
        for method, url, body, headers in requests
    )
    return list(await asyncio.gather(*calls))


# --- refusals of a create ------------------------------------------------------------------------

FUTURE = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

REFUSALS: list[tuple[str, str, Any, int, str]] = [
    (
        "leg without amount, share or remaining",
        "json",
        transfer("10", [{"accountAlias": "@alice"}], [leg("@bob", "10")]),
        400,
        "0072",
    ),
    (
        "leg with amount and share",
        "json",
        transfer("10", [{**leg("@alice", "10"), **leg("@alice", share=100)}], [leg("@bob", "10")]),
        400,
        "0072",
    ),
    (
        "leg with share and remaining",
        "json",
        transfer("10", [leg("@alice", "10")], [{**leg("@bob", share=100), "remaining": "remaining"}]),
        400,
        "0072",
    ),
    (
        "empty remaining",
        "json",
        transfer("10", [leg("@alice", "10")], [{"accountAlias": "@bob", "remaining": ""}]),
        400,
        "0072",
    ),
    ("destination without form", "inflow", inflow("10", {"accountAlias": "@bob"}), 400, "0072"),
    (
        "destinations short of the value",
        "json",
        transfer("100", [leg("@alice", "100")], [leg("@bob", "90")]),
        422,
        "0073",
    ),
    ("both sides short of the value", "json", transfer("100", [leg("@alice", "90")], [leg("@bob", "90")]), 422, "0073"),
    (
        "shares short of 100%",
        "json",
        transfer("10", [leg("@alice", "10")], [leg("@bob", share=50), leg("@carol", share=40)]),
        422,
        "0073",
    ),
    (
        "remaining after an overshoot",
        "json",
        transfer("100", [leg("@alice", "100")], [leg("@bob", "110"), leg("@carol", remaining=True)]),
        422,
        "0073",
    ),
    ("inflow legs short of the value", "inflow", inflow("10", leg("@bob", "9.99")), 422, "0073"),
    (
        "unknown balance key",
        "json",
        transfer("10", [leg("@alice", "10", key="savings")], [leg("@bob", "10")]),
        422,
        "0019",
    ),
    ("unknown source alias", "json", pay("10", source="@nobody"), 422, "0019"),
    ("unknown destination alias", "inflow", inflow("10", leg("@nobody", "10")), 422, "0019"),
    ("annotation naming an unknown alias", "annotation", pay("10", destination="@nobody"), 422, "0019"),
    (
        "send asset that no balance holds",
        "json",
        transfer("10", [leg("@alice", "10")], [leg("@bob", "10")], asset="USD"),
        404,
        "0034",
    ),
    (
        "same alias#key at the same index",
        "json",
        transfer("10", [leg("@alice", "5"), leg("@bob", "5")], [leg("@alice", "5"), leg("@carol", "5")]),
        422,
        "0090",
    ),
    ("more than the balance", "json", pay("100.01"), 422, "0018"),
    (
        "second source without funds",
        "json",
        transfer("100", [leg("@alice", "50"), leg("@bob", "50")], [leg("@carol", "100")]),
        422,
        "0018",
    ),
    (
        "funds that only arrive as a destination",
        "json",
        transfer("150", [leg("@alice", "100"), leg("@bob", "50")], [leg("@bob", "150")]),
        422,
        "0018",
    ),
    ("outflow beyond the balance", "outflow", outflow("100.5", leg("@alice", "100.5")), 422, "0018"),
    ("pending from the external account", "json", pay("10", source=EXTERNAL, pending=True), 422, "0098"),
    ("future transactionDate", "json", pay("10", transactionDate=FUTURE), 400, "0121"),
    (
        "future transactionDate on an inflow",
        "inflow",
        inflow("10", leg("@bob", "10"), transactionDate=FUTURE),
        400,
        "0121",
    ),
    (
        "transactionDate on a pending transaction",
        "json",
        pay("10", pending=True, transactionDate="2024-01-15"),
        400,
        "0122",
    ),
    ("value 0", "json", transfer("0", [leg("@alice", "0")], [leg("@bob", "0")]), 422, "0125"),
    ("negative value", "json", pay("-5"), 422, "0125"),
    ("negative inflow", "inflow", inflow("-5", leg("@bob", "-5")), 422, "0125"),
    ("unknown top-level field", "json", pay("10", amount="10"), 400, "0053"),
    (
        "unknown field in a leg",
        "json",
        transfer("10", [leg("@alice", "10", account="x")], [leg("@bob", "10")]),
        400,
        "0053",
    ),
    ("pending on an inflow", "inflow", inflow("10", leg("@bob", "10"), pending=True), 400, "0053"),
    ("source on an inflow", "inflow", {"send": {**pay("10")["send"]}}, 400, "0053"),
    ("distribute on an outflow", "outflow", {"send": {**pay("10")["send"]}}, 400, "0053"),
    ("missing send", "json", {"description": "nothing to send"}, 400, "0009"),
    ("missing send.asset", "json", {"send": {k: v for k, v in pay("10")["send"].items() if k != "asset"}}, 400, "0009"),
    (
        "missing distribute",
        "json",
        {"send": {k: v for k, v in pay("10")["send"].items() if k != "distribute"}},
        400,
        "0009",
    ),
    ("pending is not a boolean", "json", pay("10", pending="yes"), 400, "0094"),
    (
        "legs are not a list",
        "json",
        {"send": {**pay("10")["send"], "source": {"from": leg("@alice", "10")}}},
        400,
        "0094",
    ),
    ("body is a list", "json", [pay("10")], 400, "0094"),
]


@pytest.mark.parametrize(("kind", "body", "status", "code"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
async def test_refusal_changes_nothing(book: Book, kind: str, body: Any, status: int, code: str) -> None:
    async with unchanged(book):
        assert_problem(await book.post(kind, body), status, code)


async def test_not_json_at_all_is_0094(book: Book) -> None:
    async with unchanged(book):
        for content in (b"{not json", b'{"send": ', b"   ", b"null"):
            response = await book.client.post(
                f"{book.transactions}/json", content=content, headers={"content-type": "application/json"}
            )
            assert_problem(response, 400, "0094")


async def test_empty_body_is_0094(book: Book) -> None:
    async with unchanged(book):
        response = await book.client.post(
            f"{book.transactions}/json", content=b"", headers={"content-type": "application/json"}
        )
        assert_problem(response, 400, "0094")


async def test_balance_of_another_asset_is_0034(book: Book) -> None:
    await create(book.client, f"{book.base}/assets", {"name": "Dollar", "type": "currency", "code": "USD"})
    await create(book.client, f"{book.base}/accounts", {"assetCode": "USD", "type": "deposit", "alias": "@usd"})
    await book.ok(
        "inflow",
        {
            "send": {
                "asset": "USD",
                "value": "50",
                "distribute": {"to": [{"accountAlias": "@usd", "amount": {"asset": "USD", "value": "50"}}]},
            }
        },
    )
    async with unchanged(book):
        assert_problem(await book.post("json", pay("10", source="@usd")), 404, "0034")
        assert_problem(await book.post("json", pay("10", destination="@usd")), 404, "0034")
        usd_to_brl = transfer("10", [leg("@usd", "10")], [leg("@bob", "10")], asset="USD")
        assert_problem(await book.post("json", usd_to_brl), 404, "0034")
        assert_problem(await book.post("annotation", pay("10", destination="@usd")), 404, "0034")


async def test_balance_that_may_not_send_or_receive_is_0024(book: Book) -> None:
    await book.ok("json", pay("7", destination="@carol"))
    for flag, alias in (("allow_sending", "@alice"), ("allow_receiving", "@carol")):
        await book.sql(f"UPDATE balances SET {flag} = false WHERE ledger_id = $1 AND alias = $2", book.ledger_id, alias)
    async with unchanged(book):
        assert_problem(await book.post("json", pay("10")), 422, "0024")
        assert_problem(await book.post("json", pay("10", pending=True)), 422, "0024")
        assert_problem(await book.post("outflow", outflow("10", leg("@alice", "10"))), 422, "0024")
        assert_problem(await book.post("annotation", pay("10")), 422, "0024")
        assert_problem(await book.post("inflow", inflow("10", leg("@carol", "10"))), 422, "0024")
        to_itself = transfer("1", [leg("@carol", "1")], [leg("@bob", "0.5"), leg("@carol", "0.5")])
        assert_problem(await book.post("json", to_itself), 422, "0024")
    # Each flag closes one direction only: @alice still receives, @carol still sends.
    await book.ok("inflow", inflow("5", leg("@alice", "5")))
    await book.ok("json", pay("7", source="@carol"))
    got = await book.balances()
    assert got["@alice"] == (98, 0) and got["@bob"] == (7, 0) and got["@carol"] == (0, 0)


async def test_same_alias_with_another_key_or_index_is_allowed(book: Book) -> None:
    await book.add_balance("@alice", "savings")
    moved = await book.ok("json", transfer("30", [leg("@alice", "30")], [leg("@alice", "30", key="savings")]))
    assert ops_of(moved) == [("@alice", "DEBIT", "30"), ("@alice", "CREDIT", "30")]
    assert [o["balanceKey"] for o in moved["operations"]] == ["default", "savings"]
    await book.ok("json", pay("20"))
    swapped = await book.ok(
        "json", transfer("20", [leg("@alice", "10"), leg("@bob", "10")], [leg("@bob", "10"), leg("@alice", "10")])
    )
    assert swapped["source"] == ["@alice", "@bob"] and swapped["destination"] == ["@bob", "@alice"]
    got = await book.balances()
    assert got["@alice"] == (50, 0) and got["@alice#savings"] == (30, 0) and got["@bob"] == (20, 0)


# --- refusals of commit, cancel and revert ------------------------------------------------------------


async def test_commit_and_cancel_need_a_pending_transaction(book: Book) -> None:
    approved = await book.ok("json", pay("10"))
    noted = await book.ok("annotation", pay("10"))
    canceled = await book.ok("json", pay("10", pending=True, description="to cancel"))
    assert (await book.act(canceled["id"], "cancel")).status_code == 201
    committed = await book.ok("json", pay("10", pending=True, description="to commit"))
    assert (await book.act(committed["id"], "commit")).status_code == 201
    async with unchanged(book):
        for target in (approved, noted, canceled, committed):
            for action in ("commit", "cancel"):
                assert_problem(await book.act(target["id"], action), 409, "0099")


async def test_revert_needs_an_approved_transaction(book: Book) -> None:
    pending = await book.ok("json", pay("10", pending=True))
    canceled = await book.ok("json", pay("10", pending=True, description="to cancel"))
    await book.act(canceled["id"], "cancel")
    noted = await book.ok("annotation", pay("10"))
    async with unchanged(book):
        for target in (pending, canceled, noted):
            assert_problem(await book.act(target["id"], "revert"), 409, "0099")


async def test_revert_twice_is_0087_and_reverting_a_reversal_is_0088(book: Book) -> None:
    paid = await book.ok("json", pay("40"))
    reversal = await book.act(paid["id"], "revert")
    assert reversal.status_code == 201, reversal.text
    async with unchanged(book):
        assert_problem(await book.act(paid["id"], "revert"), 409, "0087")
        assert_problem(await book.act(reversal.json()["id"], "revert"), 409, "0088")
    assert (await book.balances())["@alice"] == (100, 0)


async def test_revert_without_the_funds_is_0018(book: Book) -> None:
    paid = await book.ok("json", pay("40"))
    await book.ok("json", pay("30", source="@bob", destination="@carol"))
    async with unchanged(book):
        assert_problem(await book.act(paid["id"], "revert"), 422, "0018")


async def test_unknown_transaction_is_0007(book: Book) -> None:
    missing = str(uuid.uuid4())
    async with unchanged(book):
        for action in ("commit", "cancel", "revert"):
            assert_problem(await book.act(missing, action), 404, "0007")
        assert_problem(await book.client.get(f"{book.transactions}/{missing}"), 404, "0007")
        assert_problem(
            await book.client.patch(f"{book.transactions}/{missing}", json={"description": "x"}), 404, "0007"
        )
        paid = await book.client.get(f"{book.transactions}?limit=1")
        opening = paid.json()["items"][0]
        assert_problem(
            await book.client.patch(
                f"{book.transactions}/{opening['id']}/operations/{missing}", json={"description": "x"}
            ),
            404,
            "0007",
        )
        other_op = opening["operations"][0]["id"]
        assert_problem(
            await book.client.patch(f"{book.transactions}/{missing}/operations/{other_op}", json={"description": "x"}),
            404,
            "0007",
        )


async def test_transaction_of_another_ledger_is_0007(
    book: Book, client: AsyncTestClient, conn: asyncpg.Connection
) -> None:
    other = await open_book(client, conn)
    foreign = await other.ok("json", pay("10", pending=True))
    async with unchanged(book):
        assert_problem(await book.act(foreign["id"], "commit"), 404, "0007")
        assert_problem(await book.client.get(f"{book.transactions}/{foreign['id']}"), 404, "0007")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("POST", "/not-a-uuid/commit"),
        ("POST", "/not-a-uuid/cancel"),
        ("POST", "/not-a-uuid/revert"),
        ("GET", "/not-a-uuid"),
        ("PATCH", "/not-a-uuid"),
        ("PATCH", "/{tx}/operations/not-a-uuid"),
    ],
)
async def test_non_uuid_path_id_is_0065(book: Book, method: str, suffix: str) -> None:
    listed = (await book.client.get(book.transactions)).json()["items"][0]
    url = book.transactions + suffix.format(tx=listed["id"])
    body = {"description": "x"} if method == "PATCH" else None
    async with unchanged(book):
        assert_problem(await book.client.request(method, url, json=body), 400, "0065")


async def test_non_uuid_ledger_is_0065(client: AsyncTestClient, book: Book) -> None:
    url = f"/v1/organizations/{book.organization_id}/ledgers/nope/transactions/json"
    assert_problem(await client.post(url, json=pay("1")), 400, "0065")


# --- idempotency -----------------------------------------------------------------------------------


async def test_same_key_other_body_in_flight_is_0084_or_a_replay(book: Book) -> None:
    """funnel.py: a key in flight with another request is refused 409 0084; once answered, it is replayed.

    Midaz compares no hash after the first answer (reference §1.2), so a finished key replays the first
    result even for a different body. Which request wins the race is not fixed; exactly one moves money.
    Rounds repeat until a 0084 is seen (the first round nearly always shows one).
    """
    seen = []
    while "0084" not in seen and len(seen) < 10:
        before = (await book.balances())["@bob"][0]
        key = {"X-Idempotency": unique("race")}
        first, second = await concurrently(
            book.client,
            ("POST", f"{book.transactions}/inflow", inflow("7", leg("@bob", "7")), key),
            ("POST", f"{book.transactions}/inflow", inflow("9", leg("@bob", "9")), key),
        )
        fresh = [r for r in (first, second) if r.status_code == 201 and r.headers["X-Idempotency-Replayed"] == "false"]
        assert len(fresh) == 1, (first.text, second.text)
        winner, other = fresh[0], (second if fresh[0] is first else first)
        if other.status_code == 409:
            assert_problem(other, 409, "0084")
            seen.append("0084")
        else:
            assert other.status_code == 201, other.text
            assert other.headers["X-Idempotency-Replayed"] == "true"
            assert other.json() == winner.json()
            seen.append("replay")
        assert (await book.balances())["@bob"][0] == before + Decimal(winner.json()["amount"])
    assert "0084" in seen, seen


async def test_same_key_same_body_in_flight_is_one_transaction(book: Book) -> None:
    key = {"X-Idempotency": unique("twin")}
    body = pay("60")
    answers = await concurrently(book.client, *[("POST", f"{book.transactions}/json", body, key)] * 4)
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.headers["X-Idempotency-Replayed"] for a in answers) == ["false", "true", "true", "true"]
    assert (await book.balances())["@alice"] == (40, 0)


async def test_finished_key_replays_the_first_answer_whatever_the_body(book: Book) -> None:
    key = {"X-Idempotency": unique("k"), "X-TTL": "60"}
    first = await book.post("json", pay("10"), headers=key)
    assert first.status_code == 201 and first.headers["X-Idempotency-Replayed"] == "false"
    async with unchanged(book):
        again = await book.post("json", pay("20", destination="@carol"), headers=key)
        assert again.status_code == 201, again.text
        assert again.headers["X-Idempotency-Replayed"] == "true"
        assert again.json() == first.json()
        twin = await book.post("json", pay("10"), headers=key)
        assert twin.json() == first.json()


async def test_refused_request_keeps_no_key(book: Book) -> None:
    key = {"X-Idempotency": unique("retry")}
    assert_problem(await book.post("json", pay("150"), headers=key), 422, "0018")
    await book.ok("inflow", inflow("50", leg("@alice", "50")))
    retried = await book.post("json", pay("150"), headers=key)
    assert retried.status_code == 201 and retried.headers["X-Idempotency-Replayed"] == "false"


# --- races ------------------------------------------------------------------------------------------


async def test_concurrent_overspending_cannot_all_win(book: Book) -> None:
    answers = await concurrently(
        book.client,
        *[("POST", f"{book.transactions}/json", pay("15", description=f"race {i}"), None) for i in range(10)],
    )
    accepted = [a for a in answers if a.status_code == 201]
    for refused in (a for a in answers if a.status_code != 201):
        assert_problem(refused, 422, "0018")
    assert len(accepted) == 6
    assert (await book.balances())["@alice"] == (10, 0)
    assert (await book.balances())["@bob"] == (90, 0)


async def test_concurrent_commit_and_cancel_one_wins(book: Book) -> None:
    pending = await book.ok("json", pay("30", pending=True))
    url = f"{book.transactions}/{pending['id']}"
    commit, cancel = await concurrently(
        book.client, ("POST", f"{url}/commit", None, None), ("POST", f"{url}/cancel", None, None)
    )
    winner, loser = (commit, cancel) if commit.status_code == 201 else (cancel, commit)
    assert winner.status_code == 201, winner.text
    assert_problem(loser, 409, "0099")
    got = await book.balances()
    if winner is commit:
        assert got["@alice"] == (70, 0) and got["@bob"] == (30, 0)
    else:
        assert got["@alice"] == (100, 0) and got["@bob"] == (0, 0)


async def test_commit_and_revert_racing_answer_as_some_serial_order(book: Book) -> None:
    """Serially, commit-then-revert reverts (201) and revert-then-commit refuses the revert (0099)."""
    rounds, reverted = 30, 0
    for i in range(rounds):
        pending = await book.ok("json", pay("1", pending=True, description=f"round {i}"))
        url = f"{book.transactions}/{pending['id']}"
        commit, revert = await concurrently(
            book.client, ("POST", f"{url}/commit", None, None), ("POST", f"{url}/revert", None, None)
        )
        assert commit.status_code == 201, commit.text
        if revert.status_code == 201:
            assert revert.json()["parentTransactionId"] == pending["id"]
            reverted += 1
        else:
            assert_problem(revert, 409, "0099")
    got = await book.balances()
    assert got["@alice"] == (100 - rounds + reverted, 0) and got["@bob"] == (rounds - reverted, 0)


async def test_concurrent_reverts_one_wins(book: Book) -> None:
    paid = await book.ok("json", pay("30"))
    answers = await concurrently(book.client, *[("POST", f"{book.transactions}/{paid['id']}/revert", None, None)] * 3)
    assert sorted(a.status_code for a in answers) == [201, 409, 409], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert_problem(refused, 409, "0087")
    assert (await book.balances())["@alice"] == (100, 0)


# --- worked examples -------------------------------------------------------------------------------


async def test_marketplace_payout(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    """A buyer pays 250 from card balance and a voucher; two sellers and the platform share it."""
    book = await open_book(client, conn, ("@buyer", "@voucher", "@seller-1", "@seller-2", "@platform"), funds="220")
    await book.ok("inflow", inflow("50", leg("@voucher", "50")))
    order = await book.ok(
        "json",
        transfer(
            "250",
            [leg("@buyer", "200"), leg("@voucher", remaining=True)],
            [
                leg("@seller-1", share=60, description="shoes"),
                leg("@seller-2", share=30, description="socks"),
                leg("@platform", remaining=True, description="commission"),
            ],
            description="order 42",
            metadata={"order": "42"},
        ),
    )
    assert order["status"]["code"] == "CREATED" and order["amount"] == "250"
    assert order["source"] == ["@buyer", "@voucher"]
    assert order["destination"] == ["@seller-1", "@seller-2", "@platform"]
    assert ops_of(order) == [
        ("@buyer", "DEBIT", "200"),
        ("@voucher", "DEBIT", "50"),
        ("@seller-1", "CREDIT", "150"),
        ("@seller-2", "CREDIT", "75"),
        ("@platform", "CREDIT", "25"),
    ]
    assert [o["description"] for o in order["operations"]] == ["order 42", "order 42", "shoes", "socks", "commission"]
    assert order["operations"][1]["balance"]["available"] == "50"
    assert order["operations"][1]["balanceAfter"]["available"] == "0"
    got = await book.balances()
    assert {alias: got[alias][0] for alias in got} == {
        "@buyer": 20,
        "@voucher": 0,
        "@seller-1": 150,
        "@seller-2": 75,
        "@platform": 25,
        EXTERNAL: 270,
    }
    # The platform pays the sellers' payouts out of the ledger.
    payout = await book.ok("outflow", outflow("225", leg("@seller-1", "150"), leg("@seller-2", remaining=True)))
    assert payout["destination"] == [EXTERNAL]
    assert (await book.balances())[EXTERNAL] == (45, 0)


async def test_shares_33_33_remaining_are_exact(book: Book) -> None:
    await book.ok("inflow", inflow("0.01", leg("@alice", "0.01")))
    split = await book.ok(
        "json",
        transfer(
            "100.01",
            [leg("@alice", share=100)],
            [leg("@bob", share=33), leg("@carol", share=33), leg("@fees", remaining=True)],
        ),
    )
    # 33% of 100.01 is 33.0033, twice; the rest is 100.01 - 66.0066 = 34.0034. Nothing is rounded.
    assert ops_of(split) == [
        ("@alice", "DEBIT", "100.01"),
        ("@bob", "CREDIT", "33.0033"),
        ("@carol", "CREDIT", "33.0033"),
        ("@fees", "CREDIT", "34.0034"),
    ]
    got = await book.balances()
    assert got["@bob"] == (Decimal("33.0033"), 0) and got["@fees"] == (Decimal("34.0034"), 0)
    assert got["@alice"] == (0, 0)


async def test_percentage_of_percentage(book: Book) -> None:
    split = await book.ok(
        "json",
        transfer(
            "10",
            [leg("@alice", "10")],
            [leg("@bob", share=33, of=33), leg("@fees", share=50, of=10), leg("@carol", remaining=True)],
        ),
    )
    # 33% of 33% of 10 is 1.089; 50% of 10% of 10 is 0.5; the rest is 8.411.
    assert ops_of(split)[1:] == [("@bob", "CREDIT", "1.089"), ("@fees", "CREDIT", "0.5"), ("@carol", "CREDIT", "8.411")]
    shared_source = await book.ok(
        "json", transfer("3", [leg("@alice", share=50, of=50), leg("@carol", remaining=True)], [leg("@fees", "3")])
    )
    assert ops_of(shared_source)[:2] == [("@alice", "DEBIT", "0.75"), ("@carol", "DEBIT", "2.25")]


async def test_zero_amount_leg_moves_nothing(book: Book) -> None:
    paid = await book.ok("json", transfer("10", [leg("@alice", "10"), leg("@carol", "0")], [leg("@bob", "10")]))
    assert paid["source"] == ["@alice", "@carol"]
    assert ops_of(paid) == [("@alice", "DEBIT", "10"), ("@bob", "CREDIT", "10")]


async def test_annotation_records_without_moving_money(book: Book) -> None:
    before = await book.state()
    noted = await book.ok(
        "annotation", transfer("500", [leg("@carol", "500")], [leg("@bob", "500")], description="memo")
    )
    assert noted["status"] == {"code": "NOTED", "description": "NOTED"}
    assert ops_of(noted) == [("@carol", "DEBIT", "500"), ("@bob", "CREDIT", "500")]
    zero = {"available": "0", "onHold": "0", "version": 0, "overdraftUsed": "0"}
    for op in noted["operations"]:
        assert op["balanceAffected"] is False
        assert op["balance"] == zero and op["balanceAfter"] == zero
    after = await book.state()
    assert after["balances"] == before["balances"]
    assert after["transactions"] == before["transactions"] + 1
    fetched = (await book.client.get(f"{book.transactions}/{noted['id']}")).json()
    assert fetched["status"]["code"] == "NOTED"
    assert [o["balanceAffected"] for o in fetched["operations"]] == [False, False]


async def test_outflow_and_pending_outflow(book: Book) -> None:
    out = await book.ok("outflow", outflow("30", leg("@alice", "30"), description="withdrawal"))
    assert out["source"] == ["@alice"] and out["destination"] == [EXTERNAL]
    assert ops_of(out) == [("@alice", "DEBIT", "30"), (EXTERNAL, "CREDIT", "30")]
    got = await book.balances()
    assert got["@alice"] == (70, 0) and got[EXTERNAL] == (70, 0)
    held = await book.ok("outflow", outflow("20", leg("@alice", "20"), pending=True))
    assert held["status"]["code"] == "PENDING"
    assert ops_of(held) == [("@alice", "ON_HOLD", "20")]
    got = await book.balances()
    assert got["@alice"] == (50, 20) and got[EXTERNAL] == (70, 0)
    committed = await book.act(held["id"], "commit")
    assert committed.status_code == 201 and committed.json()["status"]["code"] == "APPROVED"
    assert ops_of(committed.json()) == [
        ("@alice", "ON_HOLD", "20"),
        ("@alice", "DEBIT", "20"),
        (EXTERNAL, "CREDIT", "20"),
    ]
    got = await book.balances()
    assert got["@alice"] == (50, 0) and got[EXTERNAL] == (50, 0)


async def test_pending_cancel_releases_the_hold(book: Book) -> None:
    held = await book.ok("json", pay("25", pending=True))
    assert held["destination"] == ["@bob"] and ops_of(held) == [("@alice", "ON_HOLD", "25")]
    canceled = await book.act(held["id"], "cancel")
    assert canceled.status_code == 201 and canceled.json()["status"]["code"] == "CANCELED"
    assert ops_of(canceled.json())[-1] == ("@alice", "RELEASE", "25")
    got = await book.balances()
    assert got["@alice"] == (100, 0) and got["@bob"] == (0, 0)
    fetched = (await book.client.get(f"{book.transactions}/{held['id']}")).json()
    assert fetched["status"]["code"] == "CANCELED" and len(fetched["operations"]) == 2


async def test_revert_restores_both_sides(book: Book) -> None:
    paid = await book.ok(
        "json",
        transfer("60", [leg("@alice", "60")], [leg("@bob", "50"), leg("@fees", "10")], metadata={"invoice": "7"}),
    )
    reversal = await book.act(paid["id"], "revert")
    assert reversal.status_code == 201, reversal.text
    body = reversal.json()
    assert body["status"]["code"] == "CREATED" and body["parentTransactionId"] == paid["id"]
    assert body["source"] == ["@bob", "@fees"] and body["destination"] == ["@alice"]
    assert ops_of(body) == [("@bob", "DEBIT", "50"), ("@fees", "DEBIT", "10"), ("@alice", "CREDIT", "60")]
    assert body["metadata"] == {"invoice": "7"}
    got = await book.balances()
    assert got["@alice"] == (100, 0) and got["@bob"] == (0, 0) and got["@fees"] == (0, 0)
    fetched = (await book.client.get(f"{book.transactions}/{body['id']}")).json()
    assert fetched["status"]["code"] == "APPROVED" and fetched["parentTransactionId"] == paid["id"]


@pytest.mark.parametrize(
    ("given", "created_at"),
    [
        ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00Z"),
        ("2024-01-15T10:30:00.250Z", "2024-01-15T10:30:00.25Z"),
        ("2024-01-15T10:30:00-03:00", "2024-01-15T13:30:00Z"),
        ("2024-01-15T10:30:00", "2024-01-15T10:30:00Z"),
        ("2024-01-15", "2024-01-15T00:00:00Z"),
    ],
)
async def test_transaction_date_back_dates_the_transaction(book: Book, given: str, created_at: str) -> None:
    dated = await book.ok("json", pay("10", transactionDate=given))
    assert dated["createdAt"] == created_at
    assert [o["createdAt"] for o in dated["operations"]] == [created_at, created_at]
    assert dated["updatedAt"] > created_at
    fetched = (await book.client.get(f"{book.transactions}/{dated['id']}")).json()
    assert fetched["createdAt"] == created_at
    assert [o["createdAt"] for o in fetched["operations"]] == [created_at, created_at]
    assert (await book.balances())["@bob"] == (10, 0)


async def test_get_returns_what_create_answered(book: Book) -> None:
    paid = await book.ok(
        "json",
        transfer(
            "30", [leg("@alice", "30")], [leg("@bob", "20"), leg("@fees", "10")], description="p2p", metadata={"k": "v"}
        ),
    )
    fetched = await book.client.get(f"{book.transactions}/{paid['id']}")
    assert fetched.status_code == 200
    body = fetched.json()
    assert body["status"] == {"code": "APPROVED", "description": "APPROVED"}
    for field in (
        "id",
        "description",
        "amount",
        "assetCode",
        "source",
        "destination",
        "metadata",
        "createdAt",
        "ledgerId",
        "organizationId",
    ):
        assert body[field] == paid[field], field
    assert [o["id"] for o in body["operations"]] == [o["id"] for o in paid["operations"]]


# --- lists, counts, PATCH -----------------------------------------------------------------------------


def cursor_id(cursor: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.b64decode(cursor))
    return decoded


async def test_list_pages_by_cursor_both_ways(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    book = await open_book(client, conn, funds=None)
    ids = [(await book.ok("inflow", inflow(str(n), leg("@alice", str(n)))))["id"] for n in range(1, 6)]
    first = (await book.client.get(book.transactions, params={"limit": 2})).json()
    assert [t["id"] for t in first["items"]] == ids[:2] and first["limit"] == 2
    assert "prev_cursor" not in first and cursor_id(first["next_cursor"])["direction"] == "next"
    second = (await book.client.get(book.transactions, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [t["id"] for t in second["items"]] == ids[2:4]
    third = (await book.client.get(book.transactions, params={"limit": 2, "cursor": second["next_cursor"]})).json()
    assert [t["id"] for t in third["items"]] == ids[4:] and "next_cursor" not in third
    back = (await book.client.get(book.transactions, params={"limit": 2, "cursor": third["prev_cursor"]})).json()
    assert [t["id"] for t in back["items"]] == ids[2:4]
    assert back["next_cursor"] and back["prev_cursor"]
    home = (await book.client.get(book.transactions, params={"limit": 2, "cursor": back["prev_cursor"]})).json()
    assert [t["id"] for t in home["items"]] == ids[:2] and "prev_cursor" not in home
    assert all(len(t["operations"]) == 2 for t in first["items"] + second["items"] + third["items"])
    newest = (await book.client.get(book.transactions, params={"limit": 2, "sort_order": "desc"})).json()
    assert [t["id"] for t in newest["items"]] == ids[::-1][:2]
    older = (
        await book.client.get(
            book.transactions, params={"limit": 2, "sort_order": "desc", "cursor": newest["next_cursor"]}
        )
    ).json()
    assert [t["id"] for t in older["items"]] == ids[::-1][2:4]
    everything = (await book.client.get(book.transactions, params={"limit": 100})).json()
    assert [t["id"] for t in everything["items"]] == ids and set(everything) == {"items", "limit"}


async def test_list_filters_by_metadata(book: Book) -> None:
    tagged = await book.ok("json", pay("5", metadata={"channel": "pix"}))
    await book.ok("json", pay("6", metadata={"channel": "ted"}))
    listed = (await book.client.get(book.transactions, params={"metadata.channel": "pix"})).json()
    assert [t["id"] for t in listed["items"]] == [tagged["id"]]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": 0}, "0082"),
        ({"limit": "ten"}, "0082"),
        ({"limit": 101}, "0080"),
        ({"sort_order": "up"}, "0081"),
        ({"cursor": "not-base64!"}, "0082"),
        ({"start_date": "2024-01-01"}, "0083"),
        ({"start_date": "2024-02-01", "end_date": "2024-01-01"}, "0078"),
        ({"start_date": "01/01/2024", "end_date": "2024-01-02"}, "0131"),
    ],
)
async def test_list_query_errors(book: Book, params: dict[str, Any], code: str) -> None:
    assert_problem(await book.client.get(book.transactions, params=params), 400, code)


async def test_head_count(client: AsyncTestClient, conn: asyncpg.Connection) -> None:
    book = await open_book(client, conn)
    await book.ok("json", pay("10"))
    held = await book.ok("json", pay("10", pending=True))
    await book.ok("annotation", pay("1"))
    counted = await book.client.head(f"{book.transactions}/metrics/count")
    assert counted.status_code == 204 and counted.content == b""
    assert counted.headers["X-Total-Count"] == "4"
    pending = await book.client.head(f"{book.transactions}/metrics/count", params={"status": "pending"})
    assert pending.headers["X-Total-Count"] == "1"
    await book.act(held["id"], "commit")
    approved = await book.client.head(f"{book.transactions}/metrics/count", params={"status": "APPROVED"})
    assert approved.headers["X-Total-Count"] == "3"


async def test_patch_changes_description_and_metadata_only(book: Book) -> None:
    paid = await book.ok("json", pay("10", description="before", metadata={"keep": "1", "drop": "2"}))
    url = f"{book.transactions}/{paid['id']}"
    patched = await book.client.patch(url, json={"description": "after", "metadata": {"drop": None, "new": 3}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["description"] == "after"
    assert body["metadata"] == {"keep": "1", "new": 3}
    assert body["amount"] == "10" and body["status"]["code"] == "APPROVED"
    assert body["createdAt"] == paid["createdAt"] and body["updatedAt"] >= paid["updatedAt"]
    only_metadata = (await book.client.patch(url, json={"metadata": {"x": True}})).json()
    assert only_metadata["description"] == "after" and only_metadata["metadata"] == {"keep": "1", "new": 3, "x": True}
    cleared = (await book.client.patch(url, json={"metadata": None})).json()
    assert cleared["metadata"] == {}
    async with unchanged(book):
        for forbidden in (
            {"amount": "99"},
            {"status": {"code": "CANCELED"}},
            {"send": pay("99")["send"]},
            {"description": "x", "assetCode": "USD"},
        ):
            assert_problem(await book.client.patch(url, json=forbidden), 400, "0053")
        assert_problem(await book.client.patch(url, json={"description": "x" * 257}), 400, "0047")
        assert_problem(await book.client.patch(url, json={"metadata": {"k": {"nested": 1}}}), 400, "0067")
    fetched = (await book.client.get(url)).json()
    assert fetched["amount"] == "10" and fetched["description"] == "after"


async def test_operation_description_defaults_to_the_transaction_description(book: Book) -> None:
    paid = await book.ok(
        "json", transfer("10", [leg("@alice", "10")], [leg("@bob", "10", description="to bob")], description="tx")
    )
    assert [o["description"] for o in paid["operations"]] == ["tx", "to bob"]


async def test_patch_an_operation(book: Book) -> None:
    paid = await book.ok("json", pay("10", description="tx"))
    op = paid["operations"][1]
    url = f"{book.transactions}/{paid['id']}/operations/{op['id']}"
    patched = await book.client.patch(url, json={"description": "credit bob", "metadata": {"note": "hi"}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["description"] == "credit bob" and body["metadata"] == {"note": "hi"}
    assert body["amount"] == {"value": "10"} and body["balanceAfter"] == op["balanceAfter"]
    async with unchanged(book):
        assert_problem(await book.client.patch(url, json={"amount": {"value": "1"}}), 400, "0053")
    fetched = (await book.client.get(f"{book.transactions}/{paid['id']}")).json()
    assert fetched["operations"][1]["description"] == "credit bob"
    assert fetched["operations"][0]["description"] == "tx"


async def test_balance_endpoints_agree_with_the_books(book: Book) -> None:
    await book.ok("json", pay("30"))
    await book.ok("json", pay("20", destination="@carol", pending=True))
    stored = await book.balances()
    paths = {alias: f"accounts/alias/{alias}/balances" for alias in ALIASES} | {
        EXTERNAL: "accounts/external/BRL/balances"
    }
    for alias, path in paths.items():
        response = await book.client.get(f"{book.base}/{path}")
        assert response.status_code == 200, response.text
        (shown,) = response.json()["items"]
        assert (Decimal(shown["available"]), Decimal(shown["onHold"])) == stored[alias], alias
    listed = (await book.client.get(f"{book.base}/balances", params={"limit": 100})).json()["items"]
    assert {b["alias"]: (Decimal(b["available"]), Decimal(b["onHold"])) for b in listed} == stored
    assert stored["@alice"] == (50, 20) and stored["@bob"] == (30, 0) and stored["@carol"] == (0, 0)


async def test_amounts_are_numbers_or_strings_and_answer_trimmed(book: Book) -> None:
    as_numbers = {
        "send": {
            "asset": "BRL",
            "value": 10.10,
            "source": {"from": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": 10.1}}]},
            "distribute": {"to": [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": 10.100}}]},
        }
    }
    paid = await book.ok("json", as_numbers)
    assert paid["amount"] == "10.1" and ops_of(paid)[1] == ("@bob", "CREDIT", "10.1")
    trimmed = await book.ok("json", pay("20.500"))
    assert trimmed["amount"] == "20.5"
    assert trimmed["operations"][0]["balanceAfter"]["available"] == "69.4"
    assert (await book.balances())["@bob"] == (Decimal("30.6"), 0)
