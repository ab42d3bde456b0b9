"""Identifiers are UUIDv7 (time-ordered), as in Midaz."""

from __future__ import annotations

from uuid import UUID

import uuid_utils


def new_id() -> UUID:
    return UUID(bytes=uuid_utils.uuid7().bytes)


def new_id_text() -> str:
    """A new id as its text: for rows written in bulk, where the UUID object would only be
    converted back (PostgreSQL's driver takes uuid parameters as text)."""
    return str(uuid_utils.uuid7())
