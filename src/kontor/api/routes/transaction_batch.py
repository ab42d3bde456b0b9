"""POST .../transactions/batch: many transactions in one request, answered one by one, in order.

Each item has the shape of POST .../transactions/json plus an optional ``idempotencyKey`` (without
one, the hash of the item is its key, as for a single request). Items are posted through the write
funnel together, so they share database transactions. One refused item does not affect the others,
unless the request says ``"atomic": true``: then either every item commits or none does.

Answer: 201 when every item was created, 207 when some were refused, 422 when an atomic batch was
rolled back. Each item of ``items`` is ``{"status": 201, "replayed": bool, "transaction": {...}}`` or
``{"status": <4xx>, "error": <problem>}``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import MediaType, Request, Response, Router, post
from litestar.openapi.datastructures import ResponseSpec

from kontor.api.common import ERROR_RESPONSES
from kontor.api.problems import Problem, problem_body
from kontor.api.routes.transactions import TransactionIn, TransactionOut, intent_of, nul_free
from kontor.core import Action
from kontor.core.limits import BATCH_BODY_BYTES_MAX, BATCH_TRANSACTIONS_MAX
from kontor.errors import KontorError, codes
from kontor.service import transactions as service
from kontor.service.context import Context
from kontor.service.posting import Outcome


class BatchItemIn(TransactionIn, kw_only=True):
    idempotency_key: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class BatchIn(msgspec.Struct, forbid_unknown_fields=True):
    transactions: list[BatchItemIn]
    atomic: bool = False


class BatchItemOut(msgspec.Struct, omit_defaults=True):
    status: int
    replayed: bool | None = None
    transaction: TransactionOut | None = None
    error: Problem | None = None


class BatchOut(msgspec.Struct):
    items: list[BatchItemOut]


_ITEM_ENCODER = msgspec.json.Encoder()


def _prepare(
    organization_id: UUID, ledger_id: UUID, item: BatchItemIn, checked: bool
) -> service.Prepared | KontorError:
    """Validate and resolve one item; a refusal becomes that item's answer."""
    try:
        intent = intent_of(item, item.send, item.pending, checked=checked)
        action = Action.PENDING if item.pending else Action.CREATE
        date = service.transaction_date(item.transaction_date, pending=item.pending)
        key = service.idempotency(item.idempotency_key, None, "json", _ITEM_ENCODER.encode(item))
        return service.prepare(organization_id, ledger_id, intent, action, key, date)
    except KontorError as error:
        return error


def _item_json(result: Outcome | KontorError) -> str:
    if isinstance(result, KontorError):
        error = msgspec.json.encode(problem_body(result)).decode()
        return f'{{"status":{result.code.status},"error":{error}}}'
    replayed = "true" if result.replayed else "false"
    return f'{{"status":201,"replayed":{replayed},"transaction":{result.body}}}'


@post(
    "/batch",
    status_code=201,
    request_max_body_size=BATCH_BODY_BYTES_MAX,
    responses={
        **ERROR_RESPONSES,
        201: ResponseSpec(BatchOut, description="Every transaction was created."),
        207: ResponseSpec(BatchOut, description="Some transactions were refused; each item says which."),
    },
)
async def create_batch(
    ctx: Context, request: Request[Any, Any, Any], organization_id: UUID, ledger_id: UUID, data: BatchIn
) -> Response[bytes]:
    """Post up to 1000 transactions at once; per-item answers in order."""
    if not data.transactions:
        raise KontorError(codes.BATCH_EMPTY)
    if len(data.transactions) > BATCH_TRANSACTIONS_MAX:
        raise KontorError(codes.BATCH_TOO_LARGE, f"A batch may carry at most {BATCH_TRANSACTIONS_MAX} transactions.")
    checked = nul_free(await request.body())
    prepared = [_prepare(organization_id, ledger_id, item, checked) for item in data.transactions]
    results = await service.create_batch(ctx, organization_id, ledger_id, prepared, atomic=data.atomic)
    refused = any(isinstance(r, KontorError) for r in results)
    status = (422 if data.atomic else 207) if refused else 201
    body = '{"items":[' + ",".join(_item_json(r) for r in results) + "]}"
    return Response(body.encode(), status_code=status, media_type=MediaType.JSON)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/transactions",
    route_handlers=[create_batch],
    tags=["Transactions"],
)
