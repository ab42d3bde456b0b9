""".../ledgers/{ledger_id}/transactions: json, inflow, outflow, annotation, commit, cancel, revert, reads."""

from __future__ import annotations

from collections.abc import Awaitable
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import MediaType, Request, Response, Router, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from msgspec import UNSET, UnsetType

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata
from kontor.core import Action, LegIntent, Share, TransactionIntent, parse_amount
from kontor.core.plan import DEFAULT_BALANCE_KEY, LegRate
from kontor.errors import FieldError, FieldErrors, codes
from kontor.service import transactions as service
from kontor.service.context import Context
from kontor.service.posting import Kind, Outcome
from kontor.store.query import Filter, ListQuery

Str256 = Annotated[str, msgspec.Meta(max_length=256)]
Str100 = Annotated[str, msgspec.Meta(max_length=100)]


class AmountIn(msgspec.Struct, forbid_unknown_fields=True):
    asset: Str100
    value: Decimal


class ShareIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    percentage: int
    percentage_of_percentage: int = 0


class RateIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    from_: Str100 = msgspec.field(name="from")
    to: Str100 = ""
    value: Decimal = Decimal(0)
    external_id: UUID | None = None


class LegIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    account_alias: Str256
    balance_key: Str100 = DEFAULT_BALANCE_KEY
    amount: AmountIn | None = None
    share: ShareIn | None = None
    remaining: Str100 | None = None
    description: Str256 | None = None
    chart_of_accounts: Str256 | None = None
    metadata: Metadata | None = None
    rate: RateIn | None = None
    route: Annotated[str, msgspec.Meta(max_length=250)] | None = None
    route_id: UUID | None = None


class SourceIn(msgspec.Struct, forbid_unknown_fields=True):
    from_: list[LegIn] = msgspec.field(name="from")
    remaining: str | None = None


class DistributeIn(msgspec.Struct, forbid_unknown_fields=True):
    to: list[LegIn]
    remaining: str | None = None


class SkipIn(msgspec.Struct, forbid_unknown_fields=True):
    fees: bool = False
    tracer: bool = False


class SendIn(msgspec.Struct, forbid_unknown_fields=True):
    asset: Str100
    value: Decimal
    source: SourceIn
    distribute: DistributeIn


class InflowSendIn(msgspec.Struct, forbid_unknown_fields=True):
    asset: Str100
    value: Decimal
    distribute: DistributeIn


class OutflowSendIn(msgspec.Struct, forbid_unknown_fields=True):
    asset: Str100
    value: Decimal
    source: SourceIn


