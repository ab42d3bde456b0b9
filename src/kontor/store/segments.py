"""SQL for segments (scoped by ledger; a name is unique among the ledger's live segments)."""

from __future__ import annotations

from kontor.store.crud import Table

TABLE = Table("segments", ("organization_id", "ledger_id"))
NAME_INDEX = "segments_name_uq"
