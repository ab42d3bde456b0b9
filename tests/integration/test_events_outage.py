"""A broker outage loses nothing: 1,000 transactions posted while RabbitMQ is unreachable all
arrive once it is back, in journal order, each once after de-duplication by id; a refused
transaction and a rolled-back atomic batch publish nothing."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from kontor.api.app import create_app
from kontor.core.limits import BATCH_TRANSACTIONS_MAX
from tests.integration.events_support import (
    Proxy,
    assert_in_chain_order,
    fast_settings,
    funded_ledger,
    journal,
    transfer,
    unique_name,
)
from tests.integration.server import free_port
from tests.integration.test_events_brokers import Queue

TRANSACTIONS = 1000
RABBITMQ_PORT = 5672


async def test_transactions_posted_during_an_outage_all_arrive_in_order(own_database_url):
    assert TRANSACTIONS <= BATCH_TRANSACTIONS_MAX
    exchange = unique_name("kontor.outage")
    queue = Queue(exchange)
    await queue.open()
    proxy = Proxy(free_port(), RABBITMQ_PORT)  # not started: the broker's port is closed
    settings = fast_settings(
        own_database_url,
        events_rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/",
        events_rabbitmq_exchange=exchange,
    )
    try:
        async with AsyncTestClient(app=create_app(settings), base_url="http://kontor.test") as client:
            _, ledger_id, base = await funded_ledger(client, amount=TRANSACTIONS)
            refused = await client.post(f"{base}/transactions/json", json=transfer(10**9))
            assert refused.status_code == 422, refused.text
            rolled_back = await client.post(
                f"{base}/transactions/batch", json={"transactions": [transfer(1), transfer(10**9)], "atomic": True}
            )
            assert rolled_back.status_code == 422, rolled_back.text
            batch = [transfer(1, description=f"t{i}") for i in range(TRANSACTIONS)]
            response = await client.post(f"{base}/transactions/batch", json={"transactions": batch})
            assert response.status_code == 201, response.text[:500]
            posted = [item["transaction"]["id"] for item in response.json()["items"]]
            await asyncio.sleep(0.5)
            assert queue.received == []  # nothing got through while the port was closed

            await proxy.start()
            await queue.wait_for(1)  # then a second outage, in the middle of the backlog
            await proxy.stop()
            await asyncio.sleep(0.3)
            await proxy.start()

            rows = await journal(own_database_url)
            received = await queue.wait_for(len(rows), timeout_s=60)
    finally:
        await proxy.stop()
        await queue.close()

    assert_in_chain_order(received)
    unique = {e["id"]: e for e in received}
    assert set(unique) == {str(r["id"]) for r in rows}
    in_ledger = [e for e in unique.values() if e["ledgerid"] == ledger_id]
    transactions = [e for e in in_ledger if e["type"].startswith("transaction.")]
    inflow_id = transactions[0]["subject"]
    assert [e["subject"] for e in transactions] == [inflow_id, *posted]
    assert {e["type"] for e in transactions} == {"transaction.posted"}
    changed = [e for e in in_ledger if e["type"] == "balance.changed"]
    assert len(changed) == 2 * (TRANSACTIONS + 1)  # two balances move per transaction (inflow: @external)
