"""Overdraft (draw within the limit, refusal over it, repayment by a later credit) and block/unblock
between balance keys of one account; ``kontor verify`` passes afterwards."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.config import Settings
from kontor.service.verify import verify
from tests.e2e.test_transactions_basic import send, setup_ledger
from tests.helpers import assert_problem, inflow


def move(value, source, destination, source_key="default", destination_key="default"):
    return send(
        str(value),
        [{"accountAlias": source, "balanceKey": source_key, "amount": {"asset": "BRL", "value": str(value)}}],
        [{"accountAlias": destination, "balanceKey": destination_key, "amount": {"asset": "BRL", "value": str(value)}}],
    )


async def balance_of(client, base, alias, key="default"):
    items = (await client.get(f"{base}/accounts/alias/{alias}/balances")).json()["items"]
    return next(b for b in items if b["key"] == key)


async def test_overdraft_draw_limit_and_repayment(own_client, own_database_url):
    client = own_client
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "50")
    alice = await balance_of(client, base, "@alice")
    patched = await client.patch(
        f"{base}/balances/{alice['id']}",
        json={"settings": {"allowOverdraft": True, "overdraftLimitEnabled": True, "overdraftLimit": "100"}},
    )
    assert patched.status_code == 200, patched.text

    drawn = await client.post(f"{base}/transactions/json", json=move(120, "@alice", "@bob"))
    assert drawn.status_code == 201, drawn.text
    ops = [
        (o["accountAlias"], o["balanceKey"], o["type"], o["direction"], o["amount"]["value"])
        for o in drawn.json()["operations"]
    ]
    assert ops == [
        ("@alice", "default", "DEBIT", "debit", "120"),
        ("@alice", "overdraft", "OVERDRAFT", "debit", "70"),
        ("@bob", "default", "CREDIT", "credit", "120"),
    ]
    alice = await balance_of(client, base, "@alice")
    assert (alice["available"], alice["overdraftUsed"]) == ("0", "70")
    assert (await balance_of(client, base, "@alice", "overdraft"))["available"] == "70"

    over = await client.post(f"{base}/transactions/json", json=move(40, "@alice", "@bob"))
    assert_problem(over, 422, "0167")
    assert (await balance_of(client, base, "@alice"))["overdraftUsed"] == "70"

    repaid = await inflow(client, base, "@alice", "100")
    assert [
        (o["balanceKey"], o["type"], o["direction"], o["amount"]["value"])
        for o in repaid["operations"]
        if o["accountAlias"] == "@alice"
    ] == [("default", "CREDIT", "credit", "100"), ("overdraft", "OVERDRAFT", "credit", "70")]
    alice = await balance_of(client, base, "@alice")
    assert (alice["available"], alice["overdraftUsed"]) == ("30", "0")
    assert (await balance_of(client, base, "@alice", "overdraft"))["available"] == "0"

    # Without an overdraft setting, the same debit is simply refused.
    assert_problem(await client.post(f"{base}/transactions/json", json=move(500, "@bob", "@fees")), 422, "0018")
    lines: list[str] = []
    assert (await verify(own_database_url, lines.append)).ok, lines


async def test_block_and_unblock_between_keys(own_client, own_database_url):
    client = own_client
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "80")
    alice_account = (await balance_of(client, base, "@alice"))["accountId"]
    created = await client.post(f"{base}/accounts/{alice_account}/balances", json={"key": "blocked"})
    assert created.status_code == 201, created.text

    blocked = await client.post(f"{base}/transactions/block", json=move(30, "@alice", "@alice", "default", "blocked"))
    assert blocked.status_code == 201, blocked.text
    assert [(o["balanceKey"], o["type"], o["direction"]) for o in blocked.json()["operations"]] == [
        ("default", "BLOCK", "debit"),
        ("blocked", "BLOCK", "credit"),
    ]
    assert (await balance_of(client, base, "@alice"))["available"] == "50"
    assert (await balance_of(client, base, "@alice", "blocked"))["available"] == "30"

    unblocked = await client.post(
        f"{base}/transactions/unblock", json=move(10, "@alice", "@alice", "blocked", "default")
    )
    assert unblocked.status_code == 201
    assert {o["type"] for o in unblocked.json()["operations"]} == {"UNBLOCK"}
    assert (await balance_of(client, base, "@alice", "blocked"))["available"] == "20"

    # Reverting the block needs the 30 back from the blocked key, which now holds 20: refused.
    assert_problem(await client.post(f"{base}/transactions/{blocked.json()['id']}/revert"), 422, "0018")
    for transaction in (unblocked, blocked):  # newest first, each reversal puts the funds back
        reverted = await client.post(f"{base}/transactions/{transaction.json()['id']}/revert")
        assert reverted.status_code == 201, reverted.text
    assert (await balance_of(client, base, "@alice", "blocked"))["available"] == "0"
    assert (await balance_of(client, base, "@alice"))["available"] == "80"
    lines: list[str] = []
    assert (await verify(own_database_url, lines.append)).ok, lines


async def test_the_funnel_plans_per_call_all_but_its_journal_statement(own_database_url):
    """The write funnel's reads (the balance locks, an overdraft companion's included) and its
    money-changes statement are planned with their arguments; the journal statement after them uses
    a cached generic plan; and the switch ends with the database transaction."""
    app = create_app(Settings(database_url=own_database_url))
    async with AsyncTestClient(app=app, base_url="http://kontor.test") as client:
        base = await setup_ledger(client)
        await inflow(client, base, "@alice", "50")
        alice = await balance_of(client, base, "@alice")
        settings = {"allowOverdraft": True, "overdraftLimitEnabled": True, "overdraftLimit": "100"}
        assert (await client.patch(f"{base}/balances/{alice['id']}", json={"settings": settings})).status_code == 200
        for value in (20, 40, 30):  # the last two draw on the overdraft companion
            assert (
                await client.post(f"{base}/transactions/json", json=move(value, "@alice", "@bob"))
            ).status_code == 201

        async def writer_state():  # type: ignore[no-untyped-def]
            async with app.state["ctx"].db.write() as conn:
                return (
                    await conn.fetchval("SHOW plan_cache_mode"),
                    await conn.fetch("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements"),
                )

        # The app runs on the test client's own event loop, in another thread.
        mode, statements = await asyncio.to_thread(client.blocking_portal.call, writer_state)
        assert mode == "force_custom_plan"

        def having(text: str) -> list:  # type: ignore[type-arg]
            return [s for s in statements if text in s["statement"]]

        locks = [s for s in having("FROM balances b") if "FOR UPDATE" in s["statement"]]
        per_call = locks + having("FROM idempotency_keys i") + having("INSERT INTO operations")
        journal = having("INSERT INTO journal ")
        assert locks and journal and len(per_call) >= 3
        assert sum(s["custom_plans"] for s in locks) >= 6  # a lock per transfer and one per companion lock
        assert all(s["generic_plans"] == 0 for s in per_call), per_call
        assert all(s["generic_plans"] >= 4 and s["custom_plans"] == 0 for s in journal), journal
