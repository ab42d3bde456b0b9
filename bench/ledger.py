"""The ledger the benchmark posts to, set up over HTTP: an organization, a ledger, BRL, funded accounts.

Accounts are created concurrently. They are funded through the bulk endpoint when kontor has one
(a transfer from ``@external/BRL`` per account, ``BULK_BATCH_SIZE`` to a request), else by
concurrent inflows. The first bulk request doubles as the probe that tells whether phase d can run.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import msgspec

from bench.loadgen import ALIAS, ASSET, BULK_BATCH_SIZE, HOT_ALIAS, BatchAnswer, item_outcome
from bench.wire import Response, request, send_all

FUNDING = "1000000"  # per account: far more than a run can move out of one account one unit at a time
BULK_FUNDING_CONCURRENCY = 4


class SetupError(RuntimeError):
    """kontor refused a request the benchmark needs before any phase can run."""


@dataclass(slots=True)
class Ledger:
    path: str  # /v1/organizations/{org}/ledgers/{ledger}
    ledger_id: str
    accounts: int
    bulk_available: bool
    bulk_note: str
    timings_s: dict[str, float] = field(default_factory=dict)


class Setup:
    """Requests to one kontor, prepared as bytes and sent over a few concurrent connections."""

    def __init__(self, host: str, port: int, concurrency: int) -> None:
        self.host, self.port = host, port
        self.host_header = f"{host}:{port}"
        self.concurrency = concurrency

    def post(self, path: str, body: object, key: str | None = None) -> bytes:
        headers = {"X-Idempotency": key} if key else None
        return request("POST", self.host_header, path, msgspec.json.encode(body), headers)

    async def send(self, requests: list[bytes], concurrency: int | None = None) -> list[Response]:
        return await send_all(self.host, self.port, requests, concurrency or self.concurrency)

    async def create(self, path: str, body: object) -> dict:
        ((status, answer),) = await self.send([self.post(path, body)])
        if status != 201:
            raise SetupError(f"POST {path} answered {status}: {answer[:300]!r}")
        return msgspec.json.decode(answer)


async def setup(
    host: str, port: int, accounts: int, concurrency: int, analyze: Callable[[], Awaitable[None]]
) -> Ledger:
    """A new ledger with ``accounts`` funded accounts and the hot account; prints what it does.

    ``analyze`` refreshes the database's statistics; it runs after the accounts are created and
    again after they are funded.
    """
    s = Setup(host, port, concurrency)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    org = await s.create("/v1/organizations", {"legalName": "Bench", "legalDocument": "1"})
    led = await s.create(f"/v1/organizations/{org['id']}/ledgers", {"name": f"bench-{uuid.uuid4().hex[:8]}"})
    path = f"/v1/organizations/{org['id']}/ledgers/{led['id']}"
    await s.create(f"{path}/assets", {"name": "Real", "type": "currency", "code": ASSET})
    aliases = [ALIAS.format(i) for i in range(accounts)]
    creates = [s.post(f"{path}/accounts", {"assetCode": ASSET, "type": "deposit", "alias": a}) for a in aliases]
    creates.append(s.post(f"{path}/accounts", {"assetCode": ASSET, "type": "deposit", "alias": HOT_ALIAS}))
    _require_all(await s.send(creates), "account creation")
    timings["accounts"] = time.perf_counter() - started
    print(f"  {accounts + 1:,} accounts created in {timings['accounts']:.1f} s", flush=True)
    await analyze()

    started = time.perf_counter()
    bulk_available, bulk_note, unfunded = await _fund_in_bulk(s, path, aliases)
    if unfunded:
        inflows = [_inflow(s, path, alias) for alias in unfunded]
        _require_all(await s.send(inflows), "funding inflow")
    timings["funding"] = time.perf_counter() - started
    await analyze()
    how = "inflows" if len(unfunded) == accounts else "the bulk endpoint" if not unfunded else "bulk and inflows"
    print(f"  {accounts:,} accounts funded through {how} in {timings['funding']:.1f} s", flush=True)
    return Ledger(path, led["id"], accounts, bulk_available, bulk_note, timings)


def _funding_item(alias: str) -> dict:
    amount = {"asset": ASSET, "value": FUNDING}
    return {
        "description": f"funding {alias} {uuid.uuid4().hex}",
        "send": {
            "asset": ASSET,
            "value": FUNDING,
            "source": {"from": [{"accountAlias": f"@external/{ASSET}", "amount": amount}]},
            "distribute": {"to": [{"accountAlias": alias, "amount": amount}]},
        },
    }


def _inflow(s: Setup, path: str, alias: str) -> bytes:
    amount = {"asset": ASSET, "value": FUNDING}
    body = {
        "send": {"asset": ASSET, "value": FUNDING, "distribute": {"to": [{"accountAlias": alias, "amount": amount}]}}
    }
    return s.post(f"{path}/transactions/inflow", body, key=uuid.uuid4().hex)


async def _fund_in_bulk(s: Setup, path: str, aliases: list[str]) -> tuple[bool, str, list[str]]:
    """Fund what the bulk endpoint will; (available, note, aliases still unfunded)."""
    batch_path = f"{path}/transactions/batch"
    probe = aliases[:1]
    ((status, body),) = await s.send([s.post(batch_path, {"transactions": [_funding_item(a) for a in probe]})])
    answer = _batch_answer(status, body)
    if answer is None or len(answer.items) != len(probe):
        return False, f"bulk endpoint not available (POST .../transactions/batch answered {status})", aliases
    rest = aliases[len(probe) :]
    batches = [rest[i : i + BULK_BATCH_SIZE] for i in range(0, len(rest), BULK_BATCH_SIZE)]
    requests = [s.post(batch_path, {"transactions": [_funding_item(a) for a in batch]}) for batch in batches]
    unfunded = [a for a, item in zip(probe, answer.items, strict=True) if item_outcome(item) is not None]
    answers = await s.send(requests, BULK_FUNDING_CONCURRENCY)
    for batch, (status, body) in zip(batches, answers, strict=True):
        decoded = _batch_answer(status, body)
        if decoded is None or len(decoded.items) != len(batch):
            unfunded.extend(batch)
            continue
        unfunded.extend(a for a, item in zip(batch, decoded.items, strict=True) if item_outcome(item) is not None)
    return True, "bulk endpoint available", unfunded


def _batch_answer(status: int, body: bytes) -> BatchAnswer | None:
    if not 200 <= status < 300:
        return None
    try:
        return msgspec.json.decode(body, type=BatchAnswer)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def _require_all(answers: list[Response], what: str) -> None:
    failed = [(status, body[:200]) for status, body in answers if status != 201]
    if failed:
        raise SetupError(f"{len(failed)} of {len(answers)} {what} requests failed; first: {failed[0]!r}")