class _Header(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    description: Str256 | None = None
    code: Str100 | None = None
    chart_of_accounts_group_name: Str256 | None = None
    metadata: Metadata | None = None
    route: Annotated[str, msgspec.Meta(max_length=250)] | None = None
    route_id: UUID | None = None
    transaction_date: str | None = None
    skip: SkipIn | None = None


class TransactionIn(_Header, kw_only=True):
    send: SendIn
    pending: bool = False


class InflowIn(_Header, kw_only=True):
    send: InflowSendIn


class OutflowIn(_Header, kw_only=True):
    send: OutflowSendIn
    pending: bool = False


class TransactionUpdate(msgspec.Struct, forbid_unknown_fields=True):
    description: Str256 | UnsetType = UNSET
    metadata: Metadata | UnsetType | None = UNSET


class StatusOut(msgspec.Struct):
    code: str
    description: str | None


class BalanceOut(msgspec.Struct, rename="camel"):
    available: str
    on_hold: str
    version: int
    overdraft_used: str


class OperationOut(msgspec.Struct, rename="camel", omit_defaults=True):
    """The documented shape of an operation (answers are built in the service layer)."""

    id: UUID
    transaction_id: UUID
    description: str
    type: str
    direction: str
    asset_code: str
    chart_of_accounts: str
    amount: dict[str, str]
    balance: BalanceOut
    balance_after: BalanceOut
    status: StatusOut
    account_id: UUID
    account_alias: str
    balance_key: str
    balance_id: UUID
    organization_id: UUID
    ledger_id: UUID
    route: str
    balance_affected: bool
    created_at: str
    updated_at: str
    deleted_at: str | None
    metadata: dict[str, Any]
    route_id: UUID | None = None


class TransactionOut(msgspec.Struct, rename="camel", omit_defaults=True):
    """The documented shape of a transaction (answers are built in the service layer)."""

    id: UUID
    description: str
    status: StatusOut
    amount: str
    asset_code: str
    chart_of_accounts_group_name: str
    source: list[str]
    destination: list[str]
    ledger_id: UUID
    organization_id: UUID
    route: str
    fees_skipped: bool
    tracer_skipped: bool
    created_at: str
    updated_at: str
    deleted_at: str | None
    metadata: dict[str, Any]
    operations: list[OperationOut]
    parent_transaction_id: UUID | None = None
    route_id: UUID | None = None


def _documented(status: int, model: str) -> dict[int, ResponseSpec]:
    """Error responses plus the success body's shape (handlers answer pre-encoded JSON)."""
    data = {"TransactionOut": TransactionOut, "OperationOut": OperationOut}[model]
    return {**ERROR_RESPONSES, status: ResponseSpec(data_container=data, description="Success")}


IdempotencyHeader = Annotated[str | None, Parameter(header="X-Idempotency", required=False)]
TtlHeader = Annotated[str | None, Parameter(header="X-TTL", required=False)]


def nul_free(body: bytes) -> bool:
    """Whether no string decoded from the JSON ``body`` can hold a NUL: JSON has no raw control
    characters (the decoder refuses them), so a NUL can only come from a ``\\u0000`` escape. Then
    the per-field check (``common.check_texts``) is skipped; a false alarm (that text escaped
    itself) only runs it."""
    return b"\\u0000" not in body


def _legs(legs: list[LegIn], side: str, checked: bool) -> tuple[LegIntent, ...]:
    return tuple(_leg(leg, f"send.{side}[{i}]", checked) for i, leg in enumerate(legs))


def _leg(leg: LegIn, location: str, checked: bool) -> LegIntent:
    if not checked:
        common.check_texts(leg)
    if leg.remaining is not None and leg.remaining.strip() == "":
        raise FieldErrors(
            codes.INVALID_LEG_AMOUNT_FORM,
            f"{location}.remaining may not be empty.",
            errors=[FieldError(f"{location}.remaining", "empty")],
        )
    return LegIntent(
        alias=common.require(leg.account_alias, f"{location}.accountAlias"),
        balance_key=(leg.balance_key or DEFAULT_BALANCE_KEY),
        amount=parse_amount(leg.amount.value, f"{location}.amount.value") if leg.amount else None,
        share=Share(leg.share.percentage, leg.share.percentage_of_percentage) if leg.share else None,
        remaining=leg.remaining is not None,
        description=leg.description,
        chart_of_accounts=leg.chart_of_accounts,
        metadata=common.check_metadata(leg.metadata) or None,
        route=leg.route,
        route_id=str(leg.route_id) if leg.route_id else None,
        rate=_rate(leg.rate),
    )


def _rate(rate: RateIn | None) -> LegRate | None:
    if rate is None:
        return None
    value = parse_amount(rate.value, "rate.value") if rate.value else None
    return LegRate(rate.from_, rate.to, value, str(rate.external_id) if rate.external_id else None)


def intent_of(
    header: _Header, send: SendIn | InflowSendIn | OutflowSendIn, pending: bool, *, checked: bool = False
) -> TransactionIntent:
    """The intent of a body (also each item of a batch); legs first, in order, then the header.

    A side the body has no legs for (an inflow's source, an outflow's destination) is
    ``@external/<asset>`` for the whole value. ``checked``: the body is known to hold no NUL
    (``nul_free``), so its strings are not checked one by one.
    """
    if isinstance(send, InflowSendIn):
        sources = _external(send.asset, send.value)
    else:
        sources = _legs(send.source.from_, "source.from", checked)
    if isinstance(send, OutflowSendIn):
        destinations = _external(send.asset, send.value)
    else:
        destinations = _legs(send.distribute.to, "distribute.to", checked)
    if not checked:
        common.check_texts(header)
    return TransactionIntent(
        asset=common.require(send.asset, "send.asset"),
        value=parse_amount(send.value, "send.value"),
        sources=sources,
        destinations=destinations,
        pending=pending,
        description=header.description,
        code=header.code,
        chart_of_accounts_group_name=header.chart_of_accounts_group_name,
        metadata=common.check_metadata(header.metadata) or None,
        route=header.route,
        route_id=str(header.route_id) if header.route_id else None,
    )


def _external(asset: str, value: Decimal) -> tuple[LegIntent, ...]:
    return (LegIntent(alias=f"@external/{asset}", amount=parse_amount(value, "send.value")),)


def answer(outcome: Outcome, status_code: int = 201) -> Response[bytes]:
    return Response(
        outcome.body.encode(),
        status_code=status_code,
        media_type=MediaType.JSON,
        headers={"X-Idempotency-Replayed": "true" if outcome.replayed else "false"},
    )


def create_or_hold(pending: bool) -> Action:
    """A pending transaction holds its funds until commit or cancel."""
    return Action.PENDING if pending else Action.CREATE


async def _post(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn | InflowIn | OutflowIn,
    action: Action,
    key: str | None,
    ttl: str | None,
    endpoint: str,
) -> Response[bytes]:
    """Post one transaction body; only the PENDING action holds funds (annotations and blocks never do)."""
    return answer(await posted(ctx, organization_id, ledger_id, data, action, key, ttl, endpoint, await request.body()))


def posted(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn | InflowIn | OutflowIn,
    action: Action,
    key: str | None,
    ttl: str | None,
    endpoint: str,
    body: bytes,
) -> Awaitable[Outcome]:
    """The body read as a command (raises its refusal now), and the awaitable that queues it; also
    what ``kontor.api.fast`` runs for /json."""
    intent = intent_of(data, data.send, action is Action.PENDING, checked=nul_free(body))
    date = service.transaction_date(data.transaction_date, pending=intent.pending)
    idem = service.idempotency(key, ttl, endpoint, body)
    return service.create(ctx, organization_id, ledger_id, intent, action, idem, date)


@post("/json", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_json(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """A transaction with explicit sources and destinations; ``pending`` holds the funds until commit."""
    action = create_or_hold(data.pending)
    return await _post(ctx, request, organization_id, ledger_id, data, action, key, ttl, "json")


@post("/inflow", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_inflow(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: InflowIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """Money entering the ledger: the source is ``@external/<asset>`` for the whole value."""
    return await _post(ctx, request, organization_id, ledger_id, data, Action.CREATE, key, ttl, "inflow")


@post("/outflow", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_outflow(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: OutflowIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """Money leaving the ledger: the destination is ``@external/<asset>`` for the whole value."""
    action = create_or_hold(data.pending)
    return await _post(ctx, request, organization_id, ledger_id, data, action, key, ttl, "outflow")


@post("/annotation", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_annotation(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """A record of a transaction (status NOTED) that moves no money."""
    return await _post(ctx, request, organization_id, ledger_id, data, Action.ANNOTATE, key, ttl, "annotation")


@post("/block", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_block(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """Move funds as a block (e.g. into a blocked balance key of the same account); operations typed BLOCK."""
    return await _post(ctx, request, organization_id, ledger_id, data, Action.BLOCK, key, ttl, "block")


@post("/unblock", responses=_documented(201, "TransactionOut"), status_code=201)
async def create_unblock(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    data: TransactionIn,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[bytes]:
    """Move blocked funds back; operations typed UNBLOCK."""
    return await _post(ctx, request, organization_id, ledger_id, data, Action.UNBLOCK, key, ttl, "unblock")


async def _settle(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, kind: Kind
) -> Response[bytes]:
    return answer(await service.settle(ctx, organization_id, ledger_id, transaction_id, kind))


@post("/{transaction_id:str}/commit", responses=_documented(201, "TransactionOut"), status_code=201)
async def commit(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID) -> Response[bytes]:
    """Commit a PENDING transaction: the held funds reach the destinations (APPROVED)."""
    return await _settle(ctx, organization_id, ledger_id, transaction_id, Kind.COMMIT)


@post("/{transaction_id:str}/cancel", responses=_documented(201, "TransactionOut"), status_code=201)
async def cancel(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID) -> Response[bytes]:
    """Cancel a PENDING transaction: the held funds return to the sources (CANCELED)."""
    return await _settle(ctx, organization_id, ledger_id, transaction_id, Kind.CANCEL)


@post("/{transaction_id:str}/revert", responses=_documented(201, "TransactionOut"), status_code=201)
async def revert(ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID) -> Response[bytes]:
    """Revert an APPROVED transaction with a new transaction that runs every leg the other way."""
    return await _settle(ctx, organization_id, ledger_id, transaction_id, Kind.REVERT)


@get("/{transaction_id:str}", responses=_documented(200, "TransactionOut"))
async def get_transaction(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID
) -> Response[bytes]:
    body = await service.get(ctx, organization_id, ledger_id, transaction_id)
    return Response(msgspec.json.encode(body), media_type=MediaType.JSON)


def _window(listing: ListQuery) -> ListQuery:
    if listing.start is not None:
        return listing
    start, end = common.default_window(1)
    return ListQuery(
        listing.limit, listing.page, listing.cursor, listing.descending, start, end, listing.metadata, listing.filters
    )


@get("/", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_transactions(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery
) -> common.CursorPageOut[TransactionOut]:
    items, page = await service.list_(ctx, organization_id, ledger_id, _window(listing))
    return common.CursorPageOut(items, listing.limit, page.next_cursor, page.prev_cursor)  # type: ignore[arg-type]


@crud.count_route(common.cursor_query)
async def count_transactions(
    ctx: Context, organization_id: UUID, ledger_id: UUID, listing: ListQuery, status: str | None = None
) -> Response[None]:
    query = listing.with_filters(Filter("status", status.upper() if status else None))
    return common.count_response(await service.count(ctx, organization_id, ledger_id, query))


@patch("/{transaction_id:str}", responses=_documented(200, "TransactionOut"))
async def update_transaction(
    ctx: Context, organization_id: UUID, ledger_id: UUID, transaction_id: UUID, data: TransactionUpdate
) -> Response[bytes]:
    """Only the description and the metadata of a transaction can change."""
    description = None if data.description is UNSET else common.check_text(data.description, "description")
    body = await service.update(
        ctx, organization_id, ledger_id, transaction_id, description, common.metadata_patch(data.metadata)
    )
    return Response(msgspec.json.encode(body), media_type=MediaType.JSON)


@patch("/{transaction_id:str}/operations/{operation_id:str}", responses=_documented(200, "OperationOut"))
async def update_operation(
    ctx: Context,
    organization_id: UUID,
    ledger_id: UUID,
    transaction_id: UUID,
    operation_id: UUID,
    data: TransactionUpdate,
) -> Response[bytes]:
    """Only the description and the metadata of an operation can change."""
    description = None if data.description is UNSET else common.check_text(data.description, "description")
    body = await service.update_operation(
        ctx, organization_id, ledger_id, transaction_id, operation_id, description, common.metadata_patch(data.metadata)
    )
    return Response(msgspec.json.encode(body), media_type=MediaType.JSON)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/transactions",
    route_handlers=[
        create_json,
        create_inflow,
        create_outflow,
        create_annotation,
        create_block,
        create_unblock,
        commit,
        cancel,
        revert,
        get_transaction,
        list_transactions,
        count_transactions,
        update_transaction,
        update_operation,
    ],
    tags=["Transactions"],
)
