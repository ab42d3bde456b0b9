"""POST .../transactions/dsl over HTTP: the JSON twin, upload rules, deprecation headers, idempotency, fuzz."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from litestar.testing import AsyncTestClient

from kontor.core import limits
from tests.e2e.test_transactions_basic import balances, setup_ledger
from tests.helpers import assert_problem, create, unique
from tests.unit.dsl.strategies import EVERY_FORM, PENDING, REFERENCE, gold_inputs

ALIASES = ("@alice", "@bob", "@fees", "@carol", "@dave")
SUNSET = "Sat, 01 Aug 2026 00:00:00 GMT"

# EVERY_FORM, written as a /json body.
EVERY_FORM_JSON = {
    "chartOfAccountsGroupName": "PAYMENTS",
    "description": "pay invoice 42",
    "code": "INV42",
    "metadata": {"invoice": "42", "channel": "web"},
    "send": {
        "asset": "BRL",
        "value": "100",
        "source": {
            "from": [
                {
                    "accountAlias": "@alice",
                    "share": {"percentage": 50, "percentageOfPercentage": 80},
                    "description": "alice part",
                    "chartOfAccounts": "CA-1101",
                },
                {"accountAlias": "@carol", "remaining": "remaining", "metadata": {"leg": "a"}},
            ]
        },
        "distribute": {
            "to": [
                {"accountAlias": "@bob", "amount": {"asset": "BRL", "value": "60"}, "description": "to bob"},
                {"accountAlias": "@fees", "share": {"percentage": 10}},
                {"accountAlias": "@dave", "remaining": "remaining"},
            ]
        },
    },
}
# PENDING, written as a /json body.
PENDING_JSON = {
    "chartOfAccountsGroupName": "HOLD",
    "pending": True,
    "send": {
        "asset": "BRL",
        "value": "25",
        "source": {"from": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "25"}}]},
        "distribute": {"to": [{"accountAlias": "@bob", "remaining": "remaining"}]},
    },
}
# A conversion at a rate given on the leg (the exchange engine), in Gold and as a /json body.
RATE_ID = "0198a3c4-0000-7000-8000-000000000001"
RATE = f"""(transaction V1 (chart-of-accounts-group-name FX)
  (send BRL 10|0 (source (from @alice :amount BRL 10|0))
    (distribute (to @bob :share 30) (to @usd :remaining (rate {RATE_ID} BRL -> USD 5|0)))))
