"""The steps the resource handlers share: list and count routes, page envelopes, entity columns in and out.

Every resource module still declares each of its handlers itself: Litestar reads a handler's
signature to validate the request and to write the OpenAPI document (whose operation id and
summary come from the function's name). Only what their bodies have in common lives here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from litestar import head
from litestar.di import Provide
from msgspec import UNSET, UnsetType

from kontor.api import common
from kontor.api.common import Metadata, Status
from kontor.store.db import Record
from kontor.store.query import CursorPage, ListQuery

T = TypeVar("T")
Row = TypeVar("Row")

# The ``listing`` dependency of a list handler: offset paging (the onboarding resources) or cursor
# paging (transactions, operations, balances, routes, account types).
OFFSET_LISTING = {"listing": Provide(common.offset_query)}
CURSOR_LISTING = {"listing": Provide(common.cursor_query)}


def count_route(listing: Callable[..., Awaitable[ListQuery]] = common.offset_query) -> head:
    """HEAD /metrics/count: the count of what the list would page through, answered by ``common.count_response``."""
    return head(
        "/metrics/count",
        responses=common.COUNT_RESPONSES,
        status_code=204,
        dependencies={"listing": Provide(listing)},
    )


def offset_page(rows: Iterable[Row], present: Callable[[Row], T], query: ListQuery) -> common.OffsetPage[T]:
    """One page of an offset list, each row presented."""
    return common.OffsetPage([present(row) for row in rows], page=query.page, limit=query.limit)


def cursor_page(page: CursorPage, present: Callable[[Any], T], query: ListQuery) -> common.CursorPageOut[T]:
    """One page of a cursor list, each row presented, with the cursors of its neighbours."""
    items = [present(row) for row in page.rows]
    return common.CursorPageOut(items, query.limit, page.next_cursor, page.prev_cursor)


def entity_columns(metadata: Metadata | None, status: Status | None) -> dict[str, Any]:
    """The columns a new entity has besides its own: its metadata, checked, and its status (ACTIVE when omitted)."""
    return {"metadata": common.check_metadata(metadata), **common.status_columns(status)}


def named_changes(name: str | UnsetType, status: Status | UnsetType = UNSET, **given: Any) -> dict[str, Any]:
    """The columns a PATCH of a named entity changes; a field left out (UNSET) keeps its value.

    The name may not be blanked (0009); ``given`` are the entity's own columns, each as sent.
    """
    changes: dict[str, Any] = {} if name is UNSET else {"name": common.require(name, "name")}
    changes.update({column: value for column, value in given.items() if value is not UNSET})
    if status is not UNSET:
        changes.update(common.status_columns(status))
    return changes


def blank_as_null(value: str | UnsetType | None) -> str | UnsetType | None:
    """An empty text clears its column, as null does; a field left out (UNSET) stays left out."""
    return value if value is UNSET else value or None


def texts_given(**texts: str | UnsetType | None) -> dict[str, Any]:
    """The texts a PATCH of a route changes: an empty, null or omitted text keeps its value (as in Midaz)."""
    return {column: text for column, text in texts.items() if isinstance(text, str) and text}


def record_fields(row: Record) -> dict[str, Any]:
    """The fields every onboarding entity answers from the same columns: its metadata and its times."""
    return {
        "metadata": row["metadata"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "deleted_at": row["deleted_at"],
    }
