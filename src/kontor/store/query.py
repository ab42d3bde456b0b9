"""What a list request asks for, as plain values the SQL builder reads.

The HTTP layer parses and validates query strings into these; the store turns them into SQL.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from uuid import UUID

import msgspec

from kontor.core.limits import PAGE_LIMIT_DEFAULT
from kontor.errors import KontorError, codes


class Match(Enum):
    EQUALS = "eq"
    PREFIX = "prefix"  # case-insensitive prefix, as Midaz's name searches
    ANY = "any"  # the column equals one of a list


@dataclass(frozen=True, slots=True)
class Filter:
    column: str
    value: object
    match: Match = Match.EQUALS


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in an id-ordered list: list the rows after (next) or before (prev) ``id``."""

    id: UUID
    direction: str  # "next" | "prev"

    def encode(self) -> str:
        raw = msgspec.json.encode({"id": str(self.id), "direction": self.direction})
        return base64.b64encode(raw).decode()

    @staticmethod
    def decode(text: str) -> Cursor:
        try:
            data = msgspec.json.decode(base64.b64decode(text, validate=True))
            if not isinstance(data, dict):
                raise ValueError("cursor is not an object")
            direction = data.get("direction")
            if direction is None and "points_next" in data:
                direction = "next" if data["points_next"] else "prev"
            if direction not in ("next", "prev"):
                raise ValueError("cursor direction")
            return Cursor(UUID(str(data["id"])), direction)
        except (ValueError, KeyError, TypeError, binascii.Error, msgspec.DecodeError) as exc:
            raise KontorError(codes.INVALID_QUERY_PARAMETER, "cursor is not a valid cursor.") from exc


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One page of a list: offset (``page``) or cursor paging, order, date window and filters."""

    limit: int = PAGE_LIMIT_DEFAULT
    page: int = 1
    cursor: Cursor | None = None
    descending: bool = False
    start: datetime | None = None
    end: datetime | None = None
    metadata: tuple[str, str] | None = None
    filters: tuple[Filter, ...] = field(default_factory=tuple)

    def with_filters(self, *filters: Filter) -> ListQuery:
        present = tuple(f for f in filters if f.value is not None)
        return ListQuery(
            self.limit,
            self.page,
            self.cursor,
            self.descending,
            self.start,
            self.end,
            self.metadata,
            self.filters + present,
        )


@dataclass(frozen=True, slots=True)
class CursorPage:
    """A page of rows read by cursor, with the cursors of its neighbours (None at either end)."""

    rows: list[object]
    next_cursor: str | None
    prev_cursor: str | None
