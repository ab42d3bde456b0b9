"""Property-based fuzzing of kontor's HTTP API against its own OpenAPI document (schemathesis).

Every documented operation gets schemathesis' coverage cases (boundary and invalid values, wrong
types, missing fields) and up to ``EXAMPLES_PER_OPERATION_MAX`` generated cases, valid and invalid.
Every answer must be a non-5xx with a status the document declares, of the declared media type,
with a body matching the declared schema. Generated UUIDs only reach 404s, so most cases whose path
is valid are pointed at a real organization, ledger and the entities under it, seeded beforehand.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation

from kontor.api.app import create_app
from kontor.config import Settings

# A fixed seed and no example database: CI replays exactly the same cases on every run. A deeper
# or different search: KONTOR_FUZZ_EXAMPLES=500 KONTOR_FUZZ_SEED=7 pytest tests/fuzz
SEED = int(os.environ.get("KONTOR_FUZZ_SEED", "20240611"))
EXAMPLES_PER_OPERATION_MAX = int(os.environ.get("KONTOR_FUZZ_EXAMPLES", "25"))
# Of the cases whose path parameters are valid, those left on their generated (unknown) ids, in 1/N.
UNKNOWN_IDS_ONE_IN = 4
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]

# The path segment before ``{id}`` names the kind of entity ``id`` refers to.
COLLECTION_KINDS = {
    "organizations": "organization",
    "portfolios": "portfolio",
    "segments": "segment",
    "account-types": "account_type",
    "assets": "asset",
    "accounts": "account",
}
# Every other path parameter names its kind.
PARAMETER_KINDS = {
    "organization_id": "organization",
    "ledger_id": "ledger",
    "account_id": "account",
    "balance_id": "balance",
    "transaction_id": "transaction",
    "operation_id": "operation",
    "operation_route_id": "operation_route",
    "transaction_route_id": "transaction_route",
    "alias": "alias",
    "code": "code",
    "webhook_id": "webhook",
    "asset_code": "code",
    "external_id": "asset_rate",
}


@dataclass(frozen=True, slots=True)
class Seeded:
    """Ids of real entities, by kind: ``live`` ones for reads and writes, ``doomed`` ones for DELETE."""

    live: dict[str, str]
    doomed: dict[str, str]


def _post(client: TestClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, (path, response.text)
    created: dict[str, Any] = response.json()
    return created


def _send(code: str, source: str | None, destination: str, value: str) -> dict[str, Any]:
    def legs(alias: str) -> list[dict[str, Any]]:
        return [{"accountAlias": alias, "amount": {"asset": code, "value": value}}]

    send: dict[str, Any] = {"asset": code, "value": value, "distribute": {"to": legs(destination)}}
    if source is not None:
        send["source"] = {"from": legs(source)}
    return {"send": send}


def _entities(client: TestClient, base: str, tag: str, code: str) -> dict[str, str]:
    """One of each entity under a ledger: two funded accounts, a posted and a pending transaction."""
    ids = {
        "portfolio": _post(client, f"{base}/portfolios", {"name": f"Portfolio {tag}"})["id"],
        "segment": _post(client, f"{base}/segments", {"name": f"Segment {tag}"})["id"],
        "account_type": _post(client, f"{base}/account-types", {"name": "Deposit", "keyValue": f"deposit_{tag}"})["id"],
        "asset": _post(client, f"{base}/assets", {"name": f"Currency {code}", "type": "currency", "code": code})["id"],
    }
    payer, payee = (
        _post(client, f"{base}/accounts", {"assetCode": code, "type": "deposit", "alias": f"@fuzz_{tag}_{n}"})
        for n in (1, 2)
    )
    ids.update(account=payer["id"], alias=payer["alias"], code=code)
    routes = [
        _post(client, f"{base}/operation-routes", {"title": f"{kind} {tag}", "operationType": kind})["id"]
        for kind in ("source", "destination", "bidirectional")
    ]
    route = _post(client, f"{base}/transaction-routes", {"title": f"Route {tag}", "operationRoutes": routes[:2]})
    # The bidirectional route stays unlinked, so that a DELETE of it can succeed.
    ids.update(operation_route=routes[2], transaction_route=route["id"])
    inflow = _post(client, f"{base}/transactions/inflow", _send(code, None, payer["alias"], "100"))
    pending = _post(
        client, f"{base}/transactions/json", {**_send(code, payer["alias"], payee["alias"], "10"), "pending": True}
    )
    credit = next(o for o in inflow["operations"] if o["accountAlias"] == payer["alias"])
    ids.update(transaction=inflow["id"], operation=credit["id"], pending_transaction=pending["id"])
    # Port 9 on loopback: nothing listens, and no relay runs on the fuzzed app's database anyway.
    org = base.split("/")[3]
    ids["webhook"] = _post(client, f"/v1/organizations/{org}/webhooks", {"url": "http://127.0.0.1:9/hook"})["id"]
    balances = client.get(f"{base}/accounts/{payer['id']}/balances")
    assert balances.status_code == 200, balances.text
    ids["balance"] = balances.json()["items"][0]["id"]
    return ids


def seed(settings: Settings) -> Seeded:
    """Create the real entities the fuzzer's path parameters point at, through the API itself."""
    with TestClient(create_app(settings)) as client:
        org = _post(client, "/v1/organizations", {"legalName": "Fuzz Org", "legalDocument": "123"})["id"]
        ledger = _post(client, f"/v1/organizations/{org}/ledgers", {"name": "Fuzz Ledger"})["id"]
        base = f"/v1/organizations/{org}/ledgers/{ledger}"
        live = {"organization": org, "ledger": ledger, **_entities(client, base, "live", "BRL")}
        doomed_org = _post(client, "/v1/organizations", {"legalName": "Doomed Org", "legalDocument": "456"})["id"]
        doomed_ledger = _post(client, f"/v1/organizations/{org}/ledgers", {"name": "Doomed Ledger"})["id"]
        doomed = {"organization": doomed_org, "ledger": doomed_ledger, **_entities(client, base, "doomed", "USD")}
        rate = client.put(f"{base}/asset-rates", json={"from": "BRL", "to": "USD", "rate": 2, "scale": 1})
        assert rate.status_code == 201, rate.text
        live["asset_rate"] = doomed["asset_rate"] = rate.json()["externalId"]
    return Seeded(live=live, doomed=doomed)


