"""The exchange engine: a leg that credits an account holding another asset converts at a rate.

Midaz stores asset rates but never applies them. kontor applies them without breaking double
entry: every asset still nets to zero on its own, because the conversion passes through one
exchange account per asset. For a destination leg of ``a`` in asset X converting to Y at rate
``r`` (Y per X) with a spread of ``p`` percent:

* X side: the leg's ``a`` goes to ``@exchange:X`` instead of the account;
* Y side: ``@exchange:Y`` pays ``a × r`` exactly; the account receives that less the spread,
  rounded down to Y's precision; the spread account receives the spread, rounded down likewise;
  and ``@rounding:Y`` receives what rounding left over, so the Y legs add up exactly.

Nothing is created or destroyed: per asset, sources equal destinations to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, Inexact, Rounded, localcontext

import msgspec

from kontor.core.money import ZERO, exact
from kontor.core.plan import LegIntent, Side
from kontor.core.resolve import ResolvedLeg, ResolvedTransaction

HUNDRED = Decimal(100)


def exchange_alias(asset: str) -> str:
    """The system account through which conversions into and out of ``asset`` pass."""
    return f"@exchange:{asset}"


def rounding_alias(asset: str) -> str:
    """The system account that receives what rounding to ``asset``'s precision leaves over."""
    return f"@rounding:{asset}"


@dataclass(frozen=True, slots=True)
class Conversion:
    """How one destination leg converts: into ``to`` at ``rate`` (units of ``to`` per unit of the
    transaction's asset), keeping ``spread_percent`` for ``spread_alias``, rounded to ``scale``
    decimal places (None: exact, no rounding)."""

    to: str
    rate: Decimal
    scale: int | None
    spread_percent: Decimal = ZERO
    spread_alias: str | None = None


@dataclass(frozen=True, slots=True)
class Converted:
    """The amounts of one conversion, for the answer and for tests."""

    gross: Decimal
    net: Decimal
    spread: Decimal
    residue: Decimal


def amounts(amount: Decimal, conversion: Conversion) -> Converted:
    """Split ``amount × rate`` into what the account gets, the spread and the rounding residue."""
    with exact():
        gross = amount * conversion.rate
        spread_exact = gross * conversion.spread_percent / HUNDRED
        net_exact = gross - spread_exact
    net = _round_down(net_exact, conversion.scale)
    spread = _round_down(spread_exact, conversion.scale) if conversion.spread_alias else ZERO
    with exact():
        residue = gross - net - spread
    return Converted(gross, net, spread, residue)


def expand(tx: ResolvedTransaction, conversions: dict[int, Conversion]) -> ResolvedTransaction:
    """``tx`` with each converting destination leg (keyed by its index among the destinations)
    replaced by its legs through the exchange accounts."""
    if not conversions:
        return tx
    sources = list(tx.sources)
    destinations: list[ResolvedLeg] = []
    for leg in tx.destinations:
        conversion = conversions.get(leg.index)
        if conversion is None:
            destinations.append(leg)
            continue
        split = amounts(leg.amount, conversion)
        destinations.append(_leg(leg, Side.DESTINATION, exchange_alias(tx.asset), "default", leg.amount, None))
        sources.append(_leg(leg, Side.SOURCE, exchange_alias(conversion.to), "default", split.gross, conversion.to))
        destinations.append(_leg(leg, Side.DESTINATION, leg.alias, leg.balance_key, split.net, conversion.to))
        if split.spread > ZERO and conversion.spread_alias:
            destinations.append(
                _leg(leg, Side.DESTINATION, conversion.spread_alias, "default", split.spread, conversion.to)
            )
        if split.residue > ZERO:
            destinations.append(
                _leg(leg, Side.DESTINATION, rounding_alias(conversion.to), "default", split.residue, conversion.to)
            )
    legs = [msgspec.structs.replace(leg, index=i) for i, leg in enumerate(sources)]
    legs += [msgspec.structs.replace(leg, index=i) for i, leg in enumerate(destinations)]
    return ResolvedTransaction(tx.intent, tuple(legs))


def _leg(origin: ResolvedLeg, side: Side, alias: str, key: str, amount: Decimal, asset: str | None) -> ResolvedLeg:
    intent = LegIntent(
        alias=alias,
        balance_key=key,
        amount=amount,
        description=origin.intent.description,
        chart_of_accounts=origin.intent.chart_of_accounts,
        metadata=origin.intent.metadata,
        route=origin.intent.route,
        route_id=origin.intent.route_id,
    )
    return ResolvedLeg(side, 0, alias, key, amount, intent, asset)


def _round_down(value: Decimal, scale: int | None) -> Decimal:
    """The one deliberate rounding in kontor: toward zero, to ``scale`` places, in a context wide
    enough that nothing else is lost."""
    if scale is None:
        return value
    with localcontext() as ctx:
        ctx.prec = 200
        ctx.traps[Inexact] = False
        ctx.traps[Rounded] = False
        return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN)
