from __future__ import annotations

from decimal import Decimal

import asyncpg

from tests.helpers import assert_problem, create, inflow, ledger, organization, unique


async def setup_ledger(client, aliases=("@alice", "@bob", "@fees")):
    org = await organization(client)
    led = await ledger(client, org["id"])
    base = f"/v1/organizations/{org['id']}/ledgers/{led['id']}"
    await create(client, f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    for alias in aliases:
        await create(client, f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": alias})
    return base


async def balances(database_url, base):
    ledger_id = base.rsplit("/", 1)[1]
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT alias, available, on_hold FROM balances WHERE ledger_id = $1 AND deleted_at IS NULL",
            __import__("uuid").UUID(ledger_id),
        )
    finally:
        await conn.close()
    return {r["alias"]: (r["available"], r["on_hold"]) for r in rows}


def send(value, sources, destinations, **extra):
    return {
        "send": {"asset": "BRL", "value": value, "source": {"from": sources}, "distribute": {"to": destinations}},
        **extra,
    }


async def test_inflow_p2p_with_fee(client, database_url):
    base = await setup_ledger(client)
    inflow = await client.post(
        f"{base}/transactions/inflow",
        json={
            "send": {
                "asset": "BRL",
                "value": "100",
                "distribute": {"to": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "100"}}]},
            }
        },
    )
    assert inflow.status_code == 201, inflow.text
    assert inflow.json()["status"]["code"] == "CREATED"
    assert inflow.headers["X-Idempotency-Replayed"] == "false"
    p2p = await client.post(
        f"{base}/transactions/json",
        json=send(
            "100",
            [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "100"}}],
            [
                {"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "98"}},
                {"accountAlias": "@fees", "remaining": "remaining"},
            ],
        ),
    )
    assert p2p.status_code == 201, p2p.text
    body = p2p.json()
    assert body["source"] == ["@alice"] and body["destination"] == ["@bob", "@fees"]
    assert [(o["accountAlias"], o["type"], o["amount"]["value"]) for o in body["operations"]] == [
        ("@alice", "DEBIT", "100"),
        ("@bob", "CREDIT", "98"),
        ("@fees", "CREDIT", "2"),
    ]
    got = await balances(database_url, base)
    assert got["@alice"] == (0, 0) and got["@bob"] == (98, 0) and got["@fees"] == (2, 0)
    assert got["@external/BRL"] == (Decimal(100), 0)
    fetched = await client.get(f"{base}/transactions/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["status"]["code"] == "APPROVED"
    assert len(fetched.json()["operations"]) == 3


async def test_insufficient_funds_changes_nothing(client, database_url):
    base = await setup_ledger(client)
    refused = await client.post(
        f"{base}/transactions/json",
        json=send(
            "5",
            [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "5"}}],
            [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "5"}}],
        ),
    )
    assert_problem(refused, 422, "0018")
    got = await balances(database_url, base)
    assert got["@alice"] == (0, 0) and got["@bob"] == (0, 0)


async def test_pending_commit_cancel_revert(client, database_url):
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "50")
    pending = await client.post(
        f"{base}/transactions/json",
        json=send(
            "20",
            [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "20"}}],
            [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "20"}}],
            pending=True,
        ),
    )
    assert pending.status_code == 201 and pending.json()["status"]["code"] == "PENDING"
    got = await balances(database_url, base)
    assert got["@alice"] == (30, 20) and got["@bob"] == (0, 0)
    committed = await client.post(f"{base}/transactions/{pending.json()['id']}/commit")
    assert committed.status_code == 201, committed.text
    assert committed.json()["status"]["code"] == "APPROVED"
    got = await balances(database_url, base)
    assert got["@alice"] == (30, 0) and got["@bob"] == (20, 0)
    assert_problem(await client.post(f"{base}/transactions/{pending.json()['id']}/cancel"), 409, "0099")
    reverted = await client.post(f"{base}/transactions/{pending.json()['id']}/revert")
    assert reverted.status_code == 201, reverted.text
    assert reverted.json()["parentTransactionId"] == pending.json()["id"]
    got = await balances(database_url, base)
    assert got["@alice"] == (50, 0) and got["@bob"] == (0, 0)
    assert_problem(await client.post(f"{base}/transactions/{pending.json()['id']}/revert"), 409, "0087")
    assert_problem(await client.post(f"{base}/transactions/{reverted.json()['id']}/revert"), 409, "0088")


INFLOW_7 = {
    "send": {
        "asset": "BRL",
        "value": "7",
        "distribute": {"to": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "7"}}]},
    }
}


async def test_replay_answers_the_same_bytes_from_the_journal_or_the_record(client, database_url):
    """A posted or pending transaction's answer is replayed from its journal row (a pending one's
    row carries only its holds' balance changes), an annotation's, which moves no balance and has
    no journal row, from the idempotency record itself; either way byte for byte the first answer."""
    base = await setup_ledger(client)
    await client.post(f"{base}/transactions/inflow", json=INFLOW_7)
    three = {"asset": "BRL", "value": "3"}
    transfer = send("3", [{"accountAlias": "@alice", "amount": three}], [{"accountAlias": "@bob", "amount": three}])
    keys = {kind: unique(kind) for kind in ("posted", "pending", "noted")}
    requests = {
        "posted": ("json", transfer),
        "pending": ("json", {**transfer, "pending": True}),
        "noted": ("annotation", transfer),
    }
    answers = {}
    for kind, (path, payload) in requests.items():
        headers = {"X-Idempotency": keys[kind]}
        first = await client.post(f"{base}/transactions/{path}", json=payload, headers=headers)
        again = await client.post(f"{base}/transactions/{path}", json=payload, headers=headers)
        assert first.status_code == again.status_code == 201, first.text
        assert again.headers["X-Idempotency-Replayed"] == "true"
        assert again.content == first.content
        answers[kind] = first.json()
    assert answers["pending"]["status"]["code"] == "PENDING"
    assert answers["noted"]["status"]["code"] == "NOTED"
    conn = await asyncpg.connect(database_url)
    try:
        rows = {
            r["key"]: r
            for r in await conn.fetch(
                """SELECT i.key, i.response, i.journal_seq, j.event_type, j.span
                     FROM idempotency_keys i
                     LEFT JOIN journal j
                       ON j.organization_id = i.organization_id AND j.ledger_id = i.ledger_id AND j.seq = i.journal_seq
                    WHERE i.key = ANY($1::text[])""",
                list(keys.values()),
            )
        }
    finally:
        await conn.close()
    posted, pending, noted = (rows[keys[kind]] for kind in ("posted", "pending", "noted"))
    assert posted["response"] is None and (posted["event_type"], posted["span"]) == ("transaction.posted", 3)
    assert pending["response"] is None and (pending["event_type"], pending["span"]) == ("transaction.unpublished", 1)
    assert noted["response"] is not None and noted["journal_seq"] is None


async def test_idempotent_replay(client):
    base = await setup_ledger(client)
    body = INFLOW_7
    key = {"X-Idempotency": unique("k")}
    first = await client.post(f"{base}/transactions/inflow", json=body, headers=key)
    again = await client.post(f"{base}/transactions/inflow", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["X-Idempotency-Replayed"] == "true"
    assert first.json() == again.json()
    no_key_1 = await client.post(f"{base}/transactions/inflow", json=body)
    no_key_2 = await client.post(f"{base}/transactions/inflow", json=body)
    assert no_key_1.json()["id"] == no_key_2.json()["id"]
