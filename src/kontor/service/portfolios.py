"""Portfolios: groups of accounts inside a ledger. Names are free (no uniqueness); 404 0035."""

from __future__ import annotations

from kontor.errors import codes
from kontor.service.scoped import LedgerScoped
from kontor.store.portfolios import TABLE

RESOURCE = LedgerScoped(TABLE, "Portfolio", codes.PORTFOLIO_NOT_FOUND, event_prefix="portfolio")

create = RESOURCE.create
get = RESOURCE.get
require = RESOURCE.require
list_ = RESOURCE.list_offset
count = RESOURCE.count
update = RESOURCE.update
delete = RESOURCE.delete
