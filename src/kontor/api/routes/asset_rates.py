""".../ledgers/{ledger_id}/asset-rates: PUT upsert, GET by external id, GET from an asset.

Midaz's fields, plus kontor's spread (``spreadPercent`` kept on each conversion and booked to
``spreadAccount``), which the exchange engine applies (docs/exchange.md).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Router, get, put

from kontor.api import common, crud
from kontor.api.common import ERROR_RESPONSES, Metadata
from kontor.core import format_amount, parse_amount
from kontor.errors import FieldError, FieldErrors, codes
from kontor.service import asset_rates as service
from kontor.service.context import Context
from kontor.store.db import Record
from kontor.store.query import ListQuery

AssetCode = Annotated[str, msgspec.Meta(max_length=100)]
_LETTERS = re.compile(r"[A-Z]+")


class AssetRateIn(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    from_: AssetCode = msgspec.field(name="from")
    to: AssetCode = ""
    rate: Annotated[int, msgspec.Meta(gt=0)] = 0
    scale: Annotated[int, msgspec.Meta(ge=0, le=30)] = 0
    source: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    ttl: Annotated[int, msgspec.Meta(ge=0)] | None = None
    external_id: UUID | None = None
    metadata: Metadata | None = None
    spread_percent: Decimal | None = None
    spread_account: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class AssetRateOut(msgspec.Struct, rename="camel", omit_defaults=True):
    id: UUID
    organization_id: UUID
    ledger_id: UUID
    external_id: UUID
    from_: str = msgspec.field(name="from")
    to: str = ""
    rate: int = 0
    scale: int = 0
    source: str | None = None
    ttl: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    spread_percent: str | None = None
    spread_account: str | None = None


def present(row: Record) -> AssetRateOut:
    return AssetRateOut(
        id=row["id"],
        organization_id=row["organization_id"],
        ledger_id=row["ledger_id"],
        external_id=row["external_id"],
        from_=row["from_code"],
        to=row["to_code"],
        rate=int(row["rate"]),
        scale=row["scale"],
        source=row["source"],
        ttl=row["ttl"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        metadata=row["metadata"],
        spread_percent=format_amount(row["spread_percent"]) if row["spread_percent"] else None,
        spread_account=row["spread_account"],
    )


def _code(value: str, field: str) -> str:
    if not value:
        raise FieldErrors(codes.MISSING_FIELD, f"{field} is a required field.", errors=[FieldError(field, "required")])
    if not _LETTERS.fullmatch(value):
        raise FieldErrors(
            codes.CODE_NOT_UPPERCASE if value.isalpha() else codes.CODE_NOT_LETTERS,
            f"{field} must be uppercase letters.",
            errors=[FieldError(field, "uppercase letters")],
        )
    return value


@put("/", status_code=201, responses=ERROR_RESPONSES)
async def put_asset_rate(ctx: Context, organization_id: UUID, ledger_id: UUID, data: AssetRateIn) -> AssetRateOut:
    """Create or replace the rate for (from, to): ``rate × 10^-scale`` units of ``to`` per ``from``."""
    common.check_texts(data)
    if data.rate <= 0:
        raise FieldErrors(codes.MISSING_FIELD, "rate is a required field.", errors=[FieldError("rate", "required")])
    spread = parse_amount(data.spread_percent, "spreadPercent") if data.spread_percent is not None else Decimal(0)
    if not Decimal(0) <= spread < Decimal(100):
        raise FieldErrors(
            codes.INVALID_FIELD,
            "spreadPercent must be at least 0 and below 100.",
            errors=[FieldError("spreadPercent", "out of range")],
        )
    values = {
        "from_code": _code(data.from_, "from"),
        "to_code": _code(data.to, "to"),
        "rate": Decimal(data.rate),
        "scale": data.scale,
        "source": data.source,
        "ttl": data.ttl,
        "spread_percent": spread,
        "spread_account": data.spread_account,
        "metadata": common.check_metadata(data.metadata),
    }
    return present(await service.upsert(ctx, organization_id, ledger_id, values, data.external_id))


@get("/{external_id:str}", responses=ERROR_RESPONSES)
async def get_asset_rate(ctx: Context, organization_id: UUID, ledger_id: UUID, external_id: UUID) -> AssetRateOut:
    return present(await service.get(ctx, organization_id, ledger_id, external_id))


@get("/from/{asset_code:str}", responses=ERROR_RESPONSES, dependencies=crud.CURSOR_LISTING)
async def list_asset_rates(
    ctx: Context, organization_id: UUID, ledger_id: UUID, asset_code: str, listing: ListQuery, to: str | None = None
) -> common.CursorPageOut[AssetRateOut]:
    targets = [code.strip() for code in to.split(",") if code.strip()] if to else None
    page = await service.list_from(ctx, organization_id, ledger_id, asset_code, targets, listing)
    return crud.cursor_page(page, present, listing)


router = Router(
    "/v1/organizations/{organization_id:str}/ledgers/{ledger_id:str}/asset-rates",
    route_handlers=[put_asset_rate, get_asset_rate, list_asset_rates],
    tags=["Asset Rates"],
)