def real_path_parameters(method: str, path: str, seeded: Seeded) -> dict[str, str]:
    """Path parameters naming seeded entities; the entity a DELETE targets is a doomed one."""
    segments = path.strip("/").split("/")
    kinds = {name.strip("{}"): _kind(segments, i) for i, name in enumerate(segments) if name.startswith("{")}
    values = {name: seeded.live[kind] for name, kind in kinds.items()}
    if segments[-1] in ("commit", "cancel"):
        values["transaction_id"] = seeded.live["pending_transaction"]
    if method.upper() == "DELETE" and segments[-1].startswith("{"):
        target = segments[-1].strip("{}")
        values[target] = seeded.doomed[kinds[target]]
    return values


def _kind(segments: list[str], index: int) -> str:
    name = segments[index].strip("{}")
    if name == "id":
        return COLLECTION_KINDS[segments[index - 1]]
    return PARAMETER_KINDS[name]


def points_at_real_entities(case: schemathesis.Case) -> bool:
    """Whether to swap the case's ids for seeded ones: only if its path is meant to be valid, and
    not for one case in ``UNKNOWN_IDS_ONE_IN``, picked by a stable hash so runs repeat exactly."""
    if not case.path_parameters or case.meta is None:
        return False
    path = case.meta.components.get(ParameterLocation.PATH)
    if path is None or path.mode is not schemathesis.GenerationMode.POSITIVE:
        return False
    fingerprint = repr((case.path_parameters, case.query, case.body)).encode()
    return zlib.crc32(fingerprint) % UNKNOWN_IDS_ONE_IN != 0


# The document does not depend on the database, so it is loaded at import (to parametrize one test
# per operation, with its coverage cases) from an app whose database is never reached; the app
# fuzzed is ``target``'s.
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": [HealthCheck.too_slow.name, HealthCheck.filter_too_much.name],
        "generation": {"max-examples": EXAMPLES_PER_OPERATION_MAX, "database": "none"},
    }
)
DOCUMENT_ONLY = Settings(database_url="postgresql://kontor@/unreachable?host=/nonexistent")
# The events stream never ends by design (tests/integration/test_events_sse.py covers it).
schema = schemathesis.openapi.from_asgi("/v1/openapi.json", create_app(DOCUMENT_ONLY), config=CONFIG).exclude(
    path_regex=r"/events/stream$"
)


@pytest.fixture(scope="module")
def target(settings: Settings) -> tuple[Litestar, Seeded]:
    """The app under test, on the session's database, and the entities seeded in it."""
    return create_app(settings), seed(settings)


@pytest.mark.slow
@schema.parametrize()
def test_api_conforms_to_its_openapi(case: schemathesis.Case, target: tuple[Litestar, Seeded]) -> None:
    app, seeded = target
    if points_at_real_entities(case):
        real = real_path_parameters(case.operation.method, case.operation.path, seeded)
        case.path_parameters = {name: real.get(name, value) for name, value in case.path_parameters.items()}
    case.call_and_validate(app=app, checks=CHECKS)
