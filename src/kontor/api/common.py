"""Shapes and parsers every resource shares: status, metadata, list queries, envelopes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Generic, TypeVar

import msgspec
from litestar import Request, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from kontor.api.problems import Problem
from kontor.core.limits import (
    METADATA_KEY_LENGTH_MAX,
    METADATA_KEYS_MAX,
    METADATA_VALUE_LENGTH_MAX,
    PAGE_LIMIT_DEFAULT,
    PAGE_LIMIT_MAX,
    PAGE_NUMBER_MAX,
    SEARCH_TERM_LENGTH_MAX,
)
from kontor.errors import FieldError, FieldErrors, KontorError, codes
from kontor.store.crud import MetadataPatch
from kontor.store.query import Cursor, ListQuery

T = TypeVar("T")

Str100 = Annotated[str, msgspec.Meta(max_length=100)]
Str256 = Annotated[str, msgspec.Meta(max_length=256)]
Metadata = dict[str, Any]


class Status(msgspec.Struct, forbid_unknown_fields=True):
    """An entity's status: a free code (``ACTIVE`` when omitted) and an optional description."""

    code: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class StatusOut(msgspec.Struct):
    code: str
    description: str | None = None


class OffsetPage(msgspec.Struct, Generic[T]):
    items: list[T]
    page: int
    limit: int


class CursorPageOut(msgspec.Struct, Generic[T], omit_defaults=True):
    items: list[T]
    limit: int
    next_cursor: str | None = None
    prev_cursor: str | None = None


ERROR_RESPONSES: dict[int, ResponseSpec] = {
    status: ResponseSpec(data_container=Problem, description=text, media_type="application/problem+json")
    for status, text in (
        (400, "The request is malformed or fails validation."),
        (404, "An entity in the path does not exist."),
        (409, "The request conflicts with existing state."),
        (422, "The request is well-formed but breaks a ledger rule."),
        (503, "The database is unreachable."),
    )
}

# HEAD .../metrics/count answers 204 with its count in a header. Litestar would document the
# ``Response[None]`` body as JSON ``null``; a 204 has no body, so the answer is declared here.
COUNT_RESPONSES: dict[int, ResponseSpec] = {
    **ERROR_RESPONSES,
    204: ResponseSpec(data_container=None, description="No body: the count is in the X-Total-Count header."),
}


def status_columns(status: Status | None) -> dict[str, Any]:
    code = (status.code if status else None) or "ACTIVE"
    return {"status_code": code, "status_description": status.description if status else None}


def status_out(row: Any) -> StatusOut:
    return StatusOut(row["status_code"], row["status_description"])


def check_metadata(metadata: Metadata | None) -> Metadata:
    """Midaz's metadata rules: flat scalars, key <= 100, value <= 2000 characters (0050/0051/0067)."""
    if metadata is None:
        return {}
    if len(metadata) > METADATA_KEYS_MAX:
        raise KontorError(codes.PAYLOAD_TOO_MANY_KEYS, f"metadata may hold at most {METADATA_KEYS_MAX} keys.")
    for key, value in metadata.items():
        _check_metadata_entry(key, value)
    return metadata


def check_metadata_patch(metadata: Metadata | None) -> None:
    """As ``check_metadata``, but a null value is allowed: it deletes its key."""
    for key, value in (metadata or {}).items():
        if value is not None:
            _check_metadata_entry(key, value)
        elif len(key) > METADATA_KEY_LENGTH_MAX:
            _check_metadata_entry(key, "")


def _check_metadata_entry(key: str, value: Any) -> None:
    location = f"metadata.{key}"
    if len(key) > METADATA_KEY_LENGTH_MAX:
        raise FieldErrors(
            codes.METADATA_KEY_TOO_LONG,
            f"The metadata key {key[:20]}... exceeds 100 characters.",
            errors=[FieldError(location, "key too long")],
        )
    if "\x00" in key:
        raise FieldErrors(
            codes.INVALID_FIELD, "Metadata keys may not contain NUL.", errors=[FieldError(location, "NUL byte")]
        )
    if isinstance(value, dict):
        raise FieldErrors(
            codes.METADATA_NESTED,
            f"The metadata value of {key} is an object.",
            errors=[FieldError(location, "nested object")],
        )
    if isinstance(value, list) or value is None:
        raise FieldErrors(
            codes.METADATA_VALUE_TOO_LONG,
            f"The metadata value of {key} must be a scalar.",
            errors=[FieldError(location, "not a scalar")],
        )
    if isinstance(value, str):
        if len(value) > METADATA_VALUE_LENGTH_MAX:
            raise FieldErrors(
                codes.METADATA_VALUE_TOO_LONG,
                f"The metadata value of {key} exceeds 2000 characters.",
                errors=[FieldError(location, "value too long")],
            )
        if "\x00" in value:
            raise FieldErrors(
                codes.INVALID_FIELD, "Metadata values may not contain NUL.", errors=[FieldError(location, "NUL byte")]
            )


def check_text(value: str | None, field: str) -> str | None:
    """Strings may not carry NUL bytes (PostgreSQL text cannot store them): 0047."""
    if value is not None and "\x00" in value:
        raise FieldErrors(codes.INVALID_FIELD, f"{field} contains a NUL byte.", errors=[FieldError(field, "NUL byte")])
    return value


def check_texts(struct: msgspec.Struct) -> None:
    """Apply ``check_text`` to every string field of a decoded body, nested structs included."""
    for name, value in zip(struct.__struct_fields__, msgspec.structs.astuple(struct), strict=True):
        if type(value) is str:
            if "\x00" in value:
                check_text(value, name)
        elif isinstance(value, msgspec.Struct):
            check_texts(value)


