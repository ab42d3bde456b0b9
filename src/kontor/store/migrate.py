"""Forward-only schema migrations, tracked in ``kontor_migrations``.

Files in ``migrations/`` are named ``NNNN_title.sql`` and applied in order, each in its own
database transaction. An advisory lock makes concurrent starts (several workers, several hosts)
apply each migration exactly once. A migration may end with SQL assertions (``DO $$ ... RAISE``)
about the data it produced; a failing assertion rolls it back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import asyncpg

log = logging.getLogger("kontor.migrate")

# An arbitrary constant: the advisory lock key that serialises migrations.
MIGRATION_LOCK_KEY = 0x6B6F6E746F72


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with this version of kontor, in order."""
    found = []
    for entry in resources.files("kontor.store").joinpath("migrations").iterdir():
        if entry.name.endswith(".sql"):
            number, _, title = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(number), title, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


async def apply(url: str) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            return await _apply_pending(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    finally:
        await conn.close()


async def _apply_pending(conn: asyncpg.Connection) -> list[Migration]:
    await conn.execute(
        """CREATE TABLE IF NOT EXISTS kontor_migrations (
               version     integer PRIMARY KEY,
               name        text NOT NULL,
               applied_at  timestamptz NOT NULL DEFAULT now())"""
    )
    done = {row["version"] for row in await conn.fetch("SELECT version FROM kontor_migrations")}
    applied = []
    for migration in available():
        if migration.version in done:
            continue
        async with conn.transaction():
            await conn.execute(migration.sql)
            await conn.execute(
                "INSERT INTO kontor_migrations (version, name) VALUES ($1, $2)", migration.version, migration.name
            )
        log.info("applied migration %04d %s", migration.version, migration.name)
        applied.append(migration)
    return applied


async def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` unless it exists (used for the embedded server)."""
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
