"""Posting: each action's effects and operations, the checks in their order, and all-or-nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kontor.core import (
    Action,
    BalanceSettings,
    LegIntent,
    OperationDraft,
    ResolvedLeg,
    ResolvedTransaction,
    Side,
    Snapshot,
    TransactionIntent,
    apply,
    resolve,
)
from kontor.errors import Code, InvariantViolation, KontorError, codes

from .builders import Book, D, amount, amounts, balance, book, external, post, send

ZERO_SNAPSHOT = Snapshot(D(0), D(0), 0, D(0))


def rejected(intent_book: tuple[TransactionIntent, Book], action: Action, code: Code) -> KontorError:
    intent, states = intent_book
    before = amounts(states)
    with pytest.raises(KontorError) as caught:
        post(intent, action, states)
    assert caught.value.code is code, caught.value.detail
    assert caught.value.entity_type == "Transaction"
    assert amounts(states) == before, "a rejected transaction changed a balance"
    return caught.value


def summary(operations: list[OperationDraft]) -> list[tuple[str, str, str, str]]:
    return [(op.alias, op.type, op.direction, str(op.amount)) for op in operations]


def transfer(value: str = "30") -> TransactionIntent:
    return send(value, [amount("@alice", value)], [amount("@bob", value)])


# --- create ---------------------------------------------------------------------------------------


def test_create_debits_sources_and_credits_destinations() -> None:
    states = book(balance("@alice", "100", version=7), balance("@bob", "5"))
    operations = post(transfer(), Action.CREATE, states)

    assert summary(operations) == [("@alice", "DEBIT", "debit", "30"), ("@bob", "CREDIT", "credit", "30")]
    debit, credit = operations
    assert (debit.before, debit.after) == (Snapshot(D(100), D(0), 7, D(0)), Snapshot(D(70), D(0), 8, D(0)))
    assert (credit.before, credit.after) == (Snapshot(D(5), D(0), 0, D(0)), Snapshot(D(35), D(0), 1, D(0)))
    assert amounts(states) == {"@alice#default": (70, 0, 8), "@bob#default": (35, 0, 1)}


def test_operations_carry_the_balance_and_the_leg() -> None:
    states = book(balance("@alice", "100"), balance("@bob", key="savings"))
    intent = send("1", [amount("@alice", "1")], [amount("@bob", "1", key="savings")])
    tx = resolve(intent)
    debit, credit = apply(tx, Action.CREATE, states)
    assert (debit.balance_id, debit.account_id, debit.alias, debit.balance_key) == (
        "bal-@alice-default",
        "acc-@alice",
        "@alice",
        "default",
    )
    assert (credit.balance_id, credit.balance_key, credit.asset_code, credit.account_type) == (
        "bal-@bob-savings",
        "savings",
        "BRL",
        "deposit",
    )
    assert debit.leg is tx.legs[0] and credit.leg is tx.legs[1]
    assert debit.balance_affected and credit.balance_affected


def test_create_may_spend_the_whole_available() -> None:
    states = book(balance("@alice", "30"), balance("@bob"))
    post(transfer(), Action.CREATE, states)
    assert states[("@alice", "default")].available == 0


def test_insufficient_funds_are_refused() -> None:
    states = book(balance("@alice", "29.99"), balance("@bob"))
    error = rejected((transfer(), states), Action.CREATE, codes.INSUFFICIENT_FUNDS)
    assert "@alice#default" in error.detail and "-0.01" in error.detail


def test_on_hold_funds_are_not_available() -> None:
    states = book(balance("@alice", "10", on_hold="90"), balance("@bob"))
    rejected((transfer(), states), Action.CREATE, codes.INSUFFICIENT_FUNDS)


def test_inflow_from_external_raises_its_debit_direction_balance() -> None:
    states = book(external(), balance("@alice"))
    intent = send("50", [amount("@external/BRL", "50")], [amount("@alice", "50")])
    operations = post(intent, Action.CREATE, states)
    assert summary(operations) == [("@external/BRL", "DEBIT", "debit", "50"), ("@alice", "CREDIT", "credit", "50")]
    assert operations[0].after.available == 50
    assert amounts(states) == {"@external/BRL#default": (50, 0, 1), "@alice#default": (50, 0, 1)}


def test_outflow_to_external_may_take_it_negative() -> None:
    states = book(external(), balance("@alice", "80"))
    post(send("80", [amount("@alice", "80")], [amount("@external/BRL", "80")]), Action.CREATE, states)
    assert states[("@external/BRL", "default")].available == -80


def test_credit_direction_external_balance_may_go_negative_too() -> None:
    states = book(balance("@external/BRL", account_type="external"), balance("@alice"))
    post(send("50", [amount("@external/BRL", "50")], [amount("@alice", "50")]), Action.CREATE, states)
    assert states[("@external/BRL", "default")].available == -50


def test_debit_direction_balances_invert_available() -> None:
    # A debit-direction internal balance grows when debited and shrinks when credited.
    states = book(balance("@receivable", "10", direction="debit"), balance("@alice", "100"))
    operations = post(send("40", [amount("@receivable", "40")], [amount("@alice", "40")]), Action.CREATE, states)
    assert operations[0].after.available == 50
    post(send("50", [amount("@alice", "50")], [amount("@receivable", "50")]), Action.CREATE, states)
    assert amounts(states) == {"@receivable#default": (0, 0, 2), "@alice#default": (90, 0, 2)}


def test_a_non_external_debit_direction_balance_cannot_go_negative() -> None:
    states = book(balance("@receivable", "10", direction="debit"), balance("@alice", "100"))
    rejected(
        (send("11", [amount("@alice", "11")], [amount("@receivable", "11")]), states),
        Action.CREATE,
        codes.INSUFFICIENT_FUNDS,
    )


def test_same_balance_twice_chains_before_and_after() -> None:
    states = book(balance("@alice", "100", version=3), balance("@bob"), balance("@carol"))
    intent = send(
        "60",
        [amount("@alice", "20"), amount("@alice", "40")],
        [amount("@bob", "10"), amount("@carol", "20"), amount("@bob", "30")],
    )
    operations = post(intent, Action.CREATE, states)
    first, second = operations[0], operations[1]
    assert (first.before.available, first.after.available, first.after.version) == (100, 80, 4)
    assert (second.before, second.after.available, second.after.version) == (first.after, 40, 5)
    bob_first, bob_second = operations[2], operations[4]
    assert bob_second.before == bob_first.after
    assert amounts(states) == {"@alice#default": (40, 0, 5), "@bob#default": (40, 0, 2), "@carol#default": (20, 0, 1)}


def test_same_balance_twice_is_funded_only_once() -> None:
    states = book(balance("@alice", "50"), balance("@bob"))
    intent = send("60", [amount("@alice", "30"), amount("@alice", "30")], [amount("@bob", "60")])
    rejected((intent, states), Action.CREATE, codes.INSUFFICIENT_FUNDS)


def test_zero_amount_legs_write_no_operation_but_are_checked() -> None:
    states = book(balance("@alice", "10"), balance("@bob"), balance("@idle", "3", version=2))
    intent = send("10", [amount("@alice", "10"), amount("@idle", "0")], [amount("@bob", "10")])
    operations = post(intent, Action.CREATE, states)
    assert [op.alias for op in operations] == ["@alice", "@bob"]
    assert amounts(states)["@idle#default"] == (3, 0, 2)

    states = book(balance("@alice", "10"), balance("@bob"), balance("@idle", allow_sending=False))
    rejected((intent, states), Action.CREATE, codes.BALANCE_NOT_ALLOWED)
    rejected((intent, book(balance("@alice", "10"), balance("@bob"))), Action.CREATE, codes.ACCOUNT_INELIGIBLE)


def test_unused_balances_in_the_mapping_are_untouched() -> None:
    states = book(balance("@alice", "100"), balance("@bob"), balance("@other", "7", version=9))
    post(transfer(), Action.CREATE, states)
    assert amounts(states)["@other#default"] == (7, 0, 9)


def test_states_are_mutated_in_place() -> None:
    alice = balance("@alice", "100")
    states = book(alice, balance("@bob"))
    post(transfer(), Action.CREATE, states)
    assert states[("@alice", "default")] is alice and alice.available == 70


def test_overdraft_used_is_carried_through_snapshots() -> None:
    states = book(balance("@alice", "100"), balance("@bob"))
    states[("@alice", "default")].overdraft_used = D("5")
    debit, _ = post(transfer(), Action.CREATE, states)
    assert debit.before.overdraft_used == debit.after.overdraft_used == 5


# --- pending, commit, cancel ----------------------------------------------------------------------


def test_pending_moves_source_funds_on_hold_and_leaves_destinations() -> None:
    states = book(balance("@alice", "100"), balance("@bob", "1", version=4))
    operations = post(transfer(), Action.PENDING, states)
    assert summary(operations) == [("@alice", "ON_HOLD", "debit", "30")]
    assert (operations[0].before, operations[0].after) == (
        Snapshot(D(100), D(0), 0, D(0)),
        Snapshot(D(70), D(30), 1, D(0)),
    )
    assert amounts(states) == {"@alice#default": (70, 30, 1), "@bob#default": (1, 0, 4)}


def test_pending_on_a_debit_direction_source_inverts_available_only() -> None:
    states = book(balance("@receivable", "10", direction="debit"), balance("@bob"))
    post(send("4", [amount("@receivable", "4")], [amount("@bob", "4")]), Action.PENDING, states)
    assert amounts(states)["@receivable#default"] == (14, 4, 1)


def test_pending_needs_funds() -> None:
    states = book(balance("@alice", "29"), balance("@bob"))
    rejected((transfer(), states), Action.PENDING, codes.INSUFFICIENT_FUNDS)


def test_pending_from_an_external_source_is_refused() -> None:
    states = book(external(available="1000"), balance("@alice"))
    intent = send("5", [amount("@external/BRL", "5")], [amount("@alice", "5")])
    rejected((intent, states), Action.PENDING, codes.EXTERNAL_PENDING_SOURCE)


def test_pending_to_an_external_destination_is_allowed() -> None:
    states = book(balance("@alice", "10"), external())
    operations = post(send("5", [amount("@alice", "5")], [amount("@external/BRL", "5")]), Action.PENDING, states)
    assert summary(operations) == [("@alice", "ON_HOLD", "debit", "5")]


def test_pending_checks_the_destination_may_receive() -> None:
    states = book(balance("@alice", "100"), balance("@bob", allow_receiving=False))
    rejected((transfer(), states), Action.PENDING, codes.BALANCE_NOT_ALLOWED)


def test_commit_settles_the_hold_and_credits_destinations() -> None:
    states = book(balance("@alice", "70", on_hold="30", version=1), balance("@bob", "1", version=4))
    operations = post(transfer(), Action.COMMIT, states)
    assert summary(operations) == [("@alice", "DEBIT", "debit", "30"), ("@bob", "CREDIT", "credit", "30")]
    assert operations[0].after == Snapshot(D(70), D(0), 2, D(0))
    assert operations[1].after == Snapshot(D(31), D(0), 5, D(0))
    assert amounts(states) == {"@alice#default": (70, 0, 2), "@bob#default": (31, 0, 5)}


def test_commit_and_cancel_do_not_ask_permissions_again() -> None:
    for action in (Action.COMMIT, Action.CANCEL):
        states = book(balance("@alice", on_hold="30", allow_sending=False), balance("@bob", allow_receiving=False))
        post(transfer(), action, states)
        assert states[("@alice", "default")].on_hold == 0


def test_commit_to_a_debit_direction_destination_still_respects_funds() -> None:
    # Midaz refuses any non-external negative available, whatever the action.
    states = book(balance("@alice", on_hold="30"), balance("@receivable", "10", direction="debit"))
    rejected(
        (send("30", [amount("@alice", "30")], [amount("@receivable", "30")]), states),
        Action.COMMIT,
        codes.INSUFFICIENT_FUNDS,
    )


def test_cancel_releases_the_hold_back_to_available() -> None:
    states = book(balance("@alice", "70", on_hold="30", version=1), balance("@bob", version=4))
    operations = post(transfer(), Action.CANCEL, states)
    assert summary(operations) == [("@alice", "RELEASE", "credit", "30")]
    assert operations[0].after == Snapshot(D(100), D(0), 2, D(0))
    assert amounts(states) == {"@alice#default": (100, 0, 2), "@bob#default": (0, 0, 4)}


def test_cancel_on_a_debit_direction_source_inverts_available_only() -> None:
    states = book(balance("@receivable", "14", on_hold="4", direction="debit"), balance("@bob"))
    post(send("4", [amount("@receivable", "4")], [amount("@bob", "4")]), Action.CANCEL, states)
    assert amounts(states)["@receivable#default"] == (10, 0, 1)


@pytest.mark.parametrize("action", [Action.COMMIT, Action.CANCEL])
def test_settling_more_than_is_on_hold_is_a_bug_and_changes_nothing(action: Action) -> None:
    states = book(balance("@alice", "100", on_hold="29"), balance("@bob"))
    before = amounts(states)
    with pytest.raises(InvariantViolation):
        post(transfer(), action, states)
    assert amounts(states) == before


# --- annotate -------------------------------------------------------------------------------------


def test_annotation_writes_unaffecting_operations_and_leaves_balances() -> None:
    states = book(balance("@alice", "0", version=3), balance("@bob", version=1))
    operations = post(transfer(), Action.ANNOTATE, states)
    assert summary(operations) == [("@alice", "DEBIT", "debit", "30"), ("@bob", "CREDIT", "credit", "30")]
    for op in operations:
        assert not op.balance_affected
        assert op.before == op.after == ZERO_SNAPSHOT
    assert amounts(states) == {"@alice#default": (0, 0, 3), "@bob#default": (0, 0, 1)}


def test_annotation_checks_balances_like_create() -> None:
    rejected(
        (transfer(), book(balance("@alice"), balance("@bob", allow_receiving=False))),
        Action.ANNOTATE,
        codes.BALANCE_NOT_ALLOWED,
    )
    rejected(
        (transfer(), book(balance("@alice"), balance("@bob", asset="USD"))), Action.ANNOTATE, codes.ASSET_CODE_NOT_FOUND
    )
    rejected((transfer(), book(balance("@alice"))), Action.ANNOTATE, codes.ACCOUNT_INELIGIBLE)


# --- rejections and their order -------------------------------------------------------------------


def test_missing_balance_is_ineligible() -> None:
    error = rejected((transfer(), book(balance("@alice", "100"))), Action.CREATE, codes.ACCOUNT_INELIGIBLE)
    assert "@bob#default" in error.detail


def test_missing_balance_key_is_ineligible() -> None:
    intent = send("1", [amount("@alice", "1")], [amount("@bob", "1", key="savings")])
    rejected((intent, book(balance("@alice", "100"), balance("@bob"))), Action.CREATE, codes.ACCOUNT_INELIGIBLE)


def test_every_balance_must_exist_before_any_other_check() -> None:
    states = book(balance("@alice", "100", asset="USD"))
    rejected((transfer(), states), Action.CREATE, codes.ACCOUNT_INELIGIBLE)


def test_asset_mismatch_is_asset_not_found() -> None:
    states = book(balance("@alice", "100"), balance("@bob", asset="USD"))
    error = rejected((transfer(), states), Action.CREATE, codes.ASSET_CODE_NOT_FOUND)
    assert error.code.status == 404 and "USD" in error.detail


@pytest.mark.parametrize(("may_send", "may_receive"), [(False, True), (True, False)])
def test_permissions_are_checked(may_send: bool, may_receive: bool) -> None:
    states = book(balance("@alice", "100", allow_sending=may_send), balance("@bob", allow_receiving=may_receive))
    error = rejected((transfer(), states), Action.CREATE, codes.BALANCE_NOT_ALLOWED)
    assert ("@alice" in error.detail) is not may_send


def test_a_source_may_receive_nothing_and_a_destination_send_nothing() -> None:
    # Only the permission of the leg's own side matters.
    states = book(balance("@alice", "100", allow_receiving=False), balance("@bob", allow_sending=False))
    post(transfer(), Action.CREATE, states)


def test_internal_scope_balances_cannot_be_used() -> None:
    internal = BalanceSettings(balance_scope="internal")
    states = book(balance("@alice", "100"), balance("@bob", settings=internal))
    rejected((transfer(), states), Action.CREATE, codes.INTERNAL_BALANCE_IN_TRANSACTION)
    states = book(balance("@alice", "100"), balance("@bob", settings=BalanceSettings(balance_scope="transactional")))
    post(transfer(), Action.CREATE, states)


def test_per_leg_checks_run_in_order_on_one_leg() -> None:
    internal = BalanceSettings(balance_scope="internal")
    alice = balance("@alice", "100")
    bob = balance("@bob", asset="USD", allow_receiving=False, settings=internal)
    rejected((transfer(), book(alice, bob)), Action.CREATE, codes.ASSET_CODE_NOT_FOUND)
    bob.asset_code = "BRL"
    rejected((transfer(), book(alice, bob)), Action.CREATE, codes.BALANCE_NOT_ALLOWED)
    bob.allow_receiving = True
    rejected((transfer(), book(alice, bob)), Action.CREATE, codes.INTERNAL_BALANCE_IN_TRANSACTION)
    ext = book(balance("@external/BRL", account_type="external", settings=internal), balance("@bob"))
    intent = send("1", [amount("@external/BRL", "1")], [amount("@bob", "1")])
    rejected((intent, ext), Action.PENDING, codes.EXTERNAL_PENDING_SOURCE)


def test_legs_are_checked_in_order_sources_first() -> None:
    states = book(balance("@alice", "100", allow_sending=False), balance("@bob", asset="USD"))
    rejected((transfer(), states), Action.CREATE, codes.BALANCE_NOT_ALLOWED)


def test_funds_are_checked_after_every_other_rule() -> None:
    states = book(balance("@alice", "0"), balance("@bob", allow_receiving=False))
    rejected((transfer(), states), Action.CREATE, codes.BALANCE_NOT_ALLOWED)


def test_a_late_failing_leg_rolls_back_every_earlier_leg() -> None:
    states = book(balance("@a", "100"), balance("@b", "5"), balance("@c"), balance("@d"))
    intent = send("60", [amount("@a", "50"), amount("@b", "10")], [amount("@c", "30"), amount("@d", "30")])
    rejected((intent, states), Action.CREATE, codes.INSUFFICIENT_FUNDS)


def test_an_unbalanced_resolved_transaction_is_a_bug() -> None:
    intent = send("10", [amount("@alice", "10")], [amount("@bob", "10")])
    forged = ResolvedTransaction(
        intent,
        (
            ResolvedLeg(Side.SOURCE, 0, "@alice", "default", D("10"), intent.sources[0]),
            ResolvedLeg(Side.DESTINATION, 0, "@bob", "default", D("9"), LegIntent("@bob", amount=Decimal(9))),
        ),
    )
    states = book(balance("@alice", "100"), balance("@bob"))
    with pytest.raises(InvariantViolation):
        apply(forged, Action.CREATE, states)
    assert amounts(states) == {"@alice#default": (100, 0, 0), "@bob#default": (0, 0, 0)}


def test_a_balance_filed_under_another_key_is_a_bug() -> None:
    states = {("@alice", "default"): balance("@alice", "100"), ("@bob", "default"): balance("@carol")}
    with pytest.raises(InvariantViolation):
        post(transfer(), Action.CREATE, states)
