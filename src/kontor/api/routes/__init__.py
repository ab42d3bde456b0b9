"""One module per resource; each exports ``router``. Adding a resource adds a line here."""

from __future__ import annotations

from litestar import Router

from kontor.api.routes import (
    account_types,
    accounts,
    asset_rates,
    assets,
    balances,
    events,
    ledgers,
    operation_routes,
    operations,
    organizations,
    portfolios,
    segments,
    transaction_batch,
    transaction_dsl,
    transaction_routes,
    transactions,
    webhooks,
)

ROUTERS: list[Router] = [
    organizations.router,
    ledgers.router,
    portfolios.router,
    segments.router,
    account_types.router,
    assets.router,
    accounts.router,
    asset_rates.router,
    transaction_batch.router,
    transaction_dsl.router,
    transactions.router,
    balances.router,
    operations.router,
    operation_routes.router,
    transaction_routes.router,
    webhooks.router,
    events.router,
]
