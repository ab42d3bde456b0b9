"""Resolution: from a transaction's intent to exact leg amounts that balance.

Checks run in this order, and the first failure answers:

1. each side has at most ``LEGS_PER_SIDE_MAX`` legs (400 ``0047``);
2. the value is a bounded decimal (400 ``0047``);
3. each leg, sources then destinations: exactly one of amount, share, remaining (400 ``0072``),
   then its amount or percentages are bounded and not negative (400 ``0047``);
4. the value is greater than zero (422 ``0125``);
5. each side resolves in order, and each side's legs add up exactly to the value (422 ``0073``);
6. no alias#key sits at the same index on both sides (422 ``0090``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TypeVar

import msgspec

from kontor.core import limits
from kontor.core.money import ZERO, exact, format_amount, parse_amount
from kontor.core.plan import LegIntent, Share, Side, TransactionIntent
from kontor.errors import KontorError, codes, invariant

_T = TypeVar("_T")

_ENTITY = "Transaction"
_PERCENT = Decimal(100)
_SIDE_FIELDS = {Side.SOURCE: "send.source.from", Side.DESTINATION: "send.distribute.to"}


class ResolvedLeg(msgspec.Struct, frozen=True):
    """A leg with its exact amount; ``index`` is its position within its side.

    ``asset`` is None for a leg in the transaction's asset; the exchange engine sets it on the legs
    it adds in another asset.
    """

    side: Side
    index: int
    alias: str
    balance_key: str
    amount: Decimal
    intent: LegIntent
    asset: str | None = None


class ResolvedTransaction(msgspec.Struct, frozen=True):
    """A transaction whose legs balance: each side adds up exactly to the value.

    ``legs`` holds the sources in order, then the destinations in order, zero-amount legs included
    (their balances are still checked; they produce no operation).
    """

    intent: TransactionIntent
    legs: tuple[ResolvedLeg, ...]

    @property
    def asset(self) -> str:
        """The transaction's single asset code."""
        return self.intent.asset

    @property
    def value(self) -> Decimal:
        """The transaction's value, which each side adds up to."""
        return self.intent.value

    @property
    def sources(self) -> tuple[ResolvedLeg, ...]:
        """The source legs, in request order."""
        return tuple(leg for leg in self.legs if leg.side is Side.SOURCE)

    @property
    def destinations(self) -> tuple[ResolvedLeg, ...]:
        """The destination legs, in request order."""
        return tuple(leg for leg in self.legs if leg.side is Side.DESTINATION)

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every distinct alias (without balance key), first appearance first, sources before destinations."""
        return _distinct(leg.alias for leg in self.legs)

    @property
    def source_aliases(self) -> tuple[str, ...]:
        """The distinct source aliases, as the transaction response's ``source`` lists them."""
        return _distinct(leg.alias for leg in self.sources)

    @property
    def destination_aliases(self) -> tuple[str, ...]:
        """The distinct destination aliases, as the transaction response's ``destination`` lists them."""
        return _distinct(leg.alias for leg in self.destinations)

    @property
    def balance_refs(self) -> tuple[tuple[str, str], ...]:
        """Every distinct ``(alias, balance_key)`` the transaction touches: the balances to load and lock."""
        return _distinct((leg.alias, leg.balance_key) for leg in self.legs)


def resolve(intent: TransactionIntent) -> ResolvedTransaction:
    """Turn an intent into exact leg amounts, or reject it with the first failing check.

    Guards the rules listed in this module's docstring, in that order. Shares are exact
    (``value × percentage/100 × percentageOfPercentage/100``, never rounded); an amount leg counts
    only when greater than zero (otherwise it resolves to 0, as in Midaz); a ``remaining`` leg takes
    the value minus the earlier legs of its side. A side whose earlier legs already exceed the value
    is unbalanced (``0073``) even if a ``remaining`` leg would bring the sum back: that leg would
    be negative.
    """
    _check_leg_counts(intent)
    value = parse_amount(intent.value, "send.value", entity_type=_ENTITY)
    for side, legs in _sides(intent):
        for index, leg in enumerate(legs):
            _check_leg(leg, f"{_SIDE_FIELDS[side]}[{index}]")
    if value <= ZERO:
        raise KontorError(
            codes.NON_POSITIVE_VALUE,
            f"The transaction value must be greater than 0, not {format_amount(value)}.",
            entity_type=_ENTITY,
        )
    resolved = tuple(_resolve_side(side, legs, value) for side, legs in _sides(intent))
    _check_no_leg_on_both_sides(resolved[0], resolved[1])
    if not isinstance(intent.value, Decimal):
        # A value given as int or text (the DSL's integers) is carried on as the Decimal it means.
        intent = msgspec.structs.replace(intent, value=value)
    return ResolvedTransaction(intent=intent, legs=resolved[0] + resolved[1])


