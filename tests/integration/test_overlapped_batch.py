"""A large batch is applied in chunks whose writes overlap the next chunk's applying
(``service.posting._apply_and_write``): the answers, balances, operations and journal must be
what applying the batch in one piece gives."""

from __future__ import annotations

import itertools
import uuid
from decimal import Decimal

import asyncpg

from kontor.service import posting
from kontor.service.verify import verify
from tests.e2e.test_transaction_batch import transfer
from tests.e2e.test_transactions_basic import balances, setup_ledger
from tests.helpers import inflow

ITEMS = 600  # one funnel batch of 500 (overlapped, in chunks of 100) and one of 100
FUNDS = 250


def _item(i: int) -> tuple[dict, str, str, int]:
    """Item ``i``: a refusal now and then, bob paying alice back now and then, else alice paying bob."""
    if i % 7 == 3:
        return transfer(10_000, description=f"too much {i}"), "@alice", "@bob", 10_000
    if i % 5 == 0:
        return transfer(3, source="@bob", destination="@alice", description=f"back {i}"), "@bob", "@alice", 3
    return transfer(1, description=f"pay {i}"), "@alice", "@bob", 1


def _expected() -> tuple[list[int], dict[str, int]]:
    held = {"@alice": FUNDS, "@bob": 0}
    statuses = []
    for i in range(ITEMS):
        _, source, destination, value = _item(i)
        if held[source] >= value:
            held[source] -= value
            held[destination] += value
            statuses.append(201)
        else:
            statuses.append(422)
    return statuses, held


async def test_a_large_batch_posts_as_one_piece_would(own_client, own_database_url, monkeypatch):
    chunks: list[int] = []  # the transactions of each chunk written before the batch's last statement
    original = posting._write_changes

    async def counted(conn, writes, *, last=True):  # type: ignore[no-untyped-def]
        if not last:
            chunks.append(len(writes.transactions))
        return await original(conn, writes, last=last)

    monkeypatch.setattr(posting, "_write_changes", counted)
    base = await setup_ledger(own_client)
    await inflow(own_client, base, "@alice", str(FUNDS))

    response = await own_client.post(
        f"{base}/transactions/batch", json={"transactions": [_item(i)[0] for i in range(ITEMS)]}
    )

    assert response.status_code == 207, response.text
    statuses, held = _expected()
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == statuses
    # The batch of 500 was written in chunks: four before its last statement, the refusals left out.
    assert len(chunks) == 4 and all(0 < n <= posting.OVERLAP_CHUNK for n in chunks)
    got = await balances(own_database_url, base)
    assert got["@alice"] == (held["@alice"], 0) and got["@bob"] == (held["@bob"], 0)
    # Every operation's balance before is the one after of the previous operation on that balance.
    conn = await asyncpg.connect(own_database_url)
    try:
        rows = await conn.fetch(
            """SELECT account_alias, available_before, available_after, version_before, version_after
                 FROM operations WHERE ledger_id = $1 ORDER BY account_alias, version_before""",
            uuid.UUID(base.rsplit("/", 1)[1]),
        )
    finally:
        await conn.close()
    by_alias: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_alias.setdefault(row["account_alias"], []).append(row)
    for alias in ("@alice", "@bob"):
        chain = by_alias[alias]
        for before, after in itertools.pairwise(chain):
            assert after["version_before"] == before["version_after"]
            assert after["available_before"] == before["available_after"]
        assert chain[-1]["available_after"] == Decimal(held[alias])
    lines: list[str] = []
    report = await verify(own_database_url, lines.append)
    assert report.ok, lines


async def test_a_large_atomic_batch_with_a_late_refusal_applies_nothing(own_client, own_database_url):
    base = await setup_ledger(own_client)
    await inflow(own_client, base, "@alice", "1000")
    items = [transfer(1, description=f"pay {i}") for i in range(300)]
    items[280] = transfer(10_000, description="too much")

    response = await own_client.post(f"{base}/transactions/batch", json={"transactions": items, "atomic": True})

    assert response.status_code == 422, response.text
    codes = [a["error"]["code"] for a in response.json()["items"]]
    assert codes[280] == "0018" and set(codes[:280] + codes[281:]) == {"KTR-0003"}
    got = await balances(own_database_url, base)
    assert got["@alice"] == (1000, 0) and got["@bob"] == (0, 0)
