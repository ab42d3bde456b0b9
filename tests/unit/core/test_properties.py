"""Properties over random ledgers and transactions: balance, conservation, no overdraft, no partial writes."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kontor.core import (
    Action,
    BalanceState,
    LegIntent,
    OperationDraft,
    ResolvedTransaction,
    Share,
    Side,
    TransactionIntent,
    apply,
    exact,
    format_amount,
    limits,
    parse_amount,
    resolve,
)
from kontor.core.money import EXACT
from kontor.errors import KontorError

from .builders import Book, balance

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ALIASES = ("@a", "@b", "@c", "@d", "@e")
KEYS = ("default", "savings")


def decimals(max_units: int, max_scale: int = 4, min_units: int = 0) -> st.SearchStrategy[Decimal]:
    """Exact decimals: an integer count of 10**-scale units."""
    return st.builds(
        lambda units, scale: Decimal((0 if units >= 0 else 1, tuple(int(c) for c in str(abs(units))), -scale)),
        st.integers(min_units, max_units),
        st.integers(0, max_scale),
    )


@st.composite
def balance_states(draw: st.DrawFn, alias: str, key: str) -> BalanceState:
    is_external = alias == "@e"
    return balance(
        alias,
        str(draw(decimals(10**7, min_units=-(10**7) if is_external else 0))),
        key=key,
        on_hold=str(draw(st.one_of(st.just(Decimal(0)), decimals(10**5)))),
        direction="debit" if is_external else draw(st.sampled_from(["credit", "credit", "debit"])),
        account_type="external" if is_external else "deposit",
        asset="USD" if draw(st.integers(0, 40)) == 0 else "BRL",
        allow_sending=draw(st.integers(0, 20)) > 0,
        allow_receiving=draw(st.integers(0, 20)) > 0,
        version=draw(st.integers(0, 5)),
    )


@st.composite
def ledgers(draw: st.DrawFn) -> Book:
    refs = draw(st.lists(st.sampled_from([(a, k) for a in ALIASES for k in KEYS]), min_size=2, max_size=8, unique=True))
    return {ref: draw(balance_states(*ref)) for ref in refs}


@st.composite
def legs(draw: st.DrawFn, refs: list[tuple[str, str]], value: Decimal) -> tuple[LegIntent, ...]:
    """A side that usually balances: amounts and shares, then a remaining leg; sometimes not."""
    count = draw(st.integers(1, 4))
    drawn: list[LegIntent] = []
    for position in range(count):
        alias, key = draw(st.sampled_from(refs)) if draw(st.integers(0, 30)) else ("@ghost", "default")
        last = position == count - 1
        form = draw(st.sampled_from(["remaining"] * 6 + ["amount", "share", "none"])) if last else None
        form = form or draw(st.sampled_from(["amount", "amount", "share", "share", "zero"]))
        drawn.append(_leg(draw, alias, key, form, value))
    return tuple(drawn)


def _leg(draw: st.DrawFn, alias: str, key: str, form: str, value: Decimal) -> LegIntent:
    if form == "amount":
        return LegIntent(alias, key, amount=draw(st.one_of(decimals(10**6), st.just(value))))
    if form == "zero":
        return LegIntent(alias, key, amount=draw(st.sampled_from([Decimal(0), Decimal(-3)])))
    if form == "share":
        return LegIntent(alias, key, share=Share(draw(st.integers(0, 100)), draw(st.sampled_from([0, 0, 50, 10, 99]))))
    if form == "remaining":
        return LegIntent(alias, key, remaining=True)
    return LegIntent(alias, key)


@st.composite
def balanced_legs(draw: st.DrawFn, refs: list[tuple[str, str]], value: Decimal) -> tuple[LegIntent, ...]:
    """A side that adds up to the value by construction: amounts and shares, then the rest."""
    count = draw(st.integers(1, 4))
    left, drawn = value, []
    with exact():
        for _ in range(count - 1):
            leg = _fitting_leg(draw, draw(st.sampled_from(refs)), value, left)
            drawn.append(leg)
            left -= _resolved_amount(leg, value)
    alias, key = draw(st.sampled_from(refs))
    drawn.append(LegIntent(alias, key, remaining=True) if draw(st.booleans()) else LegIntent(alias, key, amount=left))
    return tuple(drawn)


def _fitting_leg(draw: st.DrawFn, ref: tuple[str, str], value: Decimal, left: Decimal) -> LegIntent:
    """An amount, share or zero leg no larger than what is left; runs in the exact context."""
    alias, key = ref
    form = draw(st.sampled_from(["amount", "amount", "share", "share", "zero"]))
    if form == "share":
        of = draw(st.sampled_from([0, 0, 50, 20]))
        most = int((left * 10000) // (value * (of or 100)))
        return LegIntent(alias, key, share=Share(draw(st.integers(0, min(100, most))), of))
    if form == "amount":
        return LegIntent(alias, key, amount=left * draw(st.integers(0, 10)) / 10)
    return LegIntent(alias, key, amount=draw(st.sampled_from([Decimal(0), Decimal("-3.5")])))


def _resolved_amount(leg: LegIntent, value: Decimal) -> Decimal:
    if leg.share is not None:
        return value * leg.share.percentage * (leg.share.percentage_of_percentage or 100) / 10000
    assert leg.amount is not None
    return max(leg.amount, Decimal(0))


@st.composite
def intents(draw: st.DrawFn, book_: Book) -> TransactionIntent:
    """Mostly transactions that balance by construction; sometimes anything, to exercise refusals."""
    refs = list(book_)
    if draw(st.integers(0, 6)) == 0:
        value = draw(st.one_of(decimals(10**7, min_units=1), st.sampled_from([Decimal(0), Decimal(-1)])))
        return TransactionIntent("BRL", value, draw(legs(refs, value)), draw(legs(refs, value)))
    value = draw(decimals(10**6, min_units=1))
    sources, destinations = draw(balanced_legs(refs, value)), draw(balanced_legs(refs, value))
    return TransactionIntent("BRL", value, sources, _apart(sources, destinations, refs))


def _apart(
    sources: tuple[LegIntent, ...], destinations: tuple[LegIntent, ...], refs: list[tuple[str, str]]
) -> tuple[LegIntent, ...]:
    """Move a destination that faces the same balance at the same index to another balance (0090)."""
    moved = list(destinations)
    for index, (source, destination) in enumerate(zip(sources, destinations, strict=False)):
        taken = (source.alias, source.balance_key)
        if (destination.alias, destination.balance_key) == taken:
            alias, key = next(ref for ref in refs if ref != taken)
            moved[index] = msgspec.structs.replace(destination, alias=alias, balance_key=key)
    return tuple(moved)


# --- helpers that state the invariants ------------------------------------------------------------


def state_of(book_: Book) -> dict[tuple[str, str], tuple[Decimal, Decimal, int, Decimal]]:
    return {ref: (s.available, s.on_hold, s.version, s.overdraft_used) for ref, s in book_.items()}


def net(book_: Book) -> Decimal:
    with exact():
        return sum(
            ((s.available if s.direction == "credit" else -s.available) + s.on_hold for s in book_.values()),
            Decimal(0),
        )


def assert_balanced(tx: ResolvedTransaction) -> None:
    with exact():
        assert sum(leg.amount for leg in tx.sources) == tx.value
        assert sum(leg.amount for leg in tx.destinations) == tx.value
    assert all(leg.amount >= 0 for leg in tx.legs)


def assert_sound(book_: Book) -> None:
    for state in book_.values():
        assert state.on_hold >= 0
        assert state.is_external or state.available >= 0


def assert_operations_chain(operations: list[OperationDraft], before: Book, after: Book) -> None:
    """Each operation starts where the previous one on its balance ended, and ends where the balance is."""
    last: dict[str, tuple[Decimal, Decimal, int]] = {}
    for op in operations:
        if not op.balance_affected:
            continue
        ref = (op.alias, op.balance_key)
        expected = last.get(op.balance_id, state_of(before)[ref][:3])
        assert (op.before.available, op.before.on_hold, op.before.version) == expected
        assert op.after.version == op.before.version + 1
        last[op.balance_id] = (op.after.available, op.after.on_hold, op.after.version)
    bumps = Counter(op.balance_id for op in operations if op.balance_affected)
    for ref, state in after.items():
        assert state.version == state_of(before)[ref][2] + bumps[state.id]
        if state.id in last:
            assert (state.available, state.on_hold, state.version) == last[state.id]


def copy_book(book_: Book) -> Book:
    return {
        ref: BalanceState(**{f: getattr(s, f) for f in BalanceState.__dataclass_fields__}) for ref, s in book_.items()
    }


def attempt(tx: ResolvedTransaction, action: Action, book_: Book) -> list[OperationDraft] | None:
    """Apply and check every invariant; None when refused (then nothing may have changed)."""
    before, before_net = copy_book(book_), net(book_)
    try:
        operations = apply(tx, action, book_)
    except KontorError as error:
        event(f"{action.value}: refused {error.code.code}")
        assert state_of(book_) == state_of(before)
        return None
    event(f"{action.value}: ok")
    assert net(book_) == before_net
    assert_sound(book_)
    assert_operations_chain(operations, before, book_)
    moved = {side: sum((op.amount for op in operations if op.leg.side is side), Decimal(0)) for side in Side}
    assert moved[Side.SOURCE] == tx.value
    assert moved[Side.DESTINATION] == (0 if action in (Action.PENDING, Action.CANCEL) else tx.value)
    if action is Action.ANNOTATE:
        assert state_of(book_) == state_of(before)
    return operations


# --- properties -----------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(data=st.data())
def test_resolution_either_balances_exactly_or_is_refused(data: st.DataObject) -> None:
    intent = data.draw(intents({(a, "default"): balance(a) for a in ALIASES}))
    try:
        tx = resolve(intent)
    except KontorError:
        return
    assert_balanced(tx)
    assert [leg.intent for leg in tx.legs] == [*intent.sources, *intent.destinations]


@PROPERTY_SETTINGS
@given(book_=ledgers(), data=st.data())
def test_posting_conserves_money_and_never_writes_half_a_transaction(book_: Book, data: st.DataObject) -> None:
    assert_sound(book_)
    for _ in range(data.draw(st.integers(1, 4))):
        intent = data.draw(intents(book_))
        try:
            tx = resolve(intent)
        except KontorError as error:
            event(f"resolve: refused {error.code.code}")
            continue
        action = data.draw(st.sampled_from([Action.CREATE, Action.CREATE, Action.PENDING, Action.ANNOTATE]))
        if attempt(tx, action, book_) is not None and action is Action.PENDING:
            # A pending transaction is later committed or canceled against the same ledger.
            attempt(tx, data.draw(st.sampled_from([Action.COMMIT, Action.CANCEL])), book_)


@PROPERTY_SETTINGS
@given(
    units=st.integers(-(10**limits.AMOUNT_INTEGER_DIGITS_MAX) + 1, 10**limits.AMOUNT_INTEGER_DIGITS_MAX - 1),
    scale=st.integers(0, limits.AMOUNT_SCALE_MAX),
    padding=st.integers(0, 5),
)
def test_amounts_round_trip_through_their_wire_form(units: int, scale: int, padding: int) -> None:
    value = Decimal(units).scaleb(-scale, EXACT)
    if abs(value) >= 10**limits.AMOUNT_INTEGER_DIGITS_MAX:
        return
    text = format_amount(value)
    assert re.fullmatch(r"-?[0-9]+(\.[0-9]*[1-9])?", text)
    assert parse_amount(text + ("0" * padding if "." in text else ""), "v") == value
    assert parse_amount(value, "v") == value
