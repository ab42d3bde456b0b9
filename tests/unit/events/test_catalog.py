"""The catalog without I/O: payload builders, the envelope, signatures, backoff."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import jsonschema
import pytest

from kontor.events import catalog
from kontor.events.notify import Notifier
from kontor.events.relay import Backoff
from kontor.events.sinks.webhooks import signature, verify
from kontor.events.sse import message
from kontor.store.events import JournalEvent

NOW = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
ORG, LEDGER, ID = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def segment_row() -> dict[str, object]:
    return {
        "organization_id": ORG,
        "ledger_id": LEDGER,
        "id": ID,
        "name": "Retail",
        "status_code": "ACTIVE",
        "status_description": None,
        "metadata": {"a": 1},
        "created_at": NOW,
        "updated_at": NOW,
        "deleted_at": None,
    }


def test_created_mirrors_the_entity_and_updated_omits_created_at():
    created = catalog.created("segment", segment_row())
    assert created == {
        "id": str(ID),
        "organizationId": str(ORG),
        "ledgerId": str(LEDGER),
        "name": "Retail",
        "status": {"code": "ACTIVE", "description": None},
        "metadata": {"a": 1},
        "createdAt": "2026-01-02T03:04:05.120000Z",
        "updatedAt": "2026-01-02T03:04:05.120000Z",
        "deletedAt": None,
    }
    assert catalog.updated("segment", segment_row()) == {k: v for k, v in created.items() if k != "createdAt"}


def test_deleted_carries_ids_and_time_and_amounts_are_exact_strings():
    assert catalog.deleted(ID, ORG, None, NOW) == {
        "id": str(ID),
        "organizationId": str(ORG),
        "ledgerId": None,
        "deletedAt": "2026-01-02T03:04:05.120000Z",
    }
    balance = {
        **segment_row(),
        "account_id": ID,
        "alias": "@a",
        "key": "default",
        "asset_code": "BRL",
        "available": Decimal("100.500"),
        "on_hold": Decimal("0"),
        "overdraft_used": Decimal("1E+2"),
        "version": 3,
        "account_type": "deposit",
        "allow_sending": True,
        "allow_receiving": True,
        "direction": "credit",
        "settings": None,
    }
    payload = catalog.created("balance", balance)
    assert (payload["available"], payload["onHold"], payload["overdraftUsed"]) == ("100.5", "0", "100")


def test_the_envelope_is_cloudevents_with_the_payload_verbatim():
    event = JournalEvent(ORG, LEDGER, 7, ID, "segment.created", str(ID), NOW, '{"b": 2, "a": 1}')
    envelope = json.loads(catalog.encode(event))
    assert envelope == {
        "specversion": "1.0",
        "id": str(ID),
        "source": f"/v1/organizations/{ORG}/ledgers/{LEDGER}",
        "type": "segment.created",
        "subject": str(ID),
        "time": "2026-01-02T03:04:05.12Z",
        "datacontenttype": "application/json",
        "organizationid": str(ORG),
        "ledgerid": str(LEDGER),
        "seq": 7,
        "data": {"b": 2, "a": 1},
    }
    schema = catalog.schemas()["segment.created"]
    with pytest.raises(jsonschema.ValidationError):  # the data is not a segment
        jsonschema.validate(envelope, schema)
    assert message(event).startswith(b"id: 7\nevent: segment.created\ndata: {") and message(event).endswith(b"}\n\n")


def test_organization_events_have_their_own_chain_and_source():
    assert catalog.source_of(ORG, catalog.ORGANIZATION_CHAIN) == f"/v1/organizations/{ORG}"
    assert uuid.UUID(int=0) == catalog.ORGANIZATION_CHAIN


def test_every_catalog_type_has_a_closed_schema():
    for event_type, schema in catalog.schemas().items():
        assert schema["properties"]["type"] == {"const": event_type}
        assert schema["additionalProperties"] is False
        jsonschema.Draft202012Validator.check_schema(schema)


def test_signatures_verify_and_refuse_tampering_and_old_timestamps():
    body = b'{"id":"x"}'
    header = signature("whsec_k", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify("whsec_k", header, body, now=1_700_000_010)
    assert not verify("whsec_other", header, body, now=1_700_000_010)
    assert not verify("whsec_k", header, body + b" ", now=1_700_000_010)
    assert not verify("whsec_k", header, body, now=1_700_001_000)
    assert not verify("whsec_k", "garbage", body, now=1_700_000_000)


def test_backoff_doubles_up_to_its_ceiling_and_resets():
    backoff = Backoff(0.5, 3.0)
    assert [backoff.next_delay_s() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next_delay_s() == 0.5


async def test_a_token_taken_before_a_notification_is_already_set():
    notifier = Notifier("postgresql://unused")
    chain = (ORG, LEDGER)
    mine, anyone, other = notifier.token(chain), notifier.token(None), notifier.token((ORG, uuid.uuid4()))
    notifier._on_payload(f"{ORG}/{LEDGER}")
    assert mine.is_set() and anyone.is_set() and not other.is_set()
    assert not notifier.token(chain).is_set()  # the next wait needs the next commit
    assert await notifier.wait(mine, 0.01)
