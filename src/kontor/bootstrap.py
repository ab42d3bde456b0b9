"""Wires kontor together: which database, its schema, and (with none configured) the embedded server."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from kontor.config import Settings
from kontor.store import embedded, migrate

log = logging.getLogger("kontor")


@dataclass(slots=True)
class Database:
    """The database kontor will use, and the embedded server behind it if kontor started one."""

    url: str
    server: embedded.EmbeddedServer | None = None

    def stop(self) -> None:
        if self.server is not None:
            log.info("stopping embedded PostgreSQL")
            self.server.stop()


def resolve_database(settings: Settings) -> Database:
    """``DATABASE_URL`` if set; else the embedded server under ``KONTOR_DATA_DIR``, started now."""
    if settings.database_url:
        return Database(settings.database_url)
    server = embedded.prepare(settings.data_dir)
    server.start()
    asyncio.run(migrate.ensure_database(server.admin_url(), embedded.DATABASE))
    return Database(server.url, server)


def apply_migrations(url: str) -> int:
    """Apply pending migrations; returns how many were applied."""
    return len(asyncio.run(migrate.apply(url)))
