"""A batch of creates switches its transaction to cached plans with BEGIN once the tables are
large (``store.posting.plans_cacheable``); the tests' tables are small, so here the gate is made to
hold: the answers, replays, overdraft draws (whose companion lock switches back to plans per call)
and the batches that commit or revert must come out as they do without it."""

from __future__ import annotations

from kontor.service import funnel
from kontor.service.verify import verify
from kontor.store import posting as sql
from tests.e2e.test_transactions_basic import setup_ledger
from tests.helpers import inflow
from tests.integration.test_overdraft_block import balance_of, move


async def test_batches_on_cached_read_plans_answer_as_before(own_client, own_database_url, monkeypatch):
    openings: list[str] = []
    opening = funnel.opening

    async def both_hold(conn):  # type: ignore[no-untyped-def]
        return True, True

    def recorded(commands, *, cached_reads=False):  # type: ignore[no-untyped-def]
        openings.append(text := opening(commands, cached_reads=cached_reads))
        return text

    monkeypatch.setattr(funnel, "plans_cacheable", both_hold)
    monkeypatch.setattr(funnel, "opening", recorded)
    client = own_client
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "50")  # the first batch asks the gate; the next ones use it
    alice = await balance_of(client, base, "@alice")
    patched = await client.patch(
        f"{base}/balances/{alice['id']}",
        json={"settings": {"allowOverdraft": True, "overdraftLimitEnabled": True, "overdraftLimit": "100"}},
    )
    assert patched.status_code == 200, patched.text

    key = {"X-Idempotency": "cached-reads-1"}
    first = await client.post(f"{base}/transactions/json", json=move(10, "@alice", "@bob"), headers=key)
    again = await client.post(f"{base}/transactions/json", json=move(10, "@alice", "@bob"), headers=key)
    drawn = await client.post(f"{base}/transactions/json", json=move(100, "@alice", "@bob"))
    pending = await client.post(
        f"{base}/transactions/json", json={**move(5, "@bob", "@fees"), "pending": True, "description": "held"}
    )
    committed = await client.post(f"{base}/transactions/{pending.json()['id']}/commit")
    reverted = await client.post(f"{base}/transactions/{first.json()['id']}/revert")

    assert [r.status_code for r in (first, again, drawn, pending, committed, reverted)] == [201] * 6, [
        r.text for r in (first, again, drawn, pending, committed, reverted)
    ]
    assert again.headers["X-Idempotency-Replayed"] == "true" and again.content == first.content
    assert [(o["accountAlias"], o["balanceKey"], o["type"]) for o in drawn.json()["operations"]] == [
        ("@alice", "default", "DEBIT"),
        ("@alice", "overdraft", "OVERDRAFT"),
        ("@bob", "default", "CREDIT"),
    ]
    # Creates switched with BEGIN; the commit and the revert (batches with targets) did not.
    switched = [text.startswith(sql.CACHED_PLANS) for text in openings]
    assert switched[1:] and all(switched[1:5]) and switched[-2:] == [False, False], openings
    alice = await balance_of(client, base, "@alice")
    # 50 - 10 - 100, then the revert's 10 back: 50 of the 60 drawn are still overdraft.
    assert (alice["available"], alice["overdraftUsed"]) == ("0", "50")
    assert (await balance_of(client, base, "@bob"))["available"] == "95"
    assert (await balance_of(client, base, "@fees"))["available"] == "5"
    lines: list[str] = []
    assert (await verify(own_database_url, lines.append)).ok, lines
