"""Offset paging bounds shared by every list (``kontor.api.common.offset_query``)."""

from __future__ import annotations

from kontor.core.limits import PAGE_NUMBER_MAX
from tests.helpers import assert_problem


async def test_page_past_the_bound_is_refused_not_overflowed(client):
    # (page - 1) * limit once overflowed PostgreSQL's bigint OFFSET: a 500 found by the API fuzz.
    assert_problem(await client.get("/v1/organizations", params={"page": 15416156718970613750}), 400, "0082")
    assert_problem(await client.get("/v1/organizations", params={"page": PAGE_NUMBER_MAX + 1}), 400, "0082")
    last = await client.get("/v1/organizations", params={"page": PAGE_NUMBER_MAX, "limit": 100})
    assert last.status_code == 200, last.text
    assert last.json()["items"] == []