def search_term(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > SEARCH_TERM_LENGTH_MAX or "\x00" in value:
        raise KontorError(codes.INVALID_QUERY_PARAMETER, f"{name} must be at most {SEARCH_TERM_LENGTH_MAX} characters.")
    return value or None


def _limit(limit: int) -> int:
    if limit <= 0:
        raise KontorError(codes.INVALID_QUERY_PARAMETER, "limit must be a positive integer.")
    if limit > PAGE_LIMIT_MAX:
        raise KontorError(codes.PAGINATION_LIMIT_EXCEEDED, f"limit must be at most {PAGE_LIMIT_MAX}.")
    return limit


def _descending(sort_order: str) -> bool:
    order = sort_order.lower()
    if order not in ("asc", "desc"):
        raise KontorError(codes.INVALID_SORT_ORDER)
    return order == "desc"


def parse_date(text: str, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS`` (UTC); a bare date at the end of day when ``end_of_day``."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            clock = time.max if end_of_day else time.min
            return datetime.combine(day, clock, tzinfo=UTC)
        if len(text) == 19 and text[10] in " T":
            return datetime.strptime(text.replace("T", " "), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise KontorError(codes.INVALID_DATE_FORMAT, f"{text!r} is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.")


def _dates(start_date: str | None, end_date: str | None) -> tuple[datetime | None, datetime | None]:
    if (start_date is None) != (end_date is None):
        raise KontorError(codes.DATES_REQUIRED_TOGETHER)
    if start_date is None or end_date is None:
        return None, None
    start = parse_date(start_date, end_of_day=False)
    end = parse_date(end_date, end_of_day=True)
    if start > end:
        raise KontorError(codes.DATE_RANGE_INVERTED)
    return start, end


def default_window(months: int) -> tuple[datetime, datetime]:
    """Midaz's default window for transaction and operation lists: ``months`` back to end of today."""
    today = datetime.now(UTC).date()
    return (
        datetime.combine(today - timedelta(days=31 * months), time.min, tzinfo=UTC),
        datetime.combine(today, time.max, tzinfo=UTC),
    )


def _metadata_filter(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    for key, value in request.query_params.items():
        if key.startswith("metadata.") and len(key) > len("metadata."):
            meta_key = key.removeprefix("metadata.")
            if len(meta_key) > METADATA_KEY_LENGTH_MAX or "\x00" in meta_key + value:
                raise KontorError(codes.INVALID_QUERY_PARAMETER, "The metadata filter is invalid.")
            return meta_key, value
    return None


# The bounds are documented here and enforced below, each with its own Midaz code (0080, 0081, 0082).
Limit = Annotated[
    int,
    Parameter(description=f"Page size, 1 to {PAGE_LIMIT_MAX}.", schema_extra={"minimum": 1, "maximum": PAGE_LIMIT_MAX}),
]
Page = Annotated[
    int,
    Parameter(
        description=f"Page number, 1 to {PAGE_NUMBER_MAX}.", schema_extra={"minimum": 1, "maximum": PAGE_NUMBER_MAX}
    ),
]
SortOrder = Annotated[
    str, Parameter(query="sort_order", description="asc (default) or desc.", schema_extra={"enum": ["asc", "desc"]})
]
StartDate = Annotated[str | None, Parameter(query="start_date", description="YYYY-MM-DD[ HH:MM:SS]")]
EndDate = Annotated[str | None, Parameter(query="end_date", description="YYYY-MM-DD[ HH:MM:SS]")]


async def offset_query(
    request: Request[Any, Any, Any],
    limit: Limit = PAGE_LIMIT_DEFAULT,
    page: Page = 1,
    sort_order: SortOrder = "asc",
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> ListQuery:
    """Offset paging parameters (organizations, ledgers, assets, portfolios, segments, accounts)."""
    if not 1 <= page <= PAGE_NUMBER_MAX:
        raise KontorError(codes.INVALID_QUERY_PARAMETER, f"page must be an integer from 1 to {PAGE_NUMBER_MAX}.")
    start, end = _dates(start_date, end_date)
    return ListQuery(
        limit=_limit(limit),
        page=page,
        descending=_descending(sort_order),
        start=start,
        end=end,
        metadata=_metadata_filter(request),
    )


async def cursor_query(
    request: Request[Any, Any, Any],
    limit: Limit = PAGE_LIMIT_DEFAULT,
    cursor: str | None = None,
    sort_order: SortOrder = "asc",
    start_date: StartDate = None,
    end_date: EndDate = None,
) -> ListQuery:
    """Cursor paging parameters (transactions, operations, balances, routes, account types)."""
    start, end = _dates(start_date, end_date)
    return ListQuery(
        limit=_limit(limit),
        cursor=Cursor.decode(cursor) if cursor else None,
        descending=_descending(sort_order),
        start=start,
        end=end,
        metadata=_metadata_filter(request),
    )


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with the fraction trimmed, as Go's time.Time marshals it."""
    if value is None:
        return None
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


def require(value: str | None, field: str) -> str:
    """A required string must be present and non-empty (Midaz's ``required``): else 0009."""
    if value is None or value == "":
        raise FieldErrors(
            codes.MISSING_FIELD,
            f"{field} is a required field.",
            errors=[FieldError(field, f"{field} is a required field")],
        )
    return value


def metadata_patch(value: Metadata | msgspec.UnsetType | None) -> MetadataPatch:
    """The metadata part of a PATCH body, checked (a null value deletes its key)."""
    if value is msgspec.UNSET:
        return MetadataPatch()
    check_metadata_patch(value)
    return MetadataPatch(True, value)


def count_response(total: int) -> Response[None]:
    """HEAD .../metrics/count: 204, no body, the count in X-Total-Count."""
    return Response(None, status_code=204, headers={"X-Total-Count": str(total)})
