"""Small builders for tests: each creates an entity over HTTP and returns its JSON."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def create(client: AsyncTestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def organization(client: AsyncTestClient, **extra: Any) -> dict[str, Any]:
    return await create(client, "/v1/organizations", {"legalName": unique("Org"), "legalDocument": "123", **extra})


async def ledger(client: AsyncTestClient, org_id: str, **extra: Any) -> dict[str, Any]:
    return await create(client, f"/v1/organizations/{org_id}/ledgers", {"name": unique("Ledger"), **extra})


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with Midaz's ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


async def inflow(client: AsyncTestClient, base: str, alias: str, value: str, asset: str = "BRL") -> dict[str, Any]:
    """Fund ``alias`` from ``@external/<asset>``; asserts 201 and returns the transaction."""
    body = {
        "send": {
            "asset": asset,
            "value": value,
            "distribute": {"to": [{"accountAlias": alias, "amount": {"asset": asset, "value": value}}]},
        }
    }
    return await create(client, f"{base}/transactions/inflow", body)
