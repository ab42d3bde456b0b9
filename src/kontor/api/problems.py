"""The one place where failures become HTTP answers: RFC 9457 ``application/problem+json``.

* ``KontorError`` carries its Midaz code; its status and title come from the catalog.
* Litestar's own validation failures (body, path, query) are translated to Midaz's request-shape
  codes: malformed JSON 0094, unknown field 0053, missing field 0009, wrong type 0094, other
  constraint 0047, non-UUID path id 0065, bad query value 0082.
* Anything else is a bug: logged with its trace, answered 500 with no internals.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from kontor.errors import Code, FieldError, KontorError, codes

log = logging.getLogger("kontor.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
ERROR_TYPE_BASE = "https://kontor.dev/errors/"


class FieldProblem(msgspec.Struct, omit_defaults=True):
    location: str
    message: str
    value: Any = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem with Midaz's extension members ``code``, ``entityType`` and ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    entityType: str | None = None
    errors: list[FieldProblem] | None = None


def problem_body(error: KontorError) -> Problem:
    """The problem document for ``error``."""
    code = error.code
    return Problem(
        type=ERROR_TYPE_BASE + code.code,
        title=code.title,
        status=code.status,
        detail=error.detail,
        code=code.code,
        entityType=error.entity_type,
        errors=[FieldProblem(e.location, e.message, e.value) for e in error.errors] or None,
    )


def problem_headers(error: KontorError) -> dict[str, str]:
    """The headers a problem answer carries besides its media type: a 503 says when to retry."""
    return {"Retry-After": "1"} if error.code.status == 503 else {}


def problem_response(error: KontorError) -> Response[Problem]:
    body = problem_body(error)
    return Response(
        body, status_code=error.code.status, media_type=PROBLEM_MEDIA_TYPE, headers=problem_headers(error) or None
    )


def on_kontor_error(_: Request[Any, Any, Any], exc: KontorError) -> Response[Problem]:
    return problem_response(exc)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    if isinstance(exc, ValidationException):
        return problem_response(_from_validation(exc, set(request.path_params), set(request.query_params)))
    if isinstance(exc, NotFoundException):
        return problem_response(KontorError(_ROUTE_NOT_FOUND, f"No route for {request.method} {request.url.path}."))
    if isinstance(exc, MethodNotAllowedException):
        return problem_response(KontorError(_METHOD_NOT_ALLOWED, f"{request.method} is not allowed here."))
    if exc.status_code == 413:
        return problem_response(KontorError(codes.PAYLOAD_TOO_LARGE))
    if exc.status_code == 400:
        # Litestar raises a plain 400 ClientException for a body that is not JSON at all.
        return problem_response(KontorError(codes.UNMARSHALLING, _clean(str(exc.detail))))
    return problem_response(KontorError(Code("0046", exc.status_code, "Request Error", str(exc.detail))))


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    return problem_response(unexpected(exc, request.method, request.url.path))


def unexpected(exc: Exception, method: str, path: str) -> KontorError:
    """What an exception that is not a KontorError is answered: 503 when the database is
    unreachable, else a logged 500."""
    from kontor.store.db import is_unavailable

    if is_unavailable(exc):
        return KontorError(codes.DATABASE_UNAVAILABLE)
    log.exception("unhandled error on %s %s", method, path, exc_info=exc)
    return KontorError(codes.INTERNAL, "internal error")


_ROUTE_NOT_FOUND = Code("0007", 404, "Not Found", "No such route.")
_METHOD_NOT_ALLOWED = Code("0007", 405, "Method Not Allowed", "Method not allowed.")

_FIELD_IN_MESSAGE = re.compile(r"`([^`]+)`")


def _from_validation(exc: ValidationException, path_keys: set[str], query_keys: set[str]) -> KontorError:
    extra = exc.extra if isinstance(exc.extra, list) else []
    if not extra:
        return KontorError(codes.UNMARSHALLING, _clean(str(exc.detail)))
    first = extra[0]
    message = str(first.get("message", ""))
    key = str(first.get("key", ""))
    source = str(first.get("source", ""))
    if source == "path" or (source != "body" and key in path_keys):
        return KontorError(
            codes.INVALID_PATH_PARAMETER, f"{key} is not a valid UUID.", errors=[FieldError(key, message)]
        )
    if source == "query" or (source != "body" and key in query_keys):
        return KontorError(
            codes.INVALID_QUERY_PARAMETER,
            f"Query parameter {key} is invalid: {message}.",
            errors=[FieldError(key, message)],
        )
    return _from_body_message(message, key)


def _from_body_message(message: str, key: str) -> KontorError:
    """Map one msgspec validation message to Midaz's code, naming the field."""
    if re.fullmatch(r"'[^']*'", message):
        # Litestar reports a body it could not read at all (e.g. empty) as the missing key's repr.
        return KontorError(codes.UNMARSHALLING, "The request body is empty or is not a JSON object.")
    named = _FIELD_IN_MESSAGE.search(message)
    parent = "" if key in ("data", "") else key
    if message.startswith("Object contains unknown field") and named:
        location = _join(parent, named.group(1))
        return KontorError(
            codes.UNEXPECTED_FIELD,
            f"Unexpected field: {location}.",
            errors=[FieldError(location, "unexpected field", named.group(1))],
        )
    if message.startswith("Object missing required field") and named:
        location = _join(parent, named.group(1))
        return KontorError(
            codes.MISSING_FIELD,
            f"{location} is a required field.",
            errors=[FieldError(location, f"{location} is a required field")],
        )
    location = parent or "body"
    if re.match(r"Expected `[^`]+`, got `[^`]+`$", message):
        return KontorError(codes.UNMARSHALLING, f"{location}: {message}.", errors=[FieldError(location, message)])
    return KontorError(codes.INVALID_FIELD, f"{location}: {message}.", errors=[FieldError(location, message)])


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _clean(text: str) -> str:
    return text.replace("\x00", "") or "The request body could not be read."
