"""The write funnel's journal statement runs a cached generic plan (store/posting.py): made on a
new, empty database, that plan must still reach each journal head through its primary key, or it
would scan every head at every batch once there are many ledgers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from kontor.store import posting
from kontor.store.db import WRITER_SETTINGS, init_connection


async def test_the_journal_statements_cached_plan_uses_keys_on_an_empty_database(own_database_url):
    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        async with conn.transaction():
            # The money-changes statement (here with nothing to write) switches the rest of the
            # transaction to cached plans without hash or merge joins.
            await posting.write_changes(conn, transactions=[], operations=[], balances=[], statuses=[], chains=[])
            settings = [await conn.fetchval(f"SHOW {name}") for name in ("plan_cache_mode", "enable_hashjoin")]
            await conn.execute(f"PREPARE journal_writes(jsonb, jsonb, jsonb) AS {posting._WRITE_JOURNAL}")
            plan = "\n".join(row[0] for row in await conn.fetch("EXPLAIN EXECUTE journal_writes('[]', '[]', '[]')"))
        after = await conn.fetchval("SHOW plan_cache_mode")
    finally:
        await conn.close()
    assert settings == ["force_generic_plan", "off"]
    assert after == "force_custom_plan"
    assert "journal_heads_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Hash Join" not in plan and "Merge Join" not in plan, plan


async def test_the_money_changes_cached_plan_waits_for_statistics_then_uses_keys(own_client, own_database_url):
    """On a new database the funnel keeps planning the money-changes statement per call; once
    balances and transactions have statistics, its cached plan updates each row through its key."""
    from tests.e2e.test_transactions_basic import setup_ledger
    from tests.helpers import inflow

    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        assert await posting.plans_cacheable(conn) == (False, False)
        base = await setup_ledger(own_client)
        for alias in ("@alice", "@bob"):
            await inflow(own_client, base, alias, "10")
        assert await posting.plans_cacheable(conn) == (False, False)  # rows, but no statistics yet
        await conn.execute("ANALYZE balances, transactions")
        assert await posting.plans_cacheable(conn) == (True, False)  # the balance lock waits for rows
        async with conn.transaction():
            ref = (uuid.uuid4(), uuid.uuid4(), "@nobody", "default")
            assert await posting.lock_balances(conn, [ref], then_writes=True) == []
            assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
            await conn.execute(
                f"PREPARE changes(jsonb, jsonb, jsonb, jsonb, uuid[], uuid[]) AS {posting._WRITE_CHANGES}"
            )
            plan = "\n".join(
                row[0] for row in await conn.fetch("EXPLAIN EXECUTE changes('[]', '[]', '[]', '[]', '{}', '{}')")
            )
            await posting.plan_per_call(conn)  # what an overdraft companion's lock does first
            assert [await conn.fetchval(f"SHOW {name}") for name in ("plan_cache_mode", "enable_hashjoin")] == [
                "force_custom_plan",
                "on",
            ]
    finally:
        await conn.close()
    assert "balances_pkey" in plan and "transactions_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Hash Join" not in plan and "Merge Join" not in plan, plan


async def test_only_pending_transactions_store_their_legs(own_client, own_database_url):
    """Legs are read only to commit or cancel a pending transaction; a revert reads operations."""
    from tests.e2e.test_transactions_basic import send, setup_ledger
    from tests.helpers import inflow

    base = await setup_ledger(own_client)
    await inflow(own_client, base, "@alice", "100")
    body = send(
        "10",
        [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "10"}}],
        [{"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "10"}}],
    )
    posted = (await own_client.post(f"{base}/transactions/json", json=body)).json()
    pending = (await own_client.post(f"{base}/transactions/json", json={**body, "pending": True})).json()
    conn = await asyncpg.connect(own_database_url)
    try:
        legs = dict(await conn.fetch("SELECT id::text, legs IS NOT NULL FROM transactions"))
    finally:
        await conn.close()
    assert legs[posted["id"]] is False and legs[pending["id"]] is True
    assert (await own_client.post(f"{base}/transactions/{pending['id']}/commit")).status_code == 201
    reverted = await own_client.post(f"{base}/transactions/{posted['id']}/revert")
    assert reverted.status_code == 201, reverted.text
    assert [o["accountAlias"] for o in reverted.json()["operations"]] == ["@bob", "@alice"]


async def test_the_balance_locks_cached_plan_waits_for_rows_then_uses_the_unique_key(own_client, own_database_url):
    """In a batch of creates the idempotency read switches the transaction to cached plans, so that
    the balance lock runs one; on a table of a few balances that plan would walk the table whole, so
    the funnel waits for ``LOCK_PLAN_MIN_BALANCES`` rows of statistics, and then the plan finds each
    balance through its unique key. The idempotency read itself stays planned per call."""
    from tests.e2e.test_transactions_basic import setup_ledger
    from tests.helpers import inflow

    base = await setup_ledger(own_client)
    await inflow(own_client, base, "@alice", "10")
    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        await conn.execute("ANALYZE balances, transactions")
        few = await conn.fetchval("SELECT count(*) FROM balances")
        small = await posting.plans_cacheable(conn)
        small_plan = await _lock_plan(conn)
        # More balances, copies of one with new ids and aliases (the same account: no constraint minds).
        await conn.execute(
            """INSERT INTO balances SELECT (jsonb_populate_record(NULL::balances, to_jsonb(b)
                   || jsonb_build_object('id', gen_random_uuid(), 'alias', '@copy-' || g))).*
                 FROM (SELECT * FROM balances LIMIT 1) b, generate_series(1, $1) g""",
            posting.LOCK_PLAN_MIN_BALANCES,
        )
        await conn.execute("ANALYZE balances")
        large = await posting.plans_cacheable(conn)
        plan = await _lock_plan(conn)
    finally:
        await conn.close()
    assert few < posting.LOCK_PLAN_MIN_BALANCES and small == (True, False)
    assert "balances_alias_key_uq" not in small_plan, small_plan  # why the lock waits: a walk of the table
    assert large == (True, True)
    assert "balances_alias_key_uq" in plan and "Index Cond: ((organization_id = " in plan, plan
    assert "Seq Scan" not in plan and "Hash Join" not in plan and "Merge Join" not in plan, plan


async def _lock_plan(conn: asyncpg.Connection) -> str:
    """The balance lock's cached plan, in a transaction switched by the idempotency read."""
    async with conn.transaction():
        key = (uuid.uuid4(), uuid.uuid4(), "no such key")
        assert await posting.read_idempotency_keys(conn, [key], datetime.now(UTC)) == {}
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        assert await posting.read_idempotency_keys(conn, [key], datetime.now(UTC), then_cached=True) == {}
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        await conn.execute(f"PREPARE lock(uuid[], uuid[], text[], text[]) AS {posting._LOCK_BALANCES_THEN_CACHED}")
        try:
            rows = await conn.fetch("EXPLAIN EXECUTE lock('{}', '{}', '{}', '{}')")
        finally:
            await conn.execute("DEALLOCATE lock")
    return "\n".join(row[0] for row in rows)
