"""POST .../transactions/dsl: a transaction written in Gold, Midaz's deprecated DSL, uploaded as a file.

The request is ``multipart/form-data`` with one file in the field ``dsl`` whose name contains
``.gold``. The script compiles (:func:`kontor.dsl.compile`) to the same intent as a /json body and
posts through the same service call, idempotency included: without ``X-Idempotency``, the hash of
the file's content is the key.

Refusals, in this order: no single file in ``dsl``, a name without ``.gold``, or a body that is not
multipart at all (400 ``0048``); an empty file (400 ``0049``); a file over
``DSL_SOURCE_BYTES_MAX`` (400 ``0143``); a file that is not UTF-8 text (400 ``0048``); then the
compiler's refusals and the /json path's.

Every answer of this endpoint, refusals included, carries Midaz's deprecation headers: the
endpoint is deprecated, sunsets on 2026-08-01, and /json is its successor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Request, Response, Router, post
from litestar.datastructures import ResponseHeader, UploadFile
from litestar.exceptions import ClientException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

from kontor import dsl
from kontor.api.common import ERROR_RESPONSES
from kontor.api.problems import problem_response
from kontor.api.routes.transactions import IdempotencyHeader, TransactionOut, TtlHeader, answer
from kontor.core import Action
from kontor.core.limits import DSL_SOURCE_BYTES_MAX
from kontor.errors import KontorError, codes
from kontor.service import transactions as service
from kontor.service.context import Context

FIELD = "dsl"
FILE_EXTENSION = ".gold"
SUNSET = "Sat, 01 Aug 2026 00:00:00 GMT"
_ENTITY = "Transaction"


@dataclass
class _UploadOperation(Operation):
    """Documents the multipart body, which the handler reads itself to answer Midaz's codes."""

    def __post_init__(self) -> None:
        dsl_file = Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.BINARY,
            description=f"The Gold script; its file name must contain {FILE_EXTENSION}.",
        )
        body = Schema(type=OpenAPIType.OBJECT, properties={FIELD: dsl_file}, required=[FIELD])
        self.request_body = RequestBody(content={"multipart/form-data": OpenAPIMediaType(schema=body)}, required=True)


def deprecation_headers(organization_id: UUID, ledger_id: UUID) -> dict[str, str]:
    """Midaz's headers on every answer of this endpoint."""
    successor = f"/v1/organizations/{organization_id}/ledgers/{ledger_id}/transactions/json"
    return {"Deprecation": "true", "Sunset": SUNSET, "Link": f'<{successor}>; rel="successor-version"'}


_DOCUMENTED_HEADERS = [
    ResponseHeader(name="Deprecation", value="true", documentation_only=True),
    ResponseHeader(name="Sunset", value=SUNSET, documentation_only=True),
    ResponseHeader(name="Link", value='</v1/.../transactions/json>; rel="successor-version"', documentation_only=True),
]


@post(
    "/dsl",
    status_code=201,
    deprecated=True,
    operation_class=_UploadOperation,
    response_headers=_DOCUMENTED_HEADERS,
    responses={**ERROR_RESPONSES, 201: ResponseSpec(data_container=TransactionOut, description="Success")},
)
async def create_dsl(
    ctx: Context,
    request: Request[Any, Any, Any],
    organization_id: UUID,
    ledger_id: UUID,
    key: IdempotencyHeader = None,
    ttl: TtlHeader = None,
) -> Response[Any]:
    """Deprecated: a transaction written in Gold, uploaded as a .gold file in the field ``dsl``. Use /json."""
    try:
        content = await _upload(request)
        intent = dsl.compile(_text(content))
        action = Action.PENDING if intent.pending else Action.CREATE
        idempotency = service.idempotency(key, ttl, "dsl", content)
        outcome = await service.create(ctx, organization_id, ledger_id, intent, action, idempotency)
    except KontorError as error:
        response: Response[Any] = problem_response(error)
    else:
        response = answer(outcome)
    response.headers.update(deprecation_headers(organization_id, ledger_id))
    return response


async def _upload(request: Request[Any, Any, Any]) -> bytes:
    """The content of the one ``.gold`` file in the field ``dsl``."""
    try:
        form = await request.form()
    except ClientException as error:
        if error.status_code == 413:
            raise  # answered 0143 by the error mapping, as for every oversized body
        raise _invalid(f"The request is not valid multipart/form-data: {error.detail}.") from None
    except (ValueError, LookupError):
        # A text part that is not valid in its declared charset, or a charset nobody knows.
        raise _invalid("The request is not valid multipart/form-data: a part cannot be decoded.") from None
    try:
        return await _file_content(form.getall(FIELD) if FIELD in form else [])
    finally:
        for _, value in form.multi_items():
            if isinstance(value, UploadFile):
                await value.close()


async def _file_content(parts: list[Any]) -> bytes:
    if len(parts) != 1 or not isinstance(parts[0], UploadFile):
        found = "no file" if not parts else "more than one part" if len(parts) > 1 else "a text value, not a file"
        raise _invalid(f"The multipart field '{FIELD}' must hold exactly one file; it holds {found}.")
    upload = parts[0]
    if FILE_EXTENSION not in upload.filename:
        raise _invalid(f"The file name {upload.filename[:100]!r} does not contain {FILE_EXTENSION}.")
    content = await upload.read(DSL_SOURCE_BYTES_MAX + 1)
    if not content:
        raise KontorError(codes.DSL_FILE_EMPTY, "The DSL file is empty.", entity_type=_ENTITY)
    if len(content) > DSL_SOURCE_BYTES_MAX:
        raise KontorError(
            codes.PAYLOAD_TOO_LARGE,
            f"The DSL file is larger than {DSL_SOURCE_BYTES_MAX} bytes.",
            entity_type=_ENTITY,
        )
    return content


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _invalid(f"The DSL file is not UTF-8 text: byte {error.start} cannot be decoded.") from None


def _invalid(detail: str) -> KontorError:
    return KontorError(codes.DSL_FILE_INVALID, detail, entity_type=_ENTITY)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/transactions",
    route_handlers=[create_dsl],
    tags=["Transactions"],
)
