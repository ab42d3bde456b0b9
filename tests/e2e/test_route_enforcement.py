"""Route enforcement (``accounting.validateRoutes``): a routed ledger accepts what its routes allow
and refuses each kind of violation with its code, leaving every balance as it was."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from tests.e2e.test_transactions_basic import send, setup_ledger
from tests.helpers import assert_problem, create


def entry(debit: bool = True, credit: bool = True) -> dict[str, Any]:
    body = {}
    if debit:
        body["debit"] = {"code": "D-1", "description": "debit rubric"}
    if credit:
        body["credit"] = {"code": "C-1", "description": "credit rubric"}
    return body


# Operation routes of the routed ledger: (title, operationType, account rule, accounting entries).
OPERATION_ROUTES: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = {
    "src": (
        "source",
        {"ruleType": "alias", "validIf": "@alice"},
        {"direct": entry(credit=False), "hold": entry(), "commit": entry(credit=False), "cancel": entry()},
    ),
    "dst": (
        "destination",
        {"ruleType": "account_type", "validIf": ["deposit"]},
        {"direct": entry(debit=False), "commit": entry(debit=False)},
    ),
    "dst2": ("destination", None, {"direct": entry(debit=False)}),
    "bi": ("bidirectional", None, {"direct": entry(), "revert": entry()}),
    "plain_src": ("source", None, None),
    "plain_dst": ("destination", None, None),
}
TRANSACTION_ROUTES = {
    "main": ["src", "dst"],
    "wide": ["src", "dst", "dst2"],
    "bi_only": ["bi"],
    "bi_mixed": ["bi", "dst"],
    "plain": ["plain_src", "plain_dst"],
    "no_commit": ["src", "dst2"],
}


@dataclass
class Book:
    client: Any
    database_url: str
    base: str
    ops: dict[str, str]
    trs: dict[str, str]

    async def balances(self) -> dict[tuple[str, str], tuple[Any, Any, int]]:
        conn = await asyncpg.connect(self.database_url)
        try:
            rows = await conn.fetch(
                "SELECT alias, key, available, on_hold, version FROM balances WHERE ledger_id = $1",
                uuid.UUID(self.base.rsplit("/", 1)[1]),
            )
        finally:
            await conn.close()
        return {(r["alias"], r["key"]): (r["available"], r["on_hold"], r["version"]) for r in rows}

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.client.post(f"{self.base}/transactions/{path}", json=body)

    async def refused(self, path: str, body: dict[str, Any] | None, status: int, code: str) -> dict[str, Any]:
        """The request is refused with ``code`` and no balance moves."""
        before = await self.balances()
        problem = assert_problem(await self.post(path, body), status, code)
        assert await self.balances() == before
        return problem

    async def accepted(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(path, body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def patch_route(self, name: str, body: dict[str, Any]) -> None:
        response = await self.client.patch(f"{self.base}/operation-routes/{self.ops[name]}", json=body)
        assert response.status_code == 200, response.text


def leg(alias: str, value: str, route: str | None = None, key: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"accountAlias": alias, "amount": {"asset": "BRL", "value": value}}
    if route is not None:
        body["routeId"] = route
    if key is not None:
        body["balanceKey"] = key
    return body


async def routed_ledger(client, database_url, *, validate: bool = True) -> Book:
    base = await setup_ledger(client)
    await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "savings", "alias": "@sav"})
    funding = {"send": {"asset": "BRL", "value": "1000", "distribute": {"to": [leg("@alice", "1000")]}}}
    assert (await client.post(f"{base}/transactions/inflow", json=funding)).status_code == 201
    ops = {}
    for name, (operation_type, account, entries) in OPERATION_ROUTES.items():
        body: dict[str, Any] = {"title": name, "operationType": operation_type}
        if account:
            body["account"] = account
        if entries:
            body["accountingEntries"] = entries
        ops[name] = (await create(client, f"{base}/operation-routes", body))["id"]
    trs = {}
    for name, members in TRANSACTION_ROUTES.items():
        body = {"title": name, "operationRoutes": [ops[m] for m in members]}
        trs[name] = (await create(client, f"{base}/transaction-routes", body))["id"]
    if validate:
        settings = await client.patch(f"{base}/settings", json={"accounting": {"validateRoutes": True}})
        assert settings.status_code == 200 and settings.json()["accounting"]["validateRoutes"] is True
    return Book(client, database_url, base, ops, trs)


@pytest.fixture
async def book(client, database_url) -> Book:
    return await routed_ledger(client, database_url)


def transfer(book: Book, route: str, sources, destinations, **extra) -> dict[str, Any]:
    total = str(sum(int(s["amount"]["value"]) for s in sources))
    return send(total, sources, destinations, routeId=book.trs[route], **extra)


def main_transfer(book: Book, value: str = "100", **extra) -> dict[str, Any]:
    return transfer(
        book, "main", [leg("@alice", value, book.ops["src"])], [leg("@bob", value, book.ops["dst"])], **extra
    )


async def test_a_transaction_that_follows_its_routes_is_accepted(book):
    before = await book.balances()
    body = await book.accepted("json", main_transfer(book))
    assert body["routeId"] == book.trs["main"]
    assert [(o["accountAlias"], o["type"], o["routeId"]) for o in body["operations"]] == [
        ("@alice", "DEBIT", book.ops["src"]),
        ("@bob", "CREDIT", book.ops["dst"]),
    ]
    after = await book.balances()
    assert after[("@alice", "default")][0] == before[("@alice", "default")][0] - 100
    assert after[("@bob", "default")][0] == 100
    # The legacy transaction-level ``route`` names the transaction route too.
    legacy = main_transfer(book, "1")
    legacy["route"] = legacy.pop("routeId")
    await book.accepted("json", legacy)


VIOLATIONS = {
    "0114 no transaction route": (
        lambda b: send("10", [leg("@alice", "10", b.ops["src"])], [leg("@bob", "10", b.ops["dst"])]),
        422,
        "0114",
    ),
    "0115 legacy route not a uuid": (
        lambda b: send("10", [leg("@alice", "10", b.ops["src"])], [leg("@bob", "10", b.ops["dst"])], route="main"),
        400,
        "0115",
    ),
    "0105 unknown transaction route": (
        lambda b: send(
            "10", [leg("@alice", "10", b.ops["src"])], [leg("@bob", "10", b.ops["dst"])], routeId=str(uuid.uuid4())
        ),
        404,
        "0105",
    ),
    "0157 no operation route covers direct": (
        lambda b: transfer(
            b, "plain", [leg("@alice", "10", b.ops["plain_src"])], [leg("@bob", "10", b.ops["plain_dst"])]
        ),
        422,
        "0157",
    ),
    "0117 leg without a routeId": (
        lambda b: transfer(b, "main", [leg("@alice", "10")], [leg("@bob", "10", b.ops["dst"])]),
        422,
        "0117",
    ),
    "0117 leg route outside the transaction route": (
        lambda b: transfer(b, "main", [leg("@alice", "10", b.ops["src"])], [leg("@bob", "10", b.ops["dst2"])]),
        422,
        "0117",
    ),
    "0116 a configured route unused": (
        lambda b: transfer(b, "wide", [leg("@alice", "10", b.ops["src"])], [leg("@bob", "10", b.ops["dst"])]),
        422,
        "0116",
    ),
    "0152 routes on the wrong sides": (
        lambda b: transfer(b, "main", [leg("@alice", "10", b.ops["dst"])], [leg("@bob", "10", b.ops["src"])]),
        422,
        "0152",
    ),
    "0151 bidirectional route without a credit": (
        lambda b: transfer(
            b,
            "bi_mixed",
            [leg("@alice", "10", b.ops["bi"])],
            [leg("@bob", "10", b.ops["dst"]), leg("@fees", "0", b.ops["bi"])],
        ),
        422,
        "0151",
    ),
    "0118 source alias not the route's": (
        lambda b: transfer(b, "main", [leg("@bob", "10", b.ops["src"])], [leg("@fees", "10", b.ops["dst"])]),
        422,
        "0118",
    ),
    "0119 destination account type not the route's": (
        lambda b: transfer(b, "main", [leg("@alice", "10", b.ops["src"])], [leg("@sav", "10", b.ops["dst"])]),
        422,
        "0119",
    ),
}


@pytest.mark.parametrize("name", list(VIOLATIONS))
async def test_each_violation_is_refused_and_changes_nothing(book, name):
    build, status, code = VIOLATIONS[name]
    await book.refused("json", build(book), status, code)


@pytest.mark.parametrize("path", ["inflow", "outflow", "annotation", "block", "unblock"])
async def test_every_create_endpoint_needs_a_route(book, path):
    if path == "inflow":
        body = {"send": {"asset": "BRL", "value": "5", "distribute": {"to": [leg("@bob", "5", book.ops["dst"])]}}}
    elif path == "outflow":
        body = {"send": {"asset": "BRL", "value": "5", "source": {"from": [leg("@alice", "5", book.ops["src"])]}}}
    else:
        body = send("5", [leg("@alice", "5", book.ops["src"])], [leg("@bob", "5", book.ops["dst"])])
    await book.refused(path, body, 422, "0114")


async def test_block_and_unblock_follow_the_direct_routes(book):
    alice = (await book.client.get(f"{book.base}/accounts/alias/@alice")).json()
    await create(book.client, f"{book.base}/accounts/{alice['id']}/balances", {"key": "blocked"})
    block = transfer(
        book, "main", [leg("@alice", "30", book.ops["src"])], [leg("@alice", "30", book.ops["dst"], "blocked")]
    )
    body = await book.accepted("block", block)
    assert [o["type"] for o in body["operations"]] == ["BLOCK", "BLOCK"]
    unblock = transfer(
        book, "main", [leg("@alice", "30", book.ops["src"], "blocked")], [leg("@alice", "30", book.ops["dst"])]
    )
    await book.accepted("unblock", unblock)
    wrong = transfer(
        book, "main", [leg("@alice", "5", book.ops["dst"])], [leg("@alice", "5", book.ops["src"], "blocked")]
    )
    await book.refused("block", wrong, 422, "0152")


async def test_pending_holds_against_hold_and_commit_routes(book):
    pending = await book.accepted("json", main_transfer(book, "50", pending=True))
    assert pending["status"]["code"] == "PENDING"
    committed = await book.accepted(f"{pending['id']}/commit")
    assert committed["status"]["code"] == "APPROVED"
    # A pending transaction's destinations answer to commit routes: dst2 has none.
    no_commit = transfer(book, "no_commit", [leg("@alice", "5", book.ops["src"])], [leg("@bob", "5", book.ops["dst2"])])
    await book.refused("json", {**no_commit, "pending": True}, 422, "0117")
    # ...though the same legs may post directly.
    await book.accepted("json", no_commit)


async def test_commit_and_cancel_are_judged_when_they_happen(book):
    pending = await book.accepted("json", main_transfer(book, "40", pending=True))
    # The destination's rule changes while the transaction waits: commit is refused, cancel
    # (which judges sources only) is not.
    await book.patch_route("dst", {"account": {"ruleType": "account_type", "validIf": ["savings"]}})
    await book.refused(f"{pending['id']}/commit", None, 422, "0119")
    canceled = await book.accepted(f"{pending['id']}/cancel")
    assert canceled["status"]["code"] == "CANCELED"

    await book.patch_route("dst", {"account": {"ruleType": "account_type", "validIf": ["deposit"]}})
    # Without X-Idempotency the body's hash is the key: each transaction here says something new.
    second = await book.accepted("json", main_transfer(book, "40", pending=True, description="second"))
    await book.patch_route("src", {"account": {"ruleType": "alias", "validIf": "@bob"}})
    await book.refused(f"{second['id']}/cancel", None, 422, "0118")
    await book.refused(f"{second['id']}/commit", None, 422, "0118")
    await book.patch_route("src", {"accountingEntries": {"hold": None, "commit": None, "cancel": None}})
    await book.refused(f"{second['id']}/cancel", None, 422, "0157")
    await book.patch_route("src", {"account": {"ruleType": "alias", "validIf": "@alice"}})
    await book.patch_route(
        "src", {"accountingEntries": {"hold": entry(), "commit": entry(credit=False), "cancel": entry()}}
    )
    assert (await book.accepted(f"{second['id']}/commit"))["status"]["code"] == "APPROVED"
    # The funnel's own codes keep their precedence over the route codes.
    await book.refused(f"{second['id']}/commit", None, 409, "0099")


async def test_revert_needs_bidirectional_routes(book):
    direct = await book.accepted("json", main_transfer(book, "10"))
    await book.refused(f"{direct['id']}/revert", None, 422, "0150")

    both_ways = transfer(book, "bi_only", [leg("@alice", "10", book.ops["bi"])], [leg("@bob", "10", book.ops["bi"])])
    original = await book.accepted("json", both_ways)
    reverted = await book.accepted(f"{original['id']}/revert")
    assert reverted["parentTransactionId"] == original["id"]
    assert reverted["routeId"] == book.trs["bi_only"]
    await book.refused(f"{original['id']}/revert", None, 409, "0087")

    another = await book.accepted("json", {**both_ways, "description": "another"})
    await book.patch_route("bi", {"accountingEntries": {"revert": None}})
    await book.refused(f"{another['id']}/revert", None, 422, "0157")


async def test_batch_items_are_judged_one_by_one(book):
    unrouted = send("10", [leg("@alice", "10", book.ops["src"])], [leg("@bob", "10", book.ops["dst"])])
    before = await book.balances()
    response = await book.client.post(
        f"{book.base}/transactions/batch", json={"transactions": [main_transfer(book, "10"), unrouted]}
    )
    assert response.status_code == 207, response.text
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == [201, 422] and answers[1]["error"]["code"] == "0114"
    atomic = await book.client.post(
        f"{book.base}/transactions/batch", json={"transactions": [main_transfer(book, "10"), unrouted], "atomic": True}
    )
    assert [a["error"]["code"] for a in atomic.json()["items"]] == ["KTR-0003", "0114"]
    after = await book.balances()
    assert after[("@bob", "default")][0] == before[("@bob", "default")][0] + 10  # only the first batch's item


async def test_routes_are_ignored_unless_the_ledger_validates_them(client, database_url):
    book = await routed_ledger(client, database_url, validate=False)
    await book.accepted("json", send("10", [leg("@alice", "10")], [leg("@sav", "10")]))
    # Revert still refuses operations on a one-way route, as Midaz does whatever the setting.
    routed = await book.accepted("json", main_transfer(book, "10"))
    await book.refused(f"{routed['id']}/revert", None, 422, "0150")
    # A routeId naming no operation route is not judged.
    loose = send("10", [leg("@alice", "10", str(uuid.uuid4()))], [leg("@bob", "10")])
    original = await book.accepted("json", loose)
    await book.accepted(f"{original['id']}/revert")


async def test_an_overdraft_needs_an_overdraft_entry_on_the_route(client, database_url):
    book = await routed_ledger(client, database_url)
    items = (await client.get(f"{book.base}/accounts/alias/@alice/balances")).json()["items"]
    alice = next(b for b in items if b["key"] == "default")
    patched = await client.patch(f"{book.base}/balances/{alice['id']}", json={"settings": {"allowOverdraft": True}})
    assert patched.status_code == 200, patched.text
    # @alice holds 1000: 1100 draws an overdraft of 100 through "src", which has no overdraft entry.
    await book.refused("json", main_transfer(book, "1100"), 422, "0492")
    await book.accepted("json", main_transfer(book, "10"))  # within the funds: no overdraft, no entry needed
    await book.patch_route("src", {"accountingEntries": {"overdraft": entry()}})
    await book.accepted("json", main_transfer(book, "1090"))
    items = (await client.get(f"{book.base}/accounts/alias/@alice/balances")).json()["items"]
    alice = next(b for b in items if b["key"] == "default")
    assert (alice["available"], alice["overdraftUsed"]) == ("0", "100")
