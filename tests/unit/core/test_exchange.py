"""The exchange engine: conversions keep every asset balanced and book spread and rounding."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from kontor.core import Side, TransactionIntent, resolve
from kontor.core.exchange import Conversion, amounts, expand
from kontor.core.plan import LegIntent

D = Decimal


def _tx(value: str, to: list[tuple[str, str]]) -> TransactionIntent:
    return TransactionIntent(
        asset="BRL",
        value=D(value),
        sources=(LegIntent("@alice", amount=D(value)),),
        destinations=tuple(LegIntent(alias, amount=D(amount)) for alias, amount in to),
    )


def _per_asset(tx) -> dict[str, tuple[Decimal, Decimal]]:
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for leg in tx.legs:
        totals[leg.asset or tx.asset][0 if leg.side is Side.SOURCE else 1] += leg.amount
    return {k: (v[0], v[1]) for k, v in totals.items()}


def test_brl_to_usd_with_spread_and_rounding() -> None:
    resolved = resolve(_tx("100", [("@bob", "100")]))
    conversion = Conversion(to="USD", rate=D("0.18347"), scale=2, spread_percent=D("1.5"), spread_alias="@fx-income")
    split = amounts(D(100), conversion)
    assert split.gross == D("18.347")
    assert split.spread == D("0.27")  # 0.275205 rounded down
    assert split.net == D("18.07")  # 18.071795 rounded down
    assert split.gross == split.net + split.spread + split.residue
    assert split.residue == D("0.007")
    expanded = expand(resolved, {0: conversion})
    legs = [(leg.side.value, leg.alias, leg.asset or "BRL", leg.amount) for leg in expanded.legs]
    assert legs == [
        ("source", "@alice", "BRL", D(100)),
        ("source", "@exchange:USD", "USD", D("18.347")),
        ("destination", "@exchange:BRL", "BRL", D(100)),
        ("destination", "@bob", "USD", D("18.07")),
        ("destination", "@fx-income", "USD", D("0.27")),
        ("destination", "@rounding:USD", "USD", D("0.007")),
    ]
    assert all(sources == destinations for sources, destinations in _per_asset(expanded).values())


def test_without_conversions_the_transaction_is_unchanged() -> None:
    resolved = resolve(_tx("10", [("@bob", "10")]))
    assert expand(resolved, {}) is resolved


@settings(max_examples=200)
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
    rate=st.decimals(min_value=D("0.00001"), max_value=D("10000"), places=5),
    spread=st.decimals(min_value=D(0), max_value=D(10), places=3),
    scale=st.sampled_from([0, 2, 3, 8, None]),
)
def test_conversion_creates_and_destroys_nothing(amount, rate, spread, scale) -> None:
    conversion = Conversion(to="USD", rate=rate, scale=scale, spread_percent=spread, spread_alias="@fx")
    split = amounts(amount, conversion)
    assert split.net + split.spread + split.residue == split.gross == amount * rate
    assert split.net >= 0 and split.spread >= 0 and split.residue >= 0
    if scale is not None:
        assert split.residue < 2 * D(1).scaleb(-scale)
    resolved = resolve(_tx(str(amount), [("@bob", str(amount))]))
    expanded = expand(resolved, {0: conversion})
    assert all(s == d for s, d in _per_asset(expanded).values())
