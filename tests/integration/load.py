"""A ledger set up over HTTP and a load of random transfers, with everything each answer said."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import httpx


@dataclass
class Ledger:
    base: str
    accounts: list[str]
    hot: str
    funding: Decimal


@dataclass
class Answer:
    key: str
    status: int
    transaction_id: str | None
    code: str | None
    legs: list[tuple[str, str, Decimal]] = field(default_factory=list)  # (alias, DEBIT|CREDIT, amount)


async def setup(client: httpx.AsyncClient, accounts: int, funding: Decimal) -> Ledger:
    async def post(path: str, body: dict) -> dict:
        response = await client.post(path, json=body)
        assert response.status_code == 201, response.text
        return response.json()

    org = await post("/v1/organizations", {"legalName": "Load", "legalDocument": "1"})
    led = await post(f"/v1/organizations/{org['id']}/ledgers", {"name": f"load-{uuid.uuid4().hex[:8]}"})
    base = f"/v1/organizations/{org['id']}/ledgers/{led['id']}"
    await post(f"{base}/assets", {"name": "Real", "type": "currency", "code": "BRL"})
    aliases = [f"@acct{i}" for i in range(accounts)]
    for alias in [*aliases, "@hot"]:
        await post(f"{base}/accounts", {"assetCode": "BRL", "type": "deposit", "alias": alias})
    for alias in aliases:
        await post(
            f"{base}/transactions/inflow",
            {
                "send": {
                    "asset": "BRL",
                    "value": str(funding),
                    "distribute": {"to": [{"accountAlias": alias, "amount": {"asset": "BRL", "value": str(funding)}}]},
                }
            },
        )
    return Ledger(base, aliases, "@hot", funding)


def transfer(ledger: Ledger, rng: random.Random) -> tuple[dict, list[tuple[str, str, Decimal]]]:
    """A transfer from one account to another, with a fee to the hot account."""
    source, destination = rng.sample(ledger.accounts, 2)
    value = Decimal(rng.randint(100, 400_000)) / 100
    fee = Decimal(1) / 100
    body = {
        "description": uuid.uuid4().hex,
        "send": {
            "asset": "BRL",
            "value": str(value),
            "source": {"from": [{"accountAlias": source, "amount": {"asset": "BRL", "value": str(value)}}]},
            "distribute": {
                "to": [
                    {"accountAlias": destination, "amount": {"asset": "BRL", "value": str(value - fee)}},
                    {"accountAlias": ledger.hot, "remaining": "remaining"},
                ]
            },
        },
    }
    return body, [(source, "DEBIT", value), (destination, "CREDIT", value - fee), (ledger.hot, "CREDIT", fee)]


# A client that lost its connection without an answer sends the same request again, with the same
# idempotency key, as a real client would: kontor must then answer it exactly once (the tests
# check every 201 against the stored transactions). A keep-alive connection the server closes as
# the client reuses it is the usual cause.
TRANSPORT_RETRIES = 2


async def run(
    client: httpx.AsyncClient, ledger: Ledger, total: int, clients: int, seed: int, stop: asyncio.Event | None = None
) -> list[Answer]:
    """``clients`` concurrent loops posting ``total`` transfers; every answer recorded."""
    rng = random.Random(seed)
    work = [transfer(ledger, rng) for _ in range(total)]
    answers: list[Answer] = []
    cursor = iter(range(total))

    async def worker() -> None:
        for index in cursor:
            if stop is not None and stop.is_set():
                return
            body, legs = work[index]
            key = uuid.uuid4().hex
            response: httpx.Response | None = None
            error = ""
            for _ in range(1 + TRANSPORT_RETRIES):
                try:
                    response = await client.post(
                        f"{ledger.base}/transactions/json", json=body, headers={"X-Idempotency": key}
                    )
                    break
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
                    if stop is not None and stop.is_set():
                        break
            if response is None:
                # No answer: the transfer may or may not have committed. ``code`` names the error.
                answers.append(Answer(key, 0, None, error, legs))
                continue
            data = response.json() if response.content else {}
            answers.append(
                Answer(
                    key,
                    response.status_code,
                    data.get("id") if response.status_code == 201 else None,
                    data.get("code"),
                    legs,
                )
            )

    await asyncio.gather(*(worker() for _ in range(clients)))
    return answers


def expected_balances(ledger: Ledger, accepted: list[Answer]) -> dict[str, Decimal]:
    balances = {alias: ledger.funding for alias in ledger.accounts}
    balances[ledger.hot] = Decimal(0)
    for answer in accepted:
        for alias, kind, amount in answer.legs:
            balances[alias] += amount if kind == "CREDIT" else -amount
    return balances
