"""A NUL in a transaction's text is refused (PostgreSQL cannot store it in text), whether a field is
checked one by one or the body is seen to hold none (``routes.transactions.nul_free``)."""

from __future__ import annotations

import pytest

from tests.e2e.test_transaction_batch import funded, transfer
from tests.e2e.test_transactions_basic import balances
from tests.helpers import assert_problem


def _with_leg_description(item: dict, text: str) -> dict:
    item["send"]["source"]["from"][0]["description"] = text
    return item


@pytest.mark.parametrize("where", ["header", "leg"])
async def test_a_nul_in_a_transfer_is_refused(client, database_url, where):
    base = await funded(client)
    body = transfer(10, description="a\u0000b") if where == "header" else _with_leg_description(transfer(10), "\u0000")

    assert_problem(await client.post(f"{base}/transactions/json", json=body), 400, "0047")

    assert (await balances(database_url, base))["@bob"] == (0, 0)


async def test_a_nul_in_a_batch_item_refuses_that_item(client, database_url):
    base = await funded(client)
    items = [transfer(10, description="ok"), _with_leg_description(transfer(20, description="bad"), "x\u0000")]

    response = await client.post(f"{base}/transactions/batch", json={"transactions": items})

    assert response.status_code == 207, response.text
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == [201, 400]
    assert answers[1]["error"]["code"] == "0047"
    assert (await balances(database_url, base))["@bob"] == (10, 0)


async def test_the_text_of_an_escape_is_not_a_nul(client):
    base = await funded(client)
    text = "\\u0000 is six characters here"  # sent as \\u0000: a backslash, then u0000

    response = await client.post(f"{base}/transactions/json", json=transfer(10, description=text))

    assert response.status_code == 201, response.text
    assert response.json()["description"] == text
