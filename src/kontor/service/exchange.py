"""Plans the conversions of a transaction: which legs convert, at what rate, spread and precision.

A destination leg with a ``rate`` converts from the transaction's asset into ``rate.to``: at the
leg's own ``value`` when given (no spread), else at the stored asset rate for the pair (refused
when missing, 422 ``KTR-0010``, or older than its ttl, 422 ``KTR-0011``). The amount received is
rounded down to the target asset's precision: its ISO 4217 minor units, or an integer ``scale`` in
the asset's metadata; other assets are not rounded. See docs/exchange.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from kontor.core import ResolvedTransaction
from kontor.core.exchange import Conversion, exchange_alias, expand, rounding_alias
from kontor.core.iso import minor_units
from kontor.core.plan import LegRate
from kontor.errors import KontorError, codes
from kontor.service.ids import new_id
from kontor.store import asset_rates as rates_store
from kontor.store import exchange as store
from kontor.store.db import Connection

ENTITY = "Transaction"


async def apply_conversions(
    conn: Connection, organization_id: UUID, ledger_id: UUID, resolved: ResolvedTransaction, now: datetime | None = None
) -> ResolvedTransaction:
    """``resolved`` with its converting legs expanded through the exchange accounts (created on first use)."""
    if not any(leg.intent.rate is not None for leg in resolved.legs):
        return resolved
    if resolved.intent.pending or any(leg.intent.rate is not None for leg in resolved.sources):
        raise KontorError(codes.CONVERSION_NOT_ALLOWED, entity_type=ENTITY)
    conversions: dict[int, Conversion] = {}
    for leg in resolved.destinations:
        rate = leg.intent.rate
        if rate is None or rate.to_asset == resolved.asset:
            continue
        if rate.from_asset != resolved.asset:
            raise KontorError(
                codes.INVALID_FIELD, f"rate.from must be the transaction's asset {resolved.asset}.", entity_type=ENTITY
            )
        conversions[leg.index] = await _conversion(
            conn, organization_id, ledger_id, resolved.asset, rate, now or datetime.now(UTC)
        )
    for asset in {resolved.asset, *(c.to for c in conversions.values())}:
        await store.ensure_system_account(
            conn, organization_id, ledger_id, exchange_alias(asset), asset, "external", "debit", new_id
        )
    for conversion in conversions.values():
        await store.ensure_system_account(
            conn, organization_id, ledger_id, rounding_alias(conversion.to), conversion.to, "rounding", "credit", new_id
        )
    return expand(resolved, conversions)


async def _conversion(
    conn: Connection, organization_id: UUID, ledger_id: UUID, asset: str, rate: LegRate, now: datetime
) -> Conversion:
    target = await store.asset_row(conn, organization_id, ledger_id, rate.to_asset)
    if target is None:
        raise KontorError(codes.ASSET_CODE_NOT_FOUND, f"No asset {rate.to_asset} in this ledger.", entity_type=ENTITY)
    scale = _scale(target)
    if rate.value is not None and rate.value > 0:
        return Conversion(to=rate.to_asset, rate=rate.value, scale=scale)
    row = None
    if rate.external_id:
        row = await rates_store.by_external_id(conn, organization_id, ledger_id, UUID(rate.external_id))
    if row is None:
        row = await rates_store.by_pair(conn, organization_id, ledger_id, asset, rate.to_asset)
    if row is None or (row["from_code"], row["to_code"]) != (asset, rate.to_asset):
        raise KontorError(
            codes.RATE_NOT_FOUND, f"No rate is stored for {asset} to {rate.to_asset}.", entity_type=ENTITY
        )
    if row["ttl"] and row["updated_at"] + timedelta(seconds=row["ttl"]) < now:
        raise KontorError(codes.RATE_EXPIRED, f"The rate {asset} to {rate.to_asset} expired.", entity_type=ENTITY)
    value = Decimal(row["rate"]).scaleb(-int(row["scale"]))
    return Conversion(
        to=rate.to_asset,
        rate=value,
        scale=scale,
        spread_percent=row["spread_percent"],
        spread_alias=row["spread_account"],
    )


def _scale(asset: object) -> int | None:
    metadata = asset["metadata"] or {}  # type: ignore[index]
    configured = metadata.get("scale")
    if isinstance(configured, int) and not isinstance(configured, bool) and 0 <= configured <= 30:
        return configured
    if asset["type"] in ("currency", "fiat"):  # type: ignore[index]
        return minor_units(asset["code"])  # type: ignore[index]
    return None
