"""SQL for webhook subscriptions and the record of every delivery attempt."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from kontor.store import crud

TABLE = crud.Table("webhook_subscriptions", ("organization_id",))


async def insert(conn: asyncpg.Connection, values: dict[str, Any]) -> asyncpg.Record:
    return await crud.insert(conn, TABLE, values)


async def get(conn: asyncpg.Connection, organization_id: UUID, id_: UUID) -> asyncpg.Record | None:
    return await crud.get(conn, TABLE, {"organization_id": organization_id}, id_)


async def of_organization(conn: asyncpg.Connection, organization_id: UUID) -> list[asyncpg.Record]:
    return list(
        await conn.fetch(
            "SELECT * FROM webhook_subscriptions WHERE organization_id = $1 AND deleted_at IS NULL ORDER BY id",
            organization_id,
        )
    )


async def live(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Every live subscription of every organization (the relay delivers to these)."""
    return list(await conn.fetch("SELECT * FROM webhook_subscriptions WHERE deleted_at IS NULL ORDER BY id"))


async def soft_delete(conn: asyncpg.Connection, organization_id: UUID, id_: UUID) -> datetime | None:
    return await crud.soft_delete(conn, TABLE, {"organization_id": organization_id}, id_)


ATTEMPT_COLUMNS = (
    "organization_id",
    "subscription_id",
    "id",
    "ledger_id",
    "seq",
    "event_id",
    "event_type",
    "attempt",
    "status_code",
    "error",
    "succeeded",
    "duration_ms",
    "created_at",
)


async def record_attempt(conn: asyncpg.Connection, values: dict[str, Any]) -> None:
    await crud.insert(conn, crud.Table("webhook_attempts", ()), {name: values[name] for name in ATTEMPT_COLUMNS})


async def attempts(
    conn: asyncpg.Connection, organization_id: UUID, subscription_id: UUID, limit: int
) -> Sequence[asyncpg.Record]:
    """The subscription's latest attempts, newest first."""
    return list(
        await conn.fetch(
            """SELECT * FROM webhook_attempts WHERE organization_id = $1 AND subscription_id = $2
                ORDER BY created_at DESC, id DESC LIMIT $3""",
            organization_id,
            subscription_id,
            limit,
        )
    )


async def exists(conn: asyncpg.Connection, organization_id: UUID, id_: UUID) -> bool:
    """Whether the subscription was ever created (deleted ones included: their attempts stay)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM webhook_subscriptions WHERE organization_id = $1 AND id = $2)",
            organization_id,
            id_,
        )
    )
