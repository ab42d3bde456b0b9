"""One module per resource; each exports ``router``. Adding a resource adds a line here."""

from __future__ import annotations

from litestar import Router

from kontor.api.routes import (
    account_types,
    accounts,
    assets,
    balances,
    ledgers,
    operations,
    organizations,
    portfolios,
    segments,
    transaction_batch,
    transaction_dsl,
    transactions,
)

ROUTERS: list[Router] = [
    organizations.router,
    ledgers.router,
    portfolios.router,
    segments.router,
    account_types.router,
    assets.router,
    accounts.router,
    transaction_batch.router,
    transaction_dsl.router,
    transactions.router,
    balances.router,
    operations.router,
]
