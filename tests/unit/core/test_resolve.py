"""Resolution: leg amounts from amount/share/remaining, exactness, and each rejection in its order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kontor.core import LegIntent, Share, Side, TransactionIntent, exact, limits, resolve
from kontor.errors import Code, KontorError, codes

from .builders import D, amount, remaining, send, share


def resolved_amounts(intent: TransactionIntent) -> tuple[list[str], list[str]]:
    tx = resolve(intent)
    return [str(leg.amount) for leg in tx.sources], [str(leg.amount) for leg in tx.destinations]


def rejected(intent: TransactionIntent, code: Code) -> KontorError:
    with pytest.raises(KontorError) as caught:
        resolve(intent)
    assert caught.value.code is code, caught.value.detail
    assert caught.value.entity_type == "Transaction"
    return caught.value


# --- amounts, shares, remaining -------------------------------------------------------------------


def test_amount_legs_resolve_to_their_amounts() -> None:
    intent = send("100", [amount("@alice", "100")], [amount("@bob", "98"), amount("@fees", "2")])
    assert resolved_amounts(intent) == (["100"], ["98", "2"])


def test_shares_are_percentages_of_the_value() -> None:
    intent = send("250", [share("@a", 60), share("@b", 40)], [share("@c", 100)])
    sources, destinations = resolved_amounts(intent)
    assert [Decimal(s) for s in sources] == [150, 100]
    assert [Decimal(d) for d in destinations] == [250]


def test_percentage_of_percentage_scales_a_share() -> None:
    # 50 % of 50 % of 200 is 50; percentageOfPercentage 0 means 100.
    intent = send("200", [share("@a", 50, 50), share("@b", 75, 0), remaining("@c")], [remaining("@d")])
    sources, destinations = resolved_amounts(intent)
    assert [Decimal(s) for s in sources] == [50, 150, 0]
    assert [Decimal(d) for d in destinations] == [200]


def test_percentage_of_percentage_above_100_is_a_valid_scale() -> None:
    # 10 % of 200 % is 20 %: unusual, but it balances, so Midaz accepts it.
    sources, _ = resolved_amounts(send("50", [share("@a", 10, 200), remaining("@b")], [amount("@c", "50")]))
    assert [Decimal(s) for s in sources] == [10, 40]


def test_remaining_takes_what_earlier_legs_of_its_side_left() -> None:
    intent = send("100", [amount("@a", "30"), remaining("@b")], [share("@c", 25), remaining("@d"), remaining("@e")])
    sources, destinations = resolved_amounts(intent)
    assert [Decimal(s) for s in sources] == [30, 70]
    # A second remaining leg finds nothing left: it resolves to zero and stays.
    assert [Decimal(d) for d in destinations] == [25, 75, 0]


def test_shares_are_exact_with_many_decimal_places() -> None:
    tiny = "0." + "0" * 29 + "1"  # the finest amount allowed: 1e-30
    intent = send(tiny, [share("@a", 33), remaining("@b")], [share("@c", 1, 1), remaining("@d")])
    tx = resolve(intent)
    a, b = (leg.amount for leg in tx.sources)
    c, d = (leg.amount for leg in tx.destinations)
    assert a == Decimal("33E-32") and b == Decimal("67E-32")
    assert c == Decimal("1E-34") and d == Decimal("9999E-34")
    assert a + b == c + d == D(tiny)


def test_shares_of_a_wide_value_are_exact() -> None:
    value = "123456789012345678901234567890.123456789012345678901234567891"
    tx = resolve(send(value, [share("@a", 37, 13), remaining("@b")], [share("@c", 99, 99), remaining("@d")]))
    with exact():  # the default context would round these 60-digit products
        assert tx.sources[0].amount * 10000 == D(value) * 37 * 13
        assert tx.destinations[0].amount * 10000 == D(value) * 99 * 99
        assert sum(leg.amount for leg in tx.sources) == D(value)
        assert sum(leg.amount for leg in tx.destinations) == D(value)


@pytest.mark.parametrize("ignored", ["0", "-5", "0.00"])
def test_zero_or_negative_amount_legs_resolve_to_zero_and_stay(ignored: str) -> None:
    intent = send("10", [amount("@a", "10"), amount("@z", ignored)], [amount("@b", "10")])
    tx = resolve(intent)
    assert [(leg.alias, leg.amount) for leg in tx.sources] == [("@a", 10), ("@z", 0)]


def test_legs_carry_side_index_key_and_intent() -> None:
    source = LegIntent("@a", "savings", amount=D("5"), description="d", metadata={"k": "v"}, route_id="r")
    tx = resolve(send("5", [source], [amount("@b", "5")]))
    leg = tx.legs[0]
    assert (leg.side, leg.index, leg.alias, leg.balance_key, leg.amount) == (Side.SOURCE, 0, "@a", "savings", 5)
    assert leg.intent is source
    assert tx.legs[1].side is Side.DESTINATION and tx.legs[1].index == 0


def test_transaction_helpers_list_legs_aliases_and_balances() -> None:
    intent = send(
        "10",
        [amount("@a", "4"), amount("@a", "3", key="savings"), amount("@b", "3")],
        [amount("@c", "5"), amount("@a", "5", key="other")],
    )
    tx = resolve(intent)
    assert [leg.alias for leg in tx.sources] == ["@a", "@a", "@b"]
    assert [leg.alias for leg in tx.destinations] == ["@c", "@a"]
    assert tx.aliases == ("@a", "@b", "@c")
    assert tx.source_aliases == ("@a", "@b")
    assert tx.destination_aliases == ("@c", "@a")
    assert tx.balance_refs == (
        ("@a", "default"),
        ("@a", "savings"),
        ("@b", "default"),
        ("@c", "default"),
        ("@a", "other"),
    )
    assert tx.asset == "BRL" and tx.value == 10


# --- rejections, each with its precedence ---------------------------------------------------------


@pytest.mark.parametrize(
    "leg",
    [
        LegIntent("@a"),
        LegIntent("@a", amount=D("10"), share=Share(100)),
        LegIntent("@a", amount=D("10"), remaining=True),
        LegIntent("@a", share=Share(100), remaining=True),
        LegIntent("@a", amount=D("10"), share=Share(100), remaining=True),
    ],
)
def test_a_leg_needs_exactly_one_amount_form(leg: LegIntent) -> None:
    error = rejected(send("10", [leg], [amount("@b", "10")]), codes.INVALID_LEG_AMOUNT_FORM)
    assert "send.source.from[0]" in error.detail


def test_leg_form_is_checked_on_destinations_too() -> None:
    error = rejected(
        send("10", [amount("@a", "10")], [amount("@b", "5"), LegIntent("@c")]), codes.INVALID_LEG_AMOUNT_FORM
    )
    assert "send.distribute.to[1]" in error.detail


def test_leg_form_comes_before_the_value_check() -> None:
    rejected(send("0", [LegIntent("@a")], [amount("@b", "0")]), codes.INVALID_LEG_AMOUNT_FORM)


@pytest.mark.parametrize("value", ["0", "-1", "0.000", "-0.01"])
def test_value_must_be_positive(value: str) -> None:
    rejected(send(value, [amount("@a", value)], [amount("@b", value)]), codes.NON_POSITIVE_VALUE)


def test_value_check_comes_before_the_balance_check() -> None:
    rejected(send("0", [amount("@a", "5")], [amount("@b", "7")]), codes.NON_POSITIVE_VALUE)


@pytest.mark.parametrize(
    ("sources", "destinations"),
    [
        ([amount("@a", "99")], [amount("@b", "100")]),
        ([amount("@a", "100")], [amount("@b", "60"), amount("@c", "30")]),
        ([amount("@a", "100"), amount("@x", "1")], [amount("@b", "100")]),
        ([share("@a", 150)], [amount("@b", "100")]),
        ([share("@a", 60), share("@x", 30)], [remaining("@b")]),
        ([amount("@a", "100")], [amount("@b", "100.0000000001")]),
        ([], [amount("@b", "100")]),
        ([amount("@a", "100")], []),
        ([amount("@a", "-100"), amount("@x", "200")], [amount("@b", "100")]),
    ],
)
def test_sides_must_add_up_to_the_value(sources: list[LegIntent], destinations: list[LegIntent]) -> None:
    rejected(send("100", sources, destinations), codes.TRANSACTION_VALUE_MISMATCH)


def test_a_remaining_leg_cannot_be_negative() -> None:
    # 150 % then remaining would sum to the value, but the remaining leg would be -50.
    error = rejected(
        send("100", [share("@a", 150), remaining("@b")], [amount("@c", "100")]), codes.TRANSACTION_VALUE_MISMATCH
    )
    assert "source" in error.detail


def test_mismatch_detail_names_the_side_and_the_sums() -> None:
    error = rejected(send("100", [amount("@a", "100")], [amount("@b", "60.50")]), codes.TRANSACTION_VALUE_MISMATCH)
    assert error.detail == "The destination legs add up to 60.5, but the transaction value is 100."


def test_same_balance_at_the_same_index_on_both_sides_is_refused() -> None:
    intent = send("10", [amount("@a", "4"), amount("@b", "6")], [amount("@c", "4"), amount("@b", "6")])
    error = rejected(intent, codes.SAME_SOURCE_AND_DESTINATION)
    assert "@b#default" in error.detail and "index 1" in error.detail


def test_same_alias_with_another_key_or_index_is_allowed() -> None:
    resolve(send("10", [amount("@a", "10")], [amount("@a", "10", key="savings")]))
    resolve(send("10", [amount("@a", "5"), amount("@b", "5")], [amount("@b", "5"), amount("@a", "5")]))


def test_balance_check_comes_before_the_same_index_check() -> None:
    rejected(send("10", [amount("@a", "10")], [amount("@a", "9")]), codes.TRANSACTION_VALUE_MISMATCH)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("1" + "0" * 30), Decimal("1E-31")])
def test_value_out_of_bounds_is_an_invalid_field(value: Decimal) -> None:
    intent = TransactionIntent("BRL", value, (LegIntent("@a"),), (amount("@b", "1"),))
    error = rejected(intent, codes.INVALID_FIELD)  # before the leg-form check
    assert "send.value" in error.detail


def test_leg_amount_out_of_bounds_is_an_invalid_field() -> None:
    error = rejected(send("1", [amount("@a", "1")], [amount("@b", "1E-40")]), codes.INVALID_FIELD)
    assert "send.distribute.to[0].amount.value" in error.detail


@pytest.mark.parametrize(
    ("leg", "field"),
    [
        (share("@a", -10), "share.percentage"),
        (share("@a", 10, -1), "share.percentageOfPercentage"),
        (share("@a", limits.SHARE_PERCENTAGE_MAX + 1), "share.percentage"),
        (LegIntent("@a", share=Share(True)), "share.percentage"),  # type: ignore[arg-type]
    ],
)
def test_share_percentages_are_bounded_non_negative_integers(leg: LegIntent, field: str) -> None:
    error = rejected(send("10", [leg], [amount("@b", "10")]), codes.INVALID_FIELD)
    assert f"send.source.from[0].{field}" in error.detail


def test_the_largest_percentages_stay_exact_and_unbalanced() -> None:
    top = limits.SHARE_PERCENTAGE_MAX
    intent = send("9" * 30 + "." + "9" * 30, [share("@a", top, top)], [remaining("@b")])
    rejected(intent, codes.TRANSACTION_VALUE_MISMATCH)


def test_legs_per_side_are_bounded() -> None:
    many = [amount(f"@a{i}", "1") for i in range(limits.LEGS_PER_SIDE_MAX + 1)]
    error = rejected(send(len(many), many, [remaining("@b")]), codes.INVALID_FIELD)
    assert "send.source.from" in error.detail
    resolve(send(len(many) - 1, many[:-1], [remaining("@b")]))


def test_values_given_as_int_or_text_resolve_to_decimals() -> None:
    # The DSL produces integers; the write funnel may pass text through unchanged.
    intent = TransactionIntent("BRL", 100, (LegIntent("@a", amount="100.50"), remaining("@c")), (remaining("@b"),))  # type: ignore[arg-type]
    rejected(intent, codes.TRANSACTION_VALUE_MISMATCH)
    intent = TransactionIntent("BRL", 100, (LegIntent("@a", amount="60.50"), remaining("@c")), (remaining("@b"),))  # type: ignore[arg-type]
    tx = resolve(intent)
    assert isinstance(tx.value, Decimal) and tx.value == 100
    assert [leg.amount for leg in tx.legs] == [Decimal("60.5"), Decimal("39.5"), Decimal(100)]
