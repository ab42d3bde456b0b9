from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem, create, ledger, organization


def rubric(code: str = "1001", description: str = "Cash") -> dict[str, str]:
    return {"code": code, "description": description}


def entry(debit: bool = True, credit: bool = True) -> dict[str, dict[str, str] | None]:
    body: dict[str, dict[str, str] | None] = {}
    if debit:
        body["debit"] = rubric("D1", "Debit side")
    if credit:
        body["credit"] = rubric("C1", "Credit side")
    return body


SOURCE_ENTRIES = {
    "direct": entry(credit=False),
    "hold": entry(),
    "commit": entry(credit=False),
    "cancel": entry(),
}


@pytest.fixture
async def base(client):
    org = await organization(client)
    led = await ledger(client, org["id"])
    return f"/v1/organizations/{org['id']}/ledgers/{led['id']}"


@pytest.fixture
def url(base):
    return f"{base}/operation-routes"


async def test_create_get_list_patch_delete(client, url):
    body = {
        "title": "Cashout from alice",
        "description": "Debits the customer",
        "code": "EXT-001",
        "operationType": "source",
        "account": {"ruleType": "alias", "validIf": "@alice"},
        "accountingEntries": SOURCE_ENTRIES,
        "metadata": {"team": "ops"},
    }
    created = await create(client, url, body)
    assert uuid.UUID(created["id"]).version == 7
    assert {k: created[k] for k in ("title", "description", "code", "operationType", "account", "metadata")} == {
        k: body[k] for k in ("title", "description", "code", "operationType", "account", "metadata")
    }
    # Both sides always answer; a side the route does not book is null, as in Midaz.
    assert created["accountingEntries"]["direct"] == {"debit": rubric("D1", "Debit side"), "credit": None}
    assert list(created["accountingEntries"]) == ["direct", "hold", "commit", "cancel"]
    assert created["deletedAt"] is None and created["createdAt"] and created["updatedAt"]
    item = f"{url}/{created['id']}"
    assert (await client.get(item)).json() == created

    second = await create(client, url, {"title": "Plain", "operationType": "destination"})
    assert "accountingEntries" not in second and "account" not in second and "description" not in second
    listed = (await client.get(url, params={"limit": 1})).json()
    assert [i["id"] for i in listed["items"]] == [created["id"]] and listed["next_cursor"]
    rest = (await client.get(url, params={"cursor": listed["next_cursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [second["id"]]

    patched = (
        await client.patch(
            item,
            json={
                "title": "Renamed",
                "code": "",  # empty keeps the value, as in Midaz
                "account": {"ruleType": "account_type", "validIf": ["deposit", "savings"]},
                "accountingEntries": {"direct": {"debit": rubric("D9", "New debit")}},
                "metadata": {"team": None, "k": 1},
            },
        )
    ).json()
    assert (patched["title"], patched["code"], patched["description"]) == ("Renamed", "EXT-001", "Debits the customer")
    assert patched["account"] == {"ruleType": "account_type", "validIf": ["deposit", "savings"]}
    assert patched["accountingEntries"]["direct"]["debit"] == rubric("D9", "New debit")
    assert patched["accountingEntries"]["hold"] == created["accountingEntries"]["hold"]  # merged, not replaced
    assert patched["metadata"] == {"k": 1}
    assert patched["operationType"] == "source"
    assert_problem(await client.patch(item, json={"operationType": "destination"}), 400, "0053")

    assert (await client.delete(item)).status_code == 204
    assert_problem(await client.get(item), 404, "0101")
    assert_problem(await client.patch(item, json={"title": "x"}), 404, "0101")
    assert_problem(await client.delete(item), 404, "0101")
    assert_problem(await client.get(f"{url}/not-a-uuid"), 400, "0065")


async def test_request_shape(client, url):
    assert_problem(await client.post(url, json={"operationType": "source"}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "", "operationType": "source"}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "t"}), 400, "0009")
    assert_problem(await client.post(url, json={"title": "t", "operationType": "sideways"}), 400, "0047")
    assert_problem(await client.post(url, json={"title": "t" * 256, "operationType": "source"}), 400, "0047")
    too_long = {"title": "t", "operationType": "source", "description": "d" * 251}
    assert_problem(await client.post(url, json=too_long), 400, "0047")
    assert_problem(
        await client.post(url, json={"title": "t", "operationType": "source", "code": "c" * 101}), 400, "0047"
    )
    assert_problem(await client.post(url, json={"title": "t", "operationType": "source", "x": 1}), 400, "0053")
    unknown_action = {"title": "t", "operationType": "source", "accountingEntries": {"refund": entry()}}
    assert_problem(await client.post(url, json=unknown_action), 400, "0053")
    unknown_side = {"title": "t", "operationType": "source", "accountingEntries": {"direct": {"debet": rubric()}}}
    assert_problem(await client.post(url, json=unknown_side), 400, "0053")
    long_rubric = {"direct": {"debit": rubric(code="c" * 51)}}
    assert_problem(
        await client.post(url, json={"title": "t", "operationType": "source", "accountingEntries": long_rubric}),
        400,
        "0047",
    )
    # Any letter case names the same type.
    assert (await create(client, url, {"title": "t", "operationType": "Bidirectional"}))["operationType"] == (
        "bidirectional"
    )


@pytest.mark.parametrize(
    ("account", "status", "code"),
    [
        ({"ruleType": "alias"}, 400, "0009"),
        ({"validIf": "@alice"}, 400, "0009"),
        ({"ruleType": "owner", "validIf": "@alice"}, 400, "0111"),
        ({"ruleType": "alias", "validIf": ["@alice"]}, 400, "0112"),
        ({"ruleType": "account_type", "validIf": "deposit"}, 400, "0112"),
        ({"ruleType": "account_type", "validIf": ["deposit", 7]}, 400, "0112"),
        ({"ruleType": "alias", "validIf": {"a": 1}}, 400, "0112"),
    ],
)
async def test_account_rule_codes(client, url, account, status, code):
    assert_problem(
        await client.post(url, json={"title": "t", "operationType": "source", "account": account}), status, code
    )


async def test_account_rule_accepted_forms(client, url):
    alias = await create(
        client, url, {"title": "t", "operationType": "source", "account": {"ruleType": "alias", "validIf": "@a"}}
    )
    assert alias["account"] == {"ruleType": "alias", "validIf": "@a"}
    by_type = {"ruleType": "ACCOUNT_TYPE", "validIf": ["deposit"]}
    typed = await create(client, url, {"title": "t", "operationType": "source", "account": by_type})
    assert typed["account"] == {"ruleType": "account_type", "validIf": ["deposit"]}
    assert "account" not in await create(client, url, {"title": "t", "operationType": "source", "account": {}})
    # PATCH: a partial rule is refused; a null or empty rule keeps the stored one.
    item = f"{url}/{alias['id']}"
    assert_problem(await client.patch(item, json={"account": {"validIf": "@b"}}), 400, "0009")
    assert_problem(await client.patch(item, json={"account": {"ruleType": "x", "validIf": "@b"}}), 400, "0111")
    assert (await client.patch(item, json={"account": None})).json()["account"] == alias["account"]
    assert (await client.patch(item, json={"account": {}})).json()["account"] == alias["account"]


@pytest.mark.parametrize(
    ("operation_type", "entries", "status", "code"),
    [
        # Structure: an entry needs a side, a rubric its code and description.
        ("source", {"direct": {}}, 400, "0009"),
        ("source", {"direct": {"debit": {"code": " ", "description": "x"}}}, 400, "0009"),
        ("source", {"direct": {"debit": {"code": "x"}}}, 400, "0009"),
        ("source", {"direct": entry(credit=False), "overdraft": {}}, 422, "0166"),
        ("source", {"block": {"debit": {"code": "x"}}}, 422, "0166"),
        # revert only on bidirectional routes.
        ("source", {"direct": entry(credit=False), "revert": entry()}, 422, "0165"),
        ("destination", {"direct": entry(debit=False), "revert": entry()}, 422, "0165"),
        # destinations never hold or cancel.
        ("destination", {"direct": entry(debit=False), "hold": entry()}, 422, "0162"),
        ("destination", {"direct": entry(debit=False), "cancel": entry()}, 422, "0162"),
        # the sides each (type, action) needs.
        ("source", {"direct": entry(debit=False)}, 422, "0166"),
        (
            "source",
            {"direct": entry(credit=False), "hold": entry(credit=False), "commit": entry(), "cancel": entry()},
            422,
            "0166",
        ),
        ("destination", {"direct": entry(credit=False)}, 422, "0166"),
        ("destination", {"block": entry(credit=False)}, 422, "0166"),
        ("bidirectional", {"direct": entry(credit=False)}, 422, "0166"),
        ("source", {"direct": entry(credit=False), "overdraft": entry(credit=False)}, 422, "0166"),
        # hold, commit and cancel come together.
        ("source", {"direct": entry(credit=False), "hold": entry()}, 422, "0163"),
        ("source", {"direct": entry(credit=False), "hold": entry(), "commit": entry()}, 422, "0163"),
        ("source", {"direct": entry(credit=False), "commit": entry()}, 422, "0163"),
        ("bidirectional", {"direct": entry(), "cancel": entry()}, 422, "0163"),
        # direct is required when any other scenario exists.
        ("source", {"hold": entry(), "commit": entry(), "cancel": entry()}, 422, "0164"),
        ("source", {"overdraft": entry()}, 422, "0164"),
        ("destination", {"commit": entry(debit=False)}, 422, "0164"),
        ("bidirectional", {"revert": entry()}, 422, "0164"),
    ],
)
async def test_accounting_entries_matrix(client, url, operation_type, entries, status, code):
    body = {"title": "t", "operationType": operation_type, "accountingEntries": entries}
    assert_problem(await client.post(url, json=body), status, code)


@pytest.mark.parametrize(
    ("operation_type", "entries"),
    [
        ("source", SOURCE_ENTRIES),
        ("source", {"direct": entry(credit=False), "overdraft": entry(), "block": entry(credit=False)}),
        ("destination", {"direct": entry(debit=False), "commit": entry(debit=False), "unblock": entry(debit=False)}),
        ("bidirectional", {a: entry() for a in ("direct", "hold", "commit", "cancel", "revert", "overdraft")}),
        ("source", {"block": entry(credit=False)}),  # block and unblock stand without direct
        ("source", {"direct": entry()}),  # a side not required is still accepted
    ],
)
async def test_accounting_entries_accepted(client, url, operation_type, entries):
    created = await create(client, url, {"title": "t", "operationType": operation_type, "accountingEntries": entries})
    assert set(created["accountingEntries"]) == set(entries)


async def test_patch_merges_entries_and_checks_the_result(client, url):
    route = await create(client, url, {"title": "t", "operationType": "source", "accountingEntries": SOURCE_ENTRIES})
    item = f"{url}/{route['id']}"
    assert_problem(await client.patch(item, json={"accountingEntries": {"revert": entry()}}), 422, "0165")
    assert_problem(await client.patch(item, json={"accountingEntries": {"commit": None}}), 422, "0163")
    assert_problem(await client.patch(item, json={"accountingEntries": {"direct": None}}), 422, "0164")
    assert_problem(await client.patch(item, json={"accountingEntries": {"direct": {}}}), 400, "0009")
    assert_problem(await client.patch(item, json={"accountingEntries": {"bogus": None}}), 400, "0053")
    assert (await client.get(item)).json() == route  # every refusal changed nothing
    removed = await client.patch(item, json={"accountingEntries": {"hold": None, "commit": None, "cancel": None}})
    assert list(removed.json()["accountingEntries"]) == ["direct"]
    cleared = (await client.patch(item, json={"accountingEntries": None})).json()
    assert "accountingEntries" not in cleared
    destination = await create(client, url, {"title": "d", "operationType": "destination"})
    hold = {"accountingEntries": {"direct": entry(debit=False), "hold": entry()}}
    assert_problem(await client.patch(f"{url}/{destination['id']}", json=hold), 422, "0162")


async def test_delete_refused_while_linked(client, base, url):
    source = await create(client, url, {"title": "s", "operationType": "source"})
    destination = await create(client, url, {"title": "d", "operationType": "destination"})
    transaction_route = await create(
        client, f"{base}/transaction-routes", {"title": "tr", "operationRoutes": [source["id"], destination["id"]]}
    )
    assert_problem(await client.delete(f"{url}/{source['id']}"), 422, "0107")
    assert (await client.get(f"{url}/{source['id']}")).status_code == 200
    # A linked route can still change.
    assert (await client.patch(f"{url}/{source['id']}", json={"title": "s2"})).status_code == 200
    assert (await client.delete(f"{base}/transaction-routes/{transaction_route['id']}")).status_code == 204
    assert (await client.delete(f"{url}/{source['id']}")).status_code == 204


async def test_scope(client, url):
    other = await organization(client)
    assert_problem(
        await client.get(f"/v1/organizations/{other['id']}/ledgers/{uuid.uuid4()}/operation-routes"), 404, "0037"
    )
    route = await create(client, url, {"title": "t", "operationType": "source"})
    other_ledger = await ledger(client, other["id"])
    foreign = f"/v1/organizations/{other['id']}/ledgers/{other_ledger['id']}/operation-routes/{route['id']}"
    assert_problem(await client.get(foreign), 404, "0101")
