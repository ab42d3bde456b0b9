from __future__ import annotations

import uuid

import asyncpg
import pytest

from kontor.service.verify import verify
from tests.e2e.test_transactions_basic import send, setup_ledger
from tests.helpers import inflow


async def _post_some(client):
    base = await setup_ledger(client)
    await inflow(client, base, "@alice", "90")
    r = await client.post(
        f"{base}/transactions/json",
        json=send(
            "30",
            [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "30"}}],
            [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "30"}}],
            pending=True,
        ),
    )
    await client.post(f"{base}/transactions/{r.json()['id']}/commit")
    return uuid.UUID(base.rsplit("/", 1)[1])


async def test_verify_passes_on_a_healthy_ledger(own_client, own_database_url):
    database_url = own_database_url
    await _post_some(own_client)
    lines: list[str] = []
    report = await verify(database_url, lines.append)
    assert report.ok, lines
    assert report.counts["operations"] > 0 and report.counts["journal_rows"] > 0


TAMPERING = {
    # (tamper, undo, the check that must catch it)
    "balance": (
        "UPDATE balances SET available = available + 1 WHERE ledger_id = $1 AND alias = '@bob'",
        "UPDATE balances SET available = available - 1 WHERE ledger_id = $1 AND alias = '@bob'",
        "balance = last operation",
    ),
    "journal": (
        "UPDATE journal SET subject = subject || 'x' WHERE ledger_id = $1 AND seq = 1",
        "UPDATE journal SET subject = left(subject, -1) WHERE ledger_id = $1 AND seq = 1",
        "journal chain",
    ),
    # A row's span says how many balance.changed events it carries: its hash covers it.
    "span": (
        "UPDATE journal SET span = span - 1 WHERE ledger_id = $1 AND event_type = 'transaction.committed'",
        "UPDATE journal SET span = span + 1 WHERE ledger_id = $1 AND event_type = 'transaction.committed'",
        "journal chain",
    ),
}


@pytest.mark.parametrize("kind", sorted(TAMPERING))
async def test_verify_finds_tampering(own_client, own_database_url, kind):
    database_url = own_database_url
    ledger_id = await _post_some(own_client)
    tamper, undo, check = TAMPERING[kind]
    conn = await asyncpg.connect(database_url)
    try:
        # A superuser can switch the append-only guard off; verify must still notice.
        await conn.execute("ALTER TABLE journal DISABLE TRIGGER journal_no_update")
        await conn.execute(tamper, ledger_id)
        try:
            lines: list[str] = []
            report = await verify(database_url, lines.append)
            assert check in report.failures, lines
        finally:
            await conn.execute(undo, ledger_id)
            await conn.execute("ALTER TABLE journal ENABLE TRIGGER journal_no_update")
        assert (await verify(database_url, lambda _: None)).ok
    finally:
        await conn.close()


async def test_financial_history_is_append_only(own_client, own_database_url):
    database_url = own_database_url
    ledger_id = await _post_some(own_client)
    conn = await asyncpg.connect(database_url)
    try:
        for statement in (
            "UPDATE operations SET amount = amount + 1 WHERE ledger_id = $1",
            "DELETE FROM operations WHERE ledger_id = $1",
            "UPDATE transactions SET amount = amount + 1 WHERE ledger_id = $1",
            "DELETE FROM transactions WHERE ledger_id = $1",
            "UPDATE journal SET subject = 'x' WHERE ledger_id = $1",
            "DELETE FROM journal WHERE ledger_id = $1",
        ):
            with pytest.raises(asyncpg.exceptions.RestrictViolationError):
                await conn.execute(statement, ledger_id)
        with pytest.raises(asyncpg.exceptions.CheckViolationError):
            await conn.execute("UPDATE balances SET available = -1 WHERE ledger_id = $1 AND alias = '@bob'", ledger_id)
    finally:
        await conn.close()
