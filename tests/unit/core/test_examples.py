"""Worked accounting examples, read as a ledger clerk would: balances before, the transaction, after.

Every example ends with the whole ledger still balanced: the credit-direction balances (what
customers hold) equal the debit-direction ones (what came in from outside), on hold included.
"""

from __future__ import annotations

from decimal import Decimal

from kontor.core import Action, BalanceState, exact, format_amount, resolve
from kontor.errors import KontorError, codes

from .builders import Book, amount, balance, book, external, post, remaining, send, share


def net(states: Book) -> Decimal:
    """Credit-direction balances count positive, debit-direction negative; on_hold always positive."""
    with exact():
        return sum((_signed(state) for state in states.values()), Decimal(0))


def _signed(state: BalanceState) -> Decimal:
    sign = 1 if state.direction == "credit" else -1
    return sign * state.available + state.on_hold


def shown(states: Book) -> dict[str, tuple[str, str]]:
    return {f"{a}": (format_amount(s.available), format_amount(s.on_hold)) for (a, _), s in states.items()}


def funded(**holdings: str) -> Book:
    """A ledger where each alias received its holding from @external/BRL, so it nets to zero."""
    total = sum((Decimal(value) for value in holdings.values()), Decimal(0))
    states = book(external(available=str(total)), *(balance(alias, value) for alias, value in holdings.items()))
    assert net(states) == 0
    return states


def test_p2p_payment_with_a_fee() -> None:
    states = funded(**{"@alice": "500", "@bob": "20", "@fees": "0"})
    intent = send("100", [amount("@alice", "100")], [amount("@bob", "98"), amount("@fees", "2")])
    operations = post(intent, Action.CREATE, states)

    assert [(op.alias, op.type, format_amount(op.amount)) for op in operations] == [
        ("@alice", "DEBIT", "100"),
        ("@bob", "CREDIT", "98"),
        ("@fees", "CREDIT", "2"),
    ]
    assert shown(states) == {
        "@external/BRL": ("520", "0"),
        "@alice": ("400", "0"),
        "@bob": ("118", "0"),
        "@fees": ("2", "0"),
    }
    assert net(states) == 0


def test_marketplace_payout_from_several_sources_to_several_destinations() -> None:
    states = funded(**{"@escrow": "1000", "@promo": "80", "@seller-a": "0", "@seller-b": "0", "@platform": "0"})
    states.update(book(balance("@tax")))
    intent = send(
        "750",
        [amount("@escrow", "700"), remaining("@promo")],
        [
            share("@seller-a", 60),  # 450
            share("@seller-b", 30),  # 225
            share("@platform", 10, 80),  # 8 % of 750 = 60
            remaining("@tax"),  # 15
        ],
    )
    tx = resolve(intent)
    assert [format_amount(leg.amount) for leg in tx.legs] == ["700", "50", "450", "225", "60", "15"]
    post(intent, Action.CREATE, states)
    assert shown(states) == {
        "@external/BRL": ("1080", "0"),
        "@escrow": ("300", "0"),
        "@promo": ("30", "0"),
        "@seller-a": ("450", "0"),
        "@seller-b": ("225", "0"),
        "@platform": ("60", "0"),
        "@tax": ("15", "0"),
    }
    assert net(states) == 0


def test_shares_with_remaining_split_an_awkward_value_exactly() -> None:
    states = funded(**{"@pool": "33.33", "@a": "0", "@b": "0", "@c": "0", "@dust": "0"})
    intent = send(
        "33.33", [share("@pool", 100)], [share("@a", 33), share("@b", 33), share("@c", 33), remaining("@dust")]
    )
    post(intent, Action.CREATE, states)
    # A third of 33.33 is not a finite decimal; 33 % is, and the remainder lands on one leg, unrounded.
    assert [shown(states)[alias][0] for alias in ("@a", "@b", "@c", "@dust")] == [
        "10.9989",
        "10.9989",
        "10.9989",
        "0.3333",
    ]
    assert shown(states)["@pool"] == ("0", "0")
    assert net(states) == 0


def test_one_short_leg_rejects_the_whole_transaction() -> None:
    states = funded(**{"@alice": "60", "@bob": "5", "@carol": "0"})
    before = shown(states)
    intent = send("70", [amount("@alice", "60"), amount("@bob", "10")], [amount("@carol", "70")])
    try:
        post(intent, Action.CREATE, states)
    except KontorError as error:
        assert error.code is codes.INSUFFICIENT_FUNDS and "@bob#default" in error.detail
    else:
        raise AssertionError("the transaction should have been refused")
    assert shown(states) == before  # @alice's 60, debited first in memory, is untouched


def test_pending_then_commit() -> None:
    states = funded(**{"@alice": "1000", "@bob": "0"})
    hold = send("300", [amount("@alice", "300")], [amount("@bob", "300")])

    held = post(hold, Action.PENDING, states)
    assert [(op.alias, op.type) for op in held] == [("@alice", "ON_HOLD")]
    assert shown(states)["@alice"] == ("700", "300") and shown(states)["@bob"] == ("0", "0")
    assert net(states) == 0

    committed = post(hold, Action.COMMIT, states)
    assert [(op.alias, op.type, op.direction) for op in committed] == [
        ("@alice", "DEBIT", "debit"),
        ("@bob", "CREDIT", "credit"),
    ]
    assert shown(states)["@alice"] == ("700", "0") and shown(states)["@bob"] == ("300", "0")
    assert states[("@alice", "default")].version == 2  # held, then committed
    assert net(states) == 0


def test_pending_then_cancel() -> None:
    states = funded(**{"@alice": "1000", "@bob": "0"})
    hold = send("300", [amount("@alice", "300")], [amount("@bob", "300")])
    post(hold, Action.PENDING, states)

    canceled = post(hold, Action.CANCEL, states)
    assert [(op.alias, op.type, op.direction) for op in canceled] == [("@alice", "RELEASE", "credit")]
    assert shown(states)["@alice"] == ("1000", "0") and shown(states)["@bob"] == ("0", "0")
    assert states[("@bob", "default")].version == 0
    assert net(states) == 0


def test_held_funds_cannot_be_spent_twice() -> None:
    states = funded(**{"@alice": "100", "@bob": "0"})
    post(send("80", [amount("@alice", "80")], [amount("@bob", "80")]), Action.PENDING, states)
    try:
        post(send("30", [amount("@alice", "30")], [amount("@bob", "30")]), Action.CREATE, states)
    except KontorError as error:
        assert error.code is codes.INSUFFICIENT_FUNDS
    else:
        raise AssertionError("the held funds were spent")


def test_inflow_then_outflow_through_the_external_account() -> None:
    states = book(external(), balance("@alice"))
    post(send("250.75", [amount("@external/BRL", "250.75")], [amount("@alice", "250.75")]), Action.CREATE, states)
    assert shown(states) == {"@external/BRL": ("250.75", "0"), "@alice": ("250.75", "0")}
    post(send("250.75", [amount("@alice", "250.75")], [amount("@external/BRL", "250.75")]), Action.CREATE, states)
    assert shown(states) == {"@external/BRL": ("0", "0"), "@alice": ("0", "0")}
    assert [state.version for state in states.values()] == [2, 2]


def test_an_annotation_records_without_moving_money() -> None:
    states = funded(**{"@alice": "10", "@bob": "0"})
    before = shown(states)
    operations = post(send("500", [amount("@alice", "500")], [amount("@bob", "500")]), Action.ANNOTATE, states)
    assert [(op.type, op.balance_affected) for op in operations] == [("DEBIT", False), ("CREDIT", False)]
    assert shown(states) == before