"""
RATE_JSON = {
    "chartOfAccountsGroupName": "FX",
    "send": {
        "asset": "BRL",
        "value": "10",
        "source": {"from": [{"accountAlias": "@alice", "amount": {"asset": "BRL", "value": "10"}}]},
        "distribute": {
            "to": [
                {"accountAlias": "@bob", "share": {"percentage": 30}},
                {
                    "accountAlias": "@usd",
                    "remaining": "remaining",
                    "rate": {"from": "BRL", "to": "USD", "value": "5", "externalId": RATE_ID},
                },
            ]
        },
    },
}
# What must match between a transaction and its twin (ids, ledger and times differ).
TRANSACTION_FIELDS = ("status", "amount", "assetCode", "description", "chartOfAccountsGroupName", "metadata")
OPERATION_FIELDS = (
    "accountAlias",
    "balanceKey",
    "type",
    "direction",
    "amount",
    "assetCode",
    "description",
    "chartOfAccounts",
    "metadata",
    "balance",
    "balanceAfter",
    "status",
)


async def funded_ledger(client: AsyncTestClient, *, with_usd: bool = False) -> str:
    base = await setup_ledger(client, ALIASES)
    if with_usd:
        await create(client, f"{base}/assets", {"name": "Dollar", "type": "currency", "code": "USD"})
        await create(client, f"{base}/accounts", {"assetCode": "USD", "type": "deposit", "alias": "@usd"})
    for alias in ("@alice", "@carol"):
        funding = {
            "send": {
                "asset": "BRL",
                "value": "100",
                "distribute": {"to": [{"accountAlias": alias, "amount": {"asset": "BRL", "value": "100"}}]},
            }
        }
        response = await client.post(f"{base}/transactions/inflow", json=funding)
        assert response.status_code == 201, response.text
    return base


async def post_dsl(
    client: AsyncTestClient, base: str, script: str | bytes, filename: str = "tx.gold", **headers: str
) -> Any:
    content = script.encode() if isinstance(script, str) else script
    return await client.post(
        f"{base}/transactions/dsl", files={"dsl": (filename, content, "text/plain")}, headers=headers
    )


def comparable(transaction: dict[str, Any]) -> dict[str, Any]:
    return {
        **{field: transaction.get(field) for field in TRANSACTION_FIELDS},
        "source": transaction["source"],
        "destination": transaction["destination"],
        "operations": [{field: op.get(field) for field in OPERATION_FIELDS} for op in transaction["operations"]],
    }


@pytest.fixture(scope="module")
async def ledger_base(client: AsyncTestClient) -> str:
    return await funded_ledger(client)


# --- the JSON twin -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "body"),
    [(EVERY_FORM, EVERY_FORM_JSON), (PENDING, PENDING_JSON), (RATE, RATE_JSON)],
    ids=["every-form", "pending", "rate"],
)
async def test_a_dsl_transaction_and_its_json_twin_are_the_same(
    client: AsyncTestClient, database_url: str, script: str, body: dict[str, Any]
) -> None:
    with_usd = script is RATE
    dsl_base = await funded_ledger(client, with_usd=with_usd)
    json_base = await funded_ledger(client, with_usd=with_usd)
    by_dsl = await post_dsl(client, dsl_base, script)
    by_json = await client.post(f"{json_base}/transactions/json", json=body)
    assert by_dsl.status_code == by_json.status_code == 201, (by_dsl.text, by_json.text)
    assert comparable(by_dsl.json()) == comparable(by_json.json())
    stored_dsl = await client.get(f"{dsl_base}/transactions/{by_dsl.json()['id']}")
    stored_json = await client.get(f"{json_base}/transactions/{by_json.json()['id']}")
    assert comparable(stored_dsl.json()) == comparable(stored_json.json())
    assert await balances(database_url, dsl_base) == await balances(database_url, json_base)


async def test_every_form_moves_the_money_it_says(client: AsyncTestClient, database_url: str) -> None:
    base = await funded_ledger(client)
    response = await post_dsl(client, base, EVERY_FORM)
    assert response.status_code == 201, response.text
    assert [(op["accountAlias"], op["type"], op["amount"]["value"]) for op in response.json()["operations"]] == [
        ("@alice", "DEBIT", "40"),
        ("@carol", "DEBIT", "60"),
        ("@bob", "CREDIT", "60"),
        ("@fees", "CREDIT", "10"),
        ("@dave", "CREDIT", "30"),
    ]
    got = await balances(database_url, base)
    assert {alias: int(got[alias][0]) for alias in ALIASES} == {
        "@alice": 60,
        "@bob": 60,
        "@fees": 10,
        "@carol": 40,
        "@dave": 30,
    }


# --- the deprecation headers ---------------------------------------------------------------------


def assert_deprecated(response: Any, base: str) -> None:
    assert response.headers["Deprecation"] == "true"
    assert response.headers["Sunset"] == SUNSET
    assert response.headers["Link"] == f'<{base}/transactions/json>; rel="successor-version"'


async def test_answers_carry_the_deprecation_headers(client: AsyncTestClient, ledger_base: str) -> None:
    created = await post_dsl(client, ledger_base, REFERENCE.replace("@alice", "@carol").replace("100|0", "1|0"))
    assert created.status_code == 201, created.text
    assert created.json()["status"]["code"] == "CREATED"
    assert_deprecated(created, ledger_base)
    refused = await post_dsl(client, ledger_base, "(transaction")
    assert_problem(refused, 400, "0048")
    assert_deprecated(refused, ledger_base)


async def test_the_openapi_document_describes_the_upload(client: AsyncTestClient) -> None:
    document = (await client.get("/v1/openapi.json")).json()
    operation = document["paths"]["/v1/organizations/{organization_id}/ledgers/{ledger_id}/transactions/dsl"]["post"]
    assert operation["deprecated"] is True
    schema = operation["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["dsl"]
    assert schema["properties"]["dsl"] == {**schema["properties"]["dsl"], "type": "string", "format": "binary"}
    assert {"201", "400", "404", "409", "422"} <= set(operation["responses"])


# --- the upload ----------------------------------------------------------------------------------


async def test_the_file_name_must_contain_gold(client: AsyncTestClient, ledger_base: str) -> None:
    assert_problem(await post_dsl(client, ledger_base, REFERENCE, filename="tx.txt"), 400, "0048")
    # Midaz checks "contains", not "ends with".
    accepted = await post_dsl(client, ledger_base, REFERENCE.replace("100|0", "2|0"), filename="a.gold.txt")
    assert accepted.status_code == 201, accepted.text


@pytest.mark.parametrize(
    ("kwargs", "found"),
    [
        ({"files": {"other": ("tx.gold", b"x", "text/plain")}}, "no file"),
        ({"data": {"dsl": REFERENCE}}, "a text value"),
        (
            {"files": [("dsl", ("a.gold", b"x", "text/plain")), ("dsl", ("b.gold", b"x", "text/plain"))]},
            "more than one",
        ),
        ({"json": {"dsl": REFERENCE}}, "no file"),
        (
            {"content": b"--x\r\nnot multipart", "headers": {"Content-Type": "multipart/form-data; boundary=x"}},
            "multipart",
        ),
    ],
    ids=["other-field", "text-field", "two-files", "json-body", "broken-multipart"],
)
async def test_the_request_must_carry_one_gold_file(
    client: AsyncTestClient, ledger_base: str, kwargs: dict[str, Any], found: str
) -> None:
    response = await client.post(f"{ledger_base}/transactions/dsl", **kwargs)
    assert found in assert_problem(response, 400, "0048")["detail"]
    assert_deprecated(response, ledger_base)


@pytest.mark.parametrize(("content", "code"), [(b"", "0049"), (b" \n\t\r\n", "0049"), (b"\xff\xfe(", "0048")])
async def test_empty_whitespace_and_non_utf8_files(
    client: AsyncTestClient, ledger_base: str, content: bytes, code: str
) -> None:
    assert_problem(await post_dsl(client, ledger_base, content), 400, code)


async def test_syntax_errors_name_line_and_column(client: AsyncTestClient, ledger_base: str) -> None:
    response = await post_dsl(client, ledger_base, "(transaction V1\n  (chart-of-accounts-group-name G)\n  (sned")
    body = assert_problem(response, 400, "0048")
    assert body["detail"].startswith('Syntax error at line 3, column 4: found "sned"'), body["detail"]
    assert body["entityType"] == "Transaction"


async def test_a_file_over_the_size_limit_is_refused(client: AsyncTestClient, ledger_base: str) -> None:
    at_limit = REFERENCE.replace("100|0", "3|0")
    at_limit += " " * (limits.DSL_SOURCE_BYTES_MAX - len(at_limit))
    assert (await post_dsl(client, ledger_base, at_limit)).status_code == 201
    assert_problem(await post_dsl(client, ledger_base, at_limit + " "), 400, "0143")
    # A body beyond the request limit never reaches the handler, and is answered with the same code.
    assert_problem(await post_dsl(client, ledger_base, " " * (limits.REQUEST_BODY_BYTES_MAX + 1)), 400, "0143")


@pytest.mark.parametrize(
    ("script", "status", "code"),
    [
        (REFERENCE.replace(":share 60", ":share 160"), 422, "0073"),
        (REFERENCE.replace("100|0", "0|0"), 422, "0125"),
        (REFERENCE.replace("@alice", "@nobody"), 422, "0019"),
        (REFERENCE.replace("@bob", "$payee"), 400, "0017"),
        (REFERENCE.replace("100|0", "1000000|0"), 422, "0018"),
    ],
    ids=["mismatch", "zero", "unknown-alias", "variable", "insufficient-funds"],
)
async def test_semantic_refusals_have_their_normal_codes(
    client: AsyncTestClient, ledger_base: str, script: str, status: int, code: str
) -> None:
    assert_problem(await post_dsl(client, ledger_base, script), status, code)


# --- idempotency ----------------------------------------------------------------------------------


async def test_the_same_file_twice_is_one_transaction(client: AsyncTestClient, database_url: str) -> None:
    base = await funded_ledger(client)
    script = REFERENCE.replace("100|0", "7|0")
    first = await post_dsl(client, base, script, filename="one.gold")
    again = await post_dsl(client, base, script, filename="other-name.gold")
    assert first.headers["X-Idempotency-Replayed"] == "false"
    assert again.headers["X-Idempotency-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert int((await balances(database_url, base))["@alice"][0]) == 93


async def test_an_idempotency_key_replays_the_first_answer(client: AsyncTestClient, ledger_base: str) -> None:
    key = unique("dsl")
    first = await post_dsl(
        client, ledger_base, REFERENCE.replace("100|0", "4|0"), **{"X-Idempotency": key, "X-TTL": "60"}
    )
    other = await post_dsl(client, ledger_base, REFERENCE.replace("100|0", "5|0"), **{"X-Idempotency": key})
    assert first.status_code == other.status_code == 201, (first.text, other.text)
    assert other.headers["X-Idempotency-Replayed"] == "true"
    assert other.json()["id"] == first.json()["id"] and other.json()["amount"] == "4"


# --- fuzz over HTTP -------------------------------------------------------------------------------


@settings(
    max_examples=40,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(source=gold_inputs())
async def test_fuzzed_scripts_get_a_coded_answer_never_a_500(
    client: AsyncTestClient, ledger_base: str, source: str
) -> None:
    response = await post_dsl(client, ledger_base, source.encode("utf-8", "surrogatepass"))
    assert response.status_code == 201 or 400 <= response.status_code < 500, response.text
    if response.status_code != 201:
        assert_problem(response, response.status_code, response.json()["code"])
    assert response.headers["Deprecation"] == "true"
