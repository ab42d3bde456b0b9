"""Exact money: parsing bounds, Midaz-style formatting, and arithmetic that never rounds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kontor.core import limits
from kontor.core.money import exact, format_amount, parse_amount
from kontor.errors import InvariantViolation, KontorError, codes


def rejects(value: object, field: str = "send.value") -> KontorError:
    with pytest.raises(KontorError) as caught:
        parse_amount(value, field)  # type: ignore[arg-type]
    assert caught.value.code is codes.INVALID_FIELD
    assert field in caught.value.detail
    return caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("100.50", "100.5"),
        ("100", "100"),
        (100, "100"),
        (Decimal("100.500"), "100.5"),
        ("0", "0"),
        ("-0", "0"),
        ("0.000", "0"),
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-12.340", "-12.34"),
        ("1e3", "1000"),
        ("1E+3", "1000"),
        ("12.5e-2", "0.125"),
        ("0e999999", "0"),
    ],
)
def test_parse_amount_reads_plain_decimals(raw: object, expected: str) -> None:
    parsed = parse_amount(raw, "value")  # type: ignore[arg-type]
    assert parsed == Decimal(expected)
    assert str(parsed) == expected


def test_parse_amount_result_is_canonical() -> None:
    parsed = parse_amount(Decimal("1E+3"), "value")
    assert parsed.as_tuple().exponent == 0
    assert str(parse_amount("2.500", "value")) == "2.5"


@pytest.mark.parametrize(
    "raw",
    [
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("-Infinity"),
        "",
        " 1",
        "1 ",
        "1_000",
        "1,5",
        ".",
        "-",
        "e5",
        "1e",
        "0x10",
        "١٢٣",
        "1e1234567890",
    ],
)
def test_parse_amount_rejects_what_is_not_a_finite_decimal(raw: object) -> None:
    rejects(raw)


@pytest.mark.parametrize("raw", [1.5, True, False, None, [1], b"1"])
def test_parse_amount_rejects_non_exact_types(raw: object) -> None:
    rejects(raw, "send.source.from[0].amount.value")


def test_parse_amount_bounds_integer_digits() -> None:
    widest = "9" * limits.AMOUNT_INTEGER_DIGITS_MAX
    assert parse_amount(widest, "v") == Decimal(widest)
    assert parse_amount("-" + widest, "v") == Decimal("-" + widest)
    assert "integer digits" in rejects("1" + "0" * limits.AMOUNT_INTEGER_DIGITS_MAX).detail
    assert "integer digits" in rejects(f"1e{limits.AMOUNT_INTEGER_DIGITS_MAX}").detail
    assert parse_amount(f"1e{limits.AMOUNT_INTEGER_DIGITS_MAX - 1}", "v") == 10 ** (
        limits.AMOUNT_INTEGER_DIGITS_MAX - 1
    )
    rejects(10**limits.AMOUNT_INTEGER_DIGITS_MAX)
    rejects(Decimal("1E+999999999"))


def test_parse_amount_bounds_scale_by_significant_places() -> None:
    finest = "0." + "0" * (limits.AMOUNT_SCALE_MAX - 1) + "1"
    assert parse_amount(finest, "v") == Decimal(finest)
    assert "decimal places" in rejects("0." + "0" * limits.AMOUNT_SCALE_MAX + "1").detail
    assert "decimal places" in rejects(f"1e-{limits.AMOUNT_SCALE_MAX + 1}").detail
    # Trailing zeros carry no value, so they do not count against the scale.
    assert parse_amount("1." + "0" * (limits.AMOUNT_SCALE_MAX + 10), "v") == 1
    assert parse_amount(Decimal("0E-99999"), "v") == 0


def test_parse_amount_keeps_the_widest_value_exact() -> None:
    text = "9" * limits.AMOUNT_INTEGER_DIGITS_MAX + "." + "9" * limits.AMOUNT_SCALE_MAX
    assert format_amount(parse_amount(text, "v")) == text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("100.50"), "100.5"),
        (Decimal("110.00"), "110"),
        (Decimal("0E-8"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-5.5"), "-5.5"),
        (Decimal("-5.50"), "-5.5"),
        (Decimal("-0"), "0"),
        (Decimal("-0.00"), "0"),
        (Decimal("1.23E-10"), "0.000000000123"),
        (
            Decimal("12345678901234567890.123456789012345678901234567890"),
            "12345678901234567890.12345678901234567890123456789",
        ),
        (Decimal(10) ** 40, "1" + "0" * 40),
    ],
)
def test_format_amount_trims_and_never_uses_exponents(value: Decimal, expected: str) -> None:
    assert format_amount(value) == expected


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), 1.5])
def test_format_amount_refuses_non_amounts(value: object) -> None:
    with pytest.raises(InvariantViolation):
        format_amount(value)  # type: ignore[arg-type]


def test_exact_context_turns_rounding_into_an_invariant_violation() -> None:
    with pytest.raises(InvariantViolation), exact():
        Decimal(1) / Decimal(3)
    with exact():
        wide = Decimal("9" * 60) + Decimal("0." + "0" * 59 + "1")
    assert format_amount(wide) == "9" * 60 + ".0" + "0" * 58 + "1"
    with exact():
        assert Decimal("10.25") / Decimal(100) == Decimal("0.1025")
