"""Small builders for core tests: balances, legs, intents and a posting shortcut."""

from __future__ import annotations

from decimal import Decimal

from kontor.core import (
    Action,
    BalanceSettings,
    BalanceState,
    LegIntent,
    OperationDraft,
    Share,
    TransactionIntent,
    apply,
    resolve,
)

Book = dict[tuple[str, str], BalanceState]


def D(value: str | int) -> Decimal:
    return Decimal(value)


def balance(
    alias: str,
    available: str | int = 0,
    *,
    key: str = "default",
    on_hold: str | int = 0,
    direction: str = "credit",
    account_type: str = "deposit",
    asset: str = "BRL",
    allow_sending: bool = True,
    allow_receiving: bool = True,
    version: int = 0,
    settings: BalanceSettings | None = None,
) -> BalanceState:
    return BalanceState(
        id=f"bal-{alias}-{key}",
        account_id=f"acc-{alias}",
        alias=alias,
        key=key,
        asset_code=asset,
        account_type=account_type,
        available=D(available),
        on_hold=D(on_hold),
        version=version,
        direction=direction,
        allow_sending=allow_sending,
        allow_receiving=allow_receiving,
        settings=settings,
    )


def external(asset: str = "BRL", available: str | int = 0) -> BalanceState:
    """An external account's default balance: debit direction, as Midaz v4 creates it."""
    return balance(f"@external/{asset}", available, direction="debit", account_type="external", asset=asset)


def book(*states: BalanceState) -> Book:
    return {(state.alias, state.key): state for state in states}


def amount(alias: str, value: str | int, *, key: str = "default") -> LegIntent:
    return LegIntent(alias=alias, balance_key=key, amount=D(value))


def share(alias: str, percentage: int, of: int = 0, *, key: str = "default") -> LegIntent:
    return LegIntent(alias=alias, balance_key=key, share=Share(percentage, of))


def remaining(alias: str, *, key: str = "default") -> LegIntent:
    return LegIntent(alias=alias, balance_key=key, remaining=True)


def send(
    value: str | int, sources: list[LegIntent], destinations: list[LegIntent], *, asset: str = "BRL"
) -> TransactionIntent:
    return TransactionIntent(asset=asset, value=D(value), sources=tuple(sources), destinations=tuple(destinations))


def post(intent: TransactionIntent, action: Action, states: Book) -> list[OperationDraft]:
    return apply(resolve(intent), action, states)


def amounts(states: Book) -> dict[str, tuple[Decimal, Decimal, int]]:
    """Each balance's (available, on_hold, version), keyed alias#key, for before/after comparisons."""
    return {f"{a}#{k}": (s.available, s.on_hold, s.version) for (a, k), s in states.items()}
