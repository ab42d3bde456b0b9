"""SQL for ledgers (scoped by organization; a name is unique among the organization's live ledgers)."""

from __future__ import annotations

from kontor.store.crud import Table

TABLE = Table("ledgers", ("organization_id",))
NAME_INDEX = "ledgers_name_uq"
