"""The event catalog: every event type kontor records, the shape of its payload, and its envelope.

Event types are Midaz's names (``account.created``, ``balance.changed``, ``transaction.posted``...).
Each type's payload is declared here once, as a msgspec Struct: the same declaration builds the
onboarding payloads from their rows, generates the JSON Schemas in ``docs/events/`` (``make
event-schemas``) and is what the tests validate every emitted event against.

Payload rules, after Midaz: ``*.created`` mirrors the entity as the API answers it; ``*.updated``
is the same without ``createdAt``; ``*.deleted`` carries the ids and ``deletedAt``. A transaction
event carries the transaction's JSON (the HTTP answer); ``balance.changed`` one per operation that
moved a balance.

Every event travels as a CloudEvents 1.0 structured-mode JSON envelope (``envelope``): the event's
id (its journal row's, or for a balance change derived from a transaction's row, ``events.journal``),
``type`` the event type, ``subject`` the entity (``transactionId:operationId`` for a
balance change), ``time`` the journal row's time, and three extension attributes that place it in
its chain: ``organizationid``, ``ledgerid`` and ``seq``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec

from kontor.core.money import format_amount
from kontor.errors import invariant
from kontor.store.events import JournalEvent

SPEC_VERSION = "1.0"
DATA_CONTENT_TYPE = "application/json"
CONTENT_TYPE = "application/cloudevents+json"
# Organization-level events (organization.*) have no ledger: they form one chain per organization
# under this reserved ledger id, the nil UUID, which no ledger can have (ledger ids are UUIDv7).
ORGANIZATION_CHAIN = UUID(int=0)


# --- payloads --------------------------------------------------------------------------------


class _Payload(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A closed payload: its schema refuses fields it does not declare."""


class Status(_Payload):
    code: str
    description: str | None


