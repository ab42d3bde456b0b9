"""SQL for portfolios (scoped by ledger; names need not be unique)."""

from __future__ import annotations

from kontor.store.crud import Table

TABLE = Table("portfolios", ("organization_id", "ledger_id"))
