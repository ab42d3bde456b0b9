"""The write funnel's journal statement runs a cached generic plan (store/posting.py): made on a
new, empty database, that plan must still reach each journal head through its primary key, or it
would scan every head at every batch once there are many ledgers."""

from __future__ import annotations

import uuid

import asyncpg

from kontor.store import posting
from kontor.store.db import WRITER_SETTINGS, init_connection


async def test_the_journal_statements_cached_plan_uses_keys_on_an_empty_database(own_database_url):
    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        async with conn.transaction():
            # A batch's last money-changes statement (here with nothing to write, for one new chain)
            # switches the rest of the transaction to cached plans without hash or merge joins.
            chain = (uuid.uuid4(), uuid.uuid4())
            await posting.write_changes(conn, transactions=[], operations=[], balances=[], statuses=[], chains=[chain])
            settings = [await conn.fetchval(f"SHOW {name}") for name in ("plan_cache_mode", "enable_hashjoin")]
            types = posting.JOURNAL_PARAMETER_TYPES
            await conn.execute(f"PREPARE journal_writes({', '.join(types)}) AS {posting._WRITE_JOURNAL}")
            empty = ", ".join(["'{}'"] * len(types))
            plan = "\n".join(row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE journal_writes({empty})"))
        after = await conn.fetchval("SHOW plan_cache_mode")
    finally:
        await conn.close()
    assert settings == ["force_generic_plan", "off"]
    assert after == "force_custom_plan"
    assert "journal_heads_pkey" in plan, plan
    assert "Seq Scan" not in plan and "Hash Join" not in plan and "Merge Join" not in plan, plan


async def test_a_chunks_money_changes_leave_the_next_statements_planned_per_call(own_database_url):
    """On a new database a large batch's chunks are written one statement after another: one
    before the last may not switch the transaction to cached plans, which the next chunk's money
    changes cannot run yet (made without statistics, they reach balances through the wrong index)."""
    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        async with conn.transaction():
            await posting.write_changes(conn, transactions=[], operations=[], balances=[], statuses=[], chains=[])
            settings = [await conn.fetchval(f"SHOW {name}") for name in ("plan_cache_mode", "enable_hashjoin")]
    finally:
        await conn.close()
    assert settings == ["force_custom_plan", "on"]


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


async def test_the_reads_cached_plans_wait_for_rows_then_use_keys(own_client, own_database_url):
    """A batch of creates switches its transaction to cached plans with BEGIN, so that the
    idempotency read and the balance lock run them too; on tables of a few rows their generic plans
    would walk a table whole, so the funnel waits for ``READ_PLANS_MIN_ROWS`` rows of statistics in
    each table they read, and then each plan looks its rows up by key."""
    from tests.e2e.test_transactions_basic import setup_ledger
    from tests.helpers import inflow

    base = await setup_ledger(own_client)
    await inflow(own_client, base, "@alice", "10")
    conn = await asyncpg.connect(own_database_url, server_settings=WRITER_SETTINGS)
    try:
        await init_connection(conn)
        await conn.execute("ANALYZE")
        small = await posting.plans_cacheable(conn)
        small_lock, _ = await _read_plans(conn)
        # More rows in each table the reads look up: copies of one row with new keys.
        copies = posting.READ_PLANS_MIN_ROWS
        for table, changes in (
            ("balances", "'id', gen_random_uuid(), 'alias', '@copy-' || g"),
            ("idempotency_keys", "'key', 'copy-' || g"),
            ("journal", "'id', gen_random_uuid(), 'seq', 1000000 + g"),
        ):
            await conn.execute(
                f"""INSERT INTO {table} SELECT (jsonb_populate_record(NULL::{table}, to_jsonb(t)
                       || jsonb_build_object({changes}))).*
                     FROM (SELECT * FROM {table} LIMIT 1) t, generate_series(1, $1) g""",
                copies,
            )
        await conn.execute("ANALYZE")
        large = await posting.plans_cacheable(conn)
        lock, idempotency = await _read_plans(conn)
    finally:
        await conn.close()
    assert small == (True, False)
    assert "balances_alias_key_uq" not in small_lock, small_lock  # why the reads wait: a walk of the table
    assert large == (True, True)
    assert "balances_alias_key_uq" in lock and "Index Cond: ((organization_id = " in lock, lock
    assert "idempotency_keys_pkey" in idempotency and "journal_pkey" in idempotency, idempotency
    for plan in (lock, idempotency):
        assert "Seq Scan" not in plan and "Hash Join" not in plan and "Merge Join" not in plan, plan


async def _read_plans(conn: asyncpg.Connection) -> tuple[str, str]:
    """The balance lock's and the idempotency read's cached plans, after a batch's ``CACHED_PLANS``."""
    plans = []
    async with conn.transaction():
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        await conn.execute(posting.CACHED_PLANS)
        assert await conn.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        for name, sql, types in (
            ("lock", posting._LOCK_BALANCES, "uuid[], uuid[], text[], text[]"),
            ("idempotency", posting._READ_IDEMPOTENCY, "uuid[], uuid[], text[], timestamptz"),
        ):
            await conn.execute(f"PREPARE {name}({types}) AS {sql}")
            last = "'{}'" if name == "lock" else "now()"
            rows = await conn.fetch(f"EXPLAIN EXECUTE {name}('{{}}', '{{}}', '{{}}', {last})")
            await conn.execute(f"DEALLOCATE {name}")
            plans.append("\n".join(row[0] for row in rows))
    assert await conn.fetchval("SHOW plan_cache_mode") == "force_custom_plan"  # until COMMIT only
    return plans[0], plans[1]
