"""SQL for organizations (the one table above the ledger scope)."""

from __future__ import annotations

from kontor.store.crud import Table

TABLE = Table("organizations", ())
UNIQUE_INDEXES: dict[str, str] = {}
