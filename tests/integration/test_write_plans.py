"""The write funnel's journal statement runs a cached generic plan (store/posting.py): made on a
new, empty database, that plan must still reach each journal head through its primary key, or it
would scan every head at every batch once there are many ledgers."""

from __future__ import annotations

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
