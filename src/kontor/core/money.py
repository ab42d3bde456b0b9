"""Exact money: parsing amounts at the edge, exact arithmetic inside, trimmed strings on the wire.

Amounts are ``decimal.Decimal`` and never floats. Inputs are bounded (``limits.AMOUNT_*``) so
that every sum and product the core computes fits :data:`EXACT` without rounding; the context traps
``Inexact`` and ``Rounded``, and :func:`exact` turns any such trap into an ``InvariantViolation``,
because a rounded amount is a bug, never an outcome.
"""

from __future__ import annotations

import functools
import re
from decimal import (
    Clamped,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    getcontext,
    setcontext,
)

from kontor.core import limits
from kontor.errors import InvariantViolation, KontorError, codes

# Bounded amounts have at most 60 significant digits, a share multiplies one by two int64
# percentages (about 38 more digits), and balances accumulate sums: 200 digits leave a wide margin,
# and exceeding them traps instead of rounding.
EXACT_PRECISION = 200

EXACT = Context(
    prec=EXACT_PRECISION,
    Emax=999_999,
    Emin=-999_999,
    traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow, Underflow, Subnormal, Clamped],
)

ZERO = Decimal(0)

# A plain decimal literal, ASCII digits only: Python's Decimal() would also take "NaN", "Infinity",
# "1_000", surrounding whitespace and non-ASCII digits, none of which is an amount on the wire.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
# Exponents are read before the bounds check, so their text is bounded first.
_EXPONENT_DIGITS_MAX = 9


class exact:  # noqa: N801 - used as a function: ``with exact(): ...``
    """Run a block in the exact context: any rounding, overflow or invalid operation is a bug.

    Guards: money arithmetic never rounds silently; it raises ``InvariantViolation`` instead.
    Swaps the shared exact context in and out rather than copying it: decimal contexts are
    per task (contextvars), and the blocks it guards never await.
    """

    __slots__ = ("_saved",)

    def __enter__(self) -> None:
        self._saved = getcontext()
        setcontext(EXACT)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _: object) -> None:
        setcontext(self._saved)
        if isinstance(error, DecimalException):
            raise InvariantViolation(f"decimal arithmetic was not exact: {error!r}") from error


def parse_amount(value: Decimal | int | str, field: str, *, entity_type: str | None = None) -> Decimal:
    """Read an amount from the wire or the DSL as an exact, bounded ``Decimal``.

    Guards: an amount is a finite decimal with at most ``AMOUNT_INTEGER_DIGITS_MAX`` integer digits
    and ``AMOUNT_SCALE_MAX`` significant decimal places; anything else (floats, booleans, NaN,
    Infinity, malformed text) is answered 400 ``0047`` naming ``field``. Sign is not checked here:
    a zero or negative amount has a meaning that the caller decides. The result is canonical: no
    exponent above zero and no trailing fractional zeros. ``entity_type`` is passed on to the error.
    """
    try:
        if type(value) is str:
            return _parsed_text(value)
        number = _to_decimal(value)
        if not number.is_finite():
            raise _NotAnAmount("must be a finite number")
        return _bounded_finite(number)
    except _NotAnAmount as reason:
        raise KontorError(codes.INVALID_FIELD, f"The field '{field}' {reason}.", entity_type=entity_type) from None


def format_amount(d: Decimal) -> str:
    """Write an amount as Midaz does: plain digits, trailing zeros trimmed, never an exponent.

    Guards: the wire shows ``"100.5"`` for ``Decimal("100.50")``, ``"1000"`` for ``Decimal("1E+3")``
    and ``"0"`` for any zero; the value itself is never rounded.
    """
    invariant_finite(d)
    return _plain(d)


# Amounts repeat (the same few values in most transfers, each written several times per answer):
# parsing and formatting are pure, so their results are kept. Equal decimals format alike (the
# text is trimmed), so a cache keyed by value is exact.
@functools.lru_cache(maxsize=8192)
def _plain(d: Decimal) -> str:
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@functools.lru_cache(maxsize=8192)
def _parsed_text(text: str) -> Decimal:
    return _bounded(_decimal_from_text(text))


@functools.lru_cache(maxsize=8192)
def _bounded_finite(number: Decimal) -> Decimal:
    # Keyed by value: equal decimals ("1.0", "1") have one canonical form and the same bounds.
    return _bounded(number)


def invariant_finite(d: Decimal) -> None:
    """Raise ``InvariantViolation`` unless ``d`` is a finite ``Decimal`` (never a float or NaN)."""
    if not isinstance(d, Decimal) or not d.is_finite():
        raise InvariantViolation(f"not a finite Decimal amount: {d!r}")


class _NotAnAmount(ValueError):
    """Why a value is not an amount; :func:`parse_amount` names the field and the entity."""


def _to_decimal(value: Decimal | int | str) -> Decimal:
    # bool is an int subclass and float is not exact: neither is an amount.
    if isinstance(value, bool):
        raise _NotAnAmount("must be a number, not a boolean")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return _decimal_from_text(value)
    raise _NotAnAmount(f"must be a decimal number, not {type(value).__name__}")


def _decimal_from_text(text: str) -> Decimal:
    match = _DECIMAL_TEXT.fullmatch(text)
    if match is None:
        raise _NotAnAmount("must be a decimal number")
    exponent = text.lower().partition("e")[2]
    if len(exponent.lstrip("+-")) > _EXPONENT_DIGITS_MAX:
        raise _NotAnAmount("has an exponent out of range")
    return Decimal(text)


def _bounded(number: Decimal) -> Decimal:
    """Check the amount's integer digits and scale from its digits alone, so no huge value is built."""
    if not number.is_finite():
        raise _NotAnAmount("must be a finite number")
    sign, digits, exponent = _trimmed(number)
    if not digits:
        return ZERO
    integer_digits = max(0, len(digits) + exponent)
    scale = max(0, -exponent)
    if integer_digits > limits.AMOUNT_INTEGER_DIGITS_MAX:
        raise _NotAnAmount(f"has more than {limits.AMOUNT_INTEGER_DIGITS_MAX} integer digits")
    if scale > limits.AMOUNT_SCALE_MAX:
        raise _NotAnAmount(f"has more than {limits.AMOUNT_SCALE_MAX} decimal places")
    return _rebuild(sign, digits, exponent)


def _canonical(d: Decimal) -> Decimal:
    sign, digits, exponent = _trimmed(d)
    if not digits:
        return ZERO
    return _rebuild(sign, digits, exponent)


def _trimmed(d: Decimal) -> tuple[int, tuple[int, ...], int]:
    """Sign, significant digits without leading or trailing zeros, and the matching exponent."""
    sign, digits, raw_exponent = d.as_tuple()
    start = 0
    while start < len(digits) and digits[start] == 0:
        start += 1
    end = len(digits)
    while end > start and digits[end - 1] == 0:
        end -= 1
    return sign, digits[start:end], int(raw_exponent) + len(digits) - end


def _rebuild(sign: int, digits: tuple[int, ...], exponent: int) -> Decimal:
    # A positive exponent is spelled out as zeros so that str() and arithmetic never see "1E+3".
    if exponent > 0:
        return Decimal((sign, digits + (0,) * exponent, 0))
    return Decimal((sign, digits, exponent))
