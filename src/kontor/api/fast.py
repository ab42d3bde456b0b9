"""A thin ASGI path in front of Litestar for ``POST .../transactions/json``, the endpoint that
single transfers take.

Litestar's routing, parameter parsing, dependency injection and response layers cost more per
request than the ledger's own work on either side of them (docs/benchmarks.md). This path reads
the body, decodes it into the route's own ``TransactionIn``, builds the intent with the route's own
functions and answers what the route answers. Whenever it cannot take a request as it stands (a
body too large or that does not decode, a repeated header, any refusal before the command is
queued) it hands the request, its body replayed, to Litestar, which answers it as always: every
refusal of the request's shape is Litestar's own answer. A refusal after that point (the ledger,
the funnel) is answered here as ``problems`` answers it in Litestar.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from uuid import UUID

import msgspec
from litestar import Litestar

from kontor.api import problems
from kontor.api.routes import transactions as route
from kontor.core.limits import REQUEST_BODY_BYTES_MAX
from kontor.errors import KontorError
from kontor.service.context import Context
from kontor.service.posting import Outcome

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_PATH = re.compile(r"/v1/organizations/([0-9a-fA-F-]{36})/ledgers/([0-9a-fA-F-]{36})/transactions/json")
_DECODER = msgspec.json.Decoder(route.TransactionIn)
_HEADERS = (b"x-idempotency", b"x-ttl")


class _Declined(Exception):
    """The request is Litestar's to answer."""


class Fronted:
    """The Litestar application with the transfer endpoint's fast path in front of it. Every other
    request, the lifespan and every attribute (``state``, ``openapi_schema``, ...) are the app's."""

    def __init__(self, app: Litestar, ctx: Context) -> None:
        self.litestar = app
        self._ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and (match := _PATH.fullmatch(scope["path"])):
            await _transfer(self.litestar, self._ctx, match, scope, receive, send)
        else:
            await self.litestar(scope, receive, send)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.litestar, name)


async def _transfer(
    app: Litestar, ctx: Context, match: re.Match[str], scope: Scope, receive: Receive, send: Send
) -> None:
    received: list[Message] = []
    try:
        body = await _body(receive, received)
        outcome_of = _prepared(ctx, match, scope, body)
    except _Declined:
        await app(scope, _replaying(received, receive), send)  # type: ignore[arg-type]
        return
    try:
        outcome = await outcome_of
    except KontorError as error:
        await _answer(send, *_problem(error))
        return
    except Exception as exc:
        await _answer(send, *_problem(problems.unexpected(exc, "POST", scope["path"])))
        return
    headers = [(b"x-idempotency-replayed", b"true" if outcome.replayed else b"false")]
    await _answer(send, 201, b"application/json", outcome.body.encode(), headers)


async def _body(receive: Receive, received: list[Message]) -> bytes:
    """The whole body, or ``_Declined`` once it is not a plain body within the limit."""
    size = 0
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            raise _Declined
        size += len(message.get("body", b""))
        if size > REQUEST_BODY_BYTES_MAX:
            raise _Declined
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in received)


def _prepared(ctx: Context, match: re.Match[str], scope: Scope, body: bytes) -> Awaitable[Outcome]:
    """The request as the route reads it, ready to queue; ``_Declined`` on anything the route
    would refuse, or that this path does not read as the route does."""
    headers: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _HEADERS:
            if name in headers:
                raise _Declined
            headers[name] = value.decode("latin-1")
    try:
        data = _DECODER.decode(body)
        organization_id, ledger_id = UUID(match[1]), UUID(match[2])
        action = route.create_or_hold(data.pending)
        key, ttl = headers.get(b"x-idempotency"), headers.get(b"x-ttl")
        return route.posted(ctx, organization_id, ledger_id, data, action, key, ttl, "json", body)
    except Exception as exc:
        raise _Declined from exc


def _problem(error: KontorError) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """The answer Litestar gives ``error`` (``problems.on_kontor_error``)."""
    headers = [(k.lower().encode(), v.encode()) for k, v in problems.problem_headers(error).items()]
    body = msgspec.json.encode(problems.problem_body(error))
    return error.code.status, problems.PROBLEM_MEDIA_TYPE.encode(), body, headers


async def _answer(send: Send, status: int, media_type: bytes, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start = [(b"content-type", media_type), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def _replaying(received: list[Message], receive: Receive) -> Receive:
    """``receive`` with the messages already read given back first."""
    pending = list(received)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again