def _sides(intent: TransactionIntent) -> tuple[tuple[Side, tuple[LegIntent, ...]], ...]:
    return ((Side.SOURCE, intent.sources), (Side.DESTINATION, intent.destinations))


def _check_leg_counts(intent: TransactionIntent) -> None:
    for side, legs in _sides(intent):
        if len(legs) > limits.LEGS_PER_SIDE_MAX:
            raise KontorError(
                codes.INVALID_FIELD,
                f"The field '{_SIDE_FIELDS[side]}' has more than {limits.LEGS_PER_SIDE_MAX} entries.",
                entity_type=_ENTITY,
            )


def _check_leg(leg: LegIntent, field: str) -> None:
    """Guards: a leg says how much it takes in exactly one way, with bounded numbers."""
    forms = (leg.amount is not None) + (leg.share is not None) + bool(leg.remaining)
    if forms != 1:
        raise KontorError(
            codes.INVALID_LEG_AMOUNT_FORM,
            f"The entry '{field}' ({leg.alias}) must have exactly one of amount, share or remaining.",
            entity_type=_ENTITY,
        )
    if leg.amount is not None:
        parse_amount(leg.amount, f"{field}.amount.value", entity_type=_ENTITY)
    if leg.share is not None:
        _check_percentage(leg.share.percentage, f"{field}.share.percentage")
        _check_percentage(leg.share.percentage_of_percentage, f"{field}.share.percentageOfPercentage")


def _check_percentage(percentage: int, field: str) -> None:
    # A negative share would turn a source into a receiver while the sums still balance; Midaz
    # reads percentages as int64, which also bounds the exact share computation.
    valid = isinstance(percentage, int) and not isinstance(percentage, bool)
    if not valid or not 0 <= percentage <= limits.SHARE_PERCENTAGE_MAX:
        raise KontorError(
            codes.INVALID_FIELD,
            f"The field '{field}' must be an integer from 0 to {limits.SHARE_PERCENTAGE_MAX}.",
            entity_type=_ENTITY,
        )


def _resolve_side(side: Side, legs: Sequence[LegIntent], value: Decimal) -> tuple[ResolvedLeg, ...]:
    """Guards: a side's legs are all non-negative and add up exactly to the value (``0073``)."""
    resolved: list[ResolvedLeg] = []
    total = ZERO
    with exact():
        for index, leg in enumerate(legs):
            amount = _leg_amount(leg, value, total)
            resolved.append(ResolvedLeg(side, index, leg.alias, leg.balance_key, amount, leg))
            total += amount
    if total != value or any(leg.amount < ZERO for leg in resolved):
        raise KontorError(
            codes.TRANSACTION_VALUE_MISMATCH,
            f"The {side.value} legs add up to {_describe(resolved)}, but the transaction value is "
            f"{format_amount(value)}.",
            entity_type=_ENTITY,
        )
    return tuple(resolved)


def _leg_amount(leg: LegIntent, value: Decimal, earlier_total: Decimal) -> Decimal:
    """One leg's amount; runs inside the exact context."""
    if leg.share is not None:
        return _share_of(value, leg.share)
    if leg.amount is not None:
        # Midaz ignores a zero or negative amount: the leg stays, moving nothing.
        amount = parse_amount(leg.amount, "amount.value")
        return amount if amount > ZERO else ZERO
    invariant(leg.remaining, "a leg without amount or share must be a remaining leg")
    return value - earlier_total


def _share_of(value: Decimal, share: Share) -> Decimal:
    """``value × percentage/100 × percentageOfPercentage/100``; dividing by 100 is always exact."""
    of_percentage = share.percentage_of_percentage or 100
    return value * share.percentage * of_percentage / (_PERCENT * _PERCENT)


def _describe(legs: Sequence[ResolvedLeg]) -> str:
    if any(leg.amount < ZERO for leg in legs):
        return "more than the value before a remaining leg"
    with exact():
        total = sum((leg.amount for leg in legs), ZERO)
    return format_amount(total)


def _check_no_leg_on_both_sides(sources: Sequence[ResolvedLeg], destinations: Sequence[ResolvedLeg]) -> None:
    """Guards: one balance may not pay itself at the same position on both sides (``0090``)."""
    for source, destination in zip(sources, destinations, strict=False):
        if (source.alias, source.balance_key) == (destination.alias, destination.balance_key):
            raise KontorError(
                codes.SAME_SOURCE_AND_DESTINATION,
                f"The balance {source.alias}#{source.balance_key} is both source and destination at index "
                f"{source.index}.",
                entity_type=_ENTITY,
            )


def _distinct(items: Iterable[_T]) -> tuple[_T, ...]:
    return tuple(dict.fromkeys(items))