class Organization(_Payload):
    id: UUID
    parent_organization_id: UUID | None
    legal_name: str
    doing_business_as: str | None
    legal_document: str
    address: dict[str, str]
    status: Status
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Ledger(_Payload):
    id: UUID
    organization_id: UUID
    name: str
    status: Status
    settings: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Asset(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    type: str
    code: str
    status: Status
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Portfolio(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    entity_id: str | None
    status: Status
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Segment(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    status: Status
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Account(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    parent_account_id: UUID | None
    entity_id: str | None
    holder_id: UUID | None
    asset_code: str
    portfolio_id: UUID | None
    segment_id: UUID | None
    status: Status
    alias: str
    type: str
    blocked: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Balance(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    account_id: UUID
    alias: str
    key: str
    asset_code: str
    available: str
    on_hold: str
    overdraft_used: str
    version: int
    account_type: str
    allow_sending: bool
    allow_receiving: bool
    direction: str
    settings: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class OperationRoute(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    title: str
    description: str | None
    code: str | None
    operation_type: str
    account_rule_type: str | None
    account_rule_valid_if: Any
    accounting_entries: dict[str, Any] | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class TransactionRoute(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    title: str
    description: str | None
    operation_routes: list[OperationRoute]  # the linked routes, in link order
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class AccountType(_Payload):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    name: str
    description: str | None
    key_value: str
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class Deleted(_Payload):
    """What a ``*.deleted`` event says: which entity, where, and when."""

    id: UUID
    organization_id: UUID
    ledger_id: UUID | None
    deleted_at: datetime


class Amount(_Payload):
    value: str


class BalanceAmounts(_Payload):
    available: str
    on_hold: str
    version: int
    overdraft_used: str


class Operation(_Payload):
    id: str
    transaction_id: str
    description: str
    type: str
    direction: str
    asset_code: str
    chart_of_accounts: str
    amount: Amount
    balance: BalanceAmounts
    balance_after: BalanceAmounts
    status: Status
    account_id: str
    account_alias: str
    balance_key: str
    balance_id: str
    organization_id: str
    ledger_id: str
    route: str
    balance_affected: bool
    created_at: str
    updated_at: str
    deleted_at: str | None
    metadata: dict[str, Any]
    route_id: str | None = None


class Transaction(_Payload):
    """The transaction as the HTTP answer shows it, operations included (``service.representation``)."""

    id: str
    description: str
    status: Status
    amount: str
    asset_code: str
    chart_of_accounts_group_name: str
    source: list[str]
    destination: list[str]
    ledger_id: str
    organization_id: str
    route: str
    fees_skipped: bool
    tracer_skipped: bool
    created_at: str
    updated_at: str
    deleted_at: str | None
    metadata: dict[str, Any]
    operations: list[Operation]
    parent_transaction_id: str | None = None
    route_id: str | None = None


class BalanceChanged(_Payload):
    """One operation's effect on one balance: the balance as the operation left it."""

    organization_id: str
    ledger_id: str
    account_id: str
    balance_id: str
    alias: str
    asset_code: str
    balance_key: str
    available: str
    on_hold: str
    version: int
    reason: str
    operation_type: str
    direction: str
    amount: str
    transaction_id: str
    operation_id: str
    occurred_at: str


def _without_created_at(entity: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """The ``*.updated`` payload of an entity: every field but ``createdAt``."""
    fields = [(f.name, f.type) for f in msgspec.structs.fields(entity) if f.name != "created_at"]
    return msgspec.defstruct(f"{entity.__name__}Updated", fields, bases=(_Payload,))


# The entities whose lifecycle is published, by the prefix of their event types.
ENTITIES: dict[str, type[msgspec.Struct]] = {
    "organization": Organization,
    "ledger": Ledger,
    "account": Account,
    "asset": Asset,
    "portfolio": Portfolio,
    "segment": Segment,
    "operation-route": OperationRoute,
    "transaction-route": TransactionRoute,
    "account-type": AccountType,  # kontor's: Midaz publishes no event for account types
}
_UPDATED = {prefix: _without_created_at(entity) for prefix, entity in ENTITIES.items()}
# Midaz's balance.config-changed: a balance's flags or settings changed (never its amounts).
BalanceConfigChanged = msgspec.defstruct(
    "BalanceConfigChanged",
    [*((f.name, f.type) for f in msgspec.structs.fields(Balance) if f.name != "created_at"), ("change_type", str)],
    bases=(_Payload,),
)
CHANGE_TYPES = ("settings_updated", "overdraft_enabled", "flags_updated")

# Every event type and the Struct its payload obeys, in catalog order.
EVENT_TYPES: dict[str, type[msgspec.Struct]] = {
    **{
        f"{prefix}.{action}": payload
        for prefix, entity in ENTITIES.items()
        for action, payload in (("created", entity), ("updated", _UPDATED[prefix]), ("deleted", Deleted))
    },
    "balance.created": Balance,
    "balance.changed": BalanceChanged,
    "balance.deleted": Deleted,
    "balance.config-changed": BalanceConfigChanged,
    "transaction.posted": Transaction,
    "transaction.committed": Transaction,
    "transaction.canceled": Transaction,
    "transaction.reverted": Transaction,
}


# A journal row of a transaction that publishes no event of its own (a PENDING one: Midaz
# publishes none on creation) but moved balances: it carries their balance.changed events only.
TRANSACTION_UNPUBLISHED = "transaction.unpublished"
# The journal rows whose payload is a transaction, whose balance changes they carry too.
TRANSACTION_ROWS = frozenset(
    (
        "transaction.posted",
        "transaction.committed",
        "transaction.canceled",
        "transaction.reverted",
        TRANSACTION_UNPUBLISHED,
    )
)


def is_known(event_type: str) -> bool:
    return event_type in EVENT_TYPES


def is_recorded(row_type: str) -> bool:
    """Whether the journal may hold a row of this type: an event type, or a carrier of balance changes."""
    return row_type in EVENT_TYPES or row_type == TRANSACTION_UNPUBLISHED


def unknown_types(types: list[str]) -> list[str]:
    """The names in ``types`` that are not event types of the catalog."""
    return [t for t in types if t not in EVENT_TYPES]


# --- building payloads from rows -------------------------------------------------------------


def _field_value(row: Mapping[str, Any], name: str) -> Any:
    if name == "status":
        return Status(row["status_code"], row["status_description"])
    if name == "operation_routes":
        return [_struct(OperationRoute, route) for route in row[name]]
    value = row[name]
    if isinstance(value, Decimal):
        return format_amount(value)
    if value is None and name in ("address", "metadata"):
        return {}
    return value


def _struct(kind: type[msgspec.Struct], row: Mapping[str, Any]) -> msgspec.Struct:
    return kind(**{name: _field_value(row, name) for name in kind.__struct_fields__})


def _build(kind: type[msgspec.Struct], row: Mapping[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = msgspec.to_builtins(_struct(kind, row))
    return payload


def created(prefix: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of ``<prefix>.created``: the entity as the API answers it."""
    return _build(Balance if prefix == "balance" else ENTITIES[prefix], row)


def updated(prefix: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """The payload of ``<prefix>.updated``: the entity without ``createdAt``."""
    return _build(_UPDATED[prefix], row)


def config_changed(row: Mapping[str, Any], change_type: str) -> dict[str, Any]:
    """The payload of ``balance.config-changed``: the balance as changed, and what kind of change."""
    invariant(change_type in CHANGE_TYPES, "a balance config change is of a known type")
    return _build(BalanceConfigChanged, {**row, "change_type": change_type})


def deleted(id_: UUID, organization_id: UUID, ledger_id: UUID | None, deleted_at: datetime) -> dict[str, Any]:
    """The payload of ``*.deleted``: the entity's ids and when it was deleted."""
    payload: dict[str, Any] = msgspec.to_builtins(Deleted(id_, organization_id, ledger_id, deleted_at))
    return payload


# --- the envelope ----------------------------------------------------------------------------


class Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """A CloudEvents 1.0 event in structured mode; ``data`` is the journal payload, verbatim."""

    specversion: str
    id: str
    source: str
    type: str
    subject: str
    time: str
    datacontenttype: str
    organizationid: str
    ledgerid: str
    seq: int
    data: msgspec.Raw


@functools.lru_cache(maxsize=1024)
def source_of(organization_id: UUID, ledger_id: UUID) -> str:
    """The CloudEvents ``source``: the chain the event belongs to, as a path of the API."""
    if ledger_id == ORGANIZATION_CHAIN:
        return f"/v1/organizations/{organization_id}"
    return f"/v1/organizations/{organization_id}/ledgers/{ledger_id}"


def envelope(
    *,
    event_id: UUID,
    organization_id: UUID,
    ledger_id: UUID,
    seq: int,
    event_type: str,
    subject: str,
    time: str,
    payload_text: str,
) -> Envelope:
    return Envelope(
        specversion=SPEC_VERSION,
        id=str(event_id),
        source=source_of(organization_id, ledger_id),
        type=event_type,
        subject=subject,
        time=time,
        datacontenttype=DATA_CONTENT_TYPE,
        organizationid=str(organization_id),
        ledgerid=str(ledger_id),
        seq=seq,
        data=msgspec.Raw(payload_text.encode()),
    )


_ENCODER = msgspec.json.Encoder()


@functools.lru_cache(maxsize=1024)  # the events of one batch share their time
def time_of(value: datetime) -> str:
    """RFC 3339 UTC, fraction trimmed: the same text the journal's hash chain covers."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def of_journal(event: JournalEvent) -> Envelope:
    """The envelope of one journal row."""
    return envelope(
        event_id=event.id,
        organization_id=event.organization_id,
        ledger_id=event.ledger_id,
        seq=event.seq,
        event_type=event.event_type,
        subject=event.subject,
        time=time_of(event.created_at),
        payload_text=event.payload_text,
    )


def encode(event: JournalEvent) -> bytes:
    """The CloudEvents JSON of one journal row, as every sink sends it."""
    return _ENCODER.encode(of_journal(event))


# --- JSON Schemas ----------------------------------------------------------------------------


def _envelope_schema(event_type: str, data_schema: dict[str, Any]) -> dict[str, Any]:
    """The schema of one event type's envelope, its payload's schema inlined as ``data``."""
    defs = data_schema.pop("$defs", {})
    string = {"type": "string", "minLength": 1}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://kontor.dev/events/{event_type}.json",
        "title": event_type,
        "type": "object",
        "required": [
            "specversion",
            "id",
            "source",
            "type",
            "subject",
            "time",
            "datacontenttype",
            "organizationid",
            "ledgerid",
            "seq",
            "data",
        ],
        "additionalProperties": False,
        "properties": {
            "specversion": {"const": SPEC_VERSION},
            "id": {"type": "string", "format": "uuid"},
            "source": string,
            "type": {"const": event_type},
            "subject": string,
            "time": {"type": "string", "format": "date-time"},
            "datacontenttype": {"const": DATA_CONTENT_TYPE},
            "organizationid": {"type": "string", "format": "uuid"},
            "ledgerid": {"type": "string", "format": "uuid"},
            "seq": {"type": "integer", "minimum": 1},
            "data": data_schema,
        },
        "$defs": defs,
    }


def schemas() -> dict[str, dict[str, Any]]:
    """One JSON Schema (draft 2020-12) per event type, for its whole envelope."""
    out = {}
    for event_type, payload in EVENT_TYPES.items():
        (data,), components = msgspec.json.schema_components([payload], ref_template="#/$defs/{name}")
        out[event_type] = _envelope_schema(event_type, {**data, "$defs": components})
    return out
