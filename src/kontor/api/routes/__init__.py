"""One module per resource; each exports ``router``. Adding a resource adds a line here."""

from __future__ import annotations

from litestar import Router

from kontor.api.routes import organizations

ROUTERS: list[Router] = [
    organizations.router,
]
