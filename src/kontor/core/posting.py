"""Posting: apply a resolved transaction to balances, all or nothing, and describe its operations.

:func:`apply` checks, in this order, and the first failure answers with nothing changed:

1. every leg's alias#key has a balance (422 ``0019``);
2. then each leg in order (sources, then destinations): the balance holds the transaction's asset
   (404 ``0034``); a source may send and a destination may receive (422 ``0024``; create, pending
   and annotation only); a pending transaction's source is not external (422 ``0098``); the
   balance is not internal-scope (422 ``0168``);
3. then each leg in order moves its balance, and no balance other than an external one may end
   with a negative ``available`` (422 ``0018``).

Effects per leg of amount v (reference §3.4), for a credit-direction balance:

==========  ==============================  ==============================  =====================
action      source                          destination                     operations
==========  ==============================  ==============================  =====================
create      available −= v                  available += v                  DEBIT/debit, CREDIT/credit
pending     available −= v, on_hold += v    nothing                         sources: ON_HOLD/debit
commit      on_hold −= v                    available += v                  DEBIT/debit, CREDIT/credit
cancel      on_hold −= v, available += v    nothing                         sources: RELEASE/credit
annotate    nothing                         nothing                         as create, not affecting
==========  ==============================  ==============================  =====================

A debit-direction balance inverts every change to ``available``; ``on_hold`` moves the same way.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

import msgspec

from kontor.core.balances import (
    CREDIT,
    DEBIT,
    DIRECTIONS,
    OVERDRAFT_KEY,
    ZERO_SNAPSHOT,
    BalanceSettings,
    BalanceState,
    Snapshot,
)
from kontor.core.money import ZERO, exact, format_amount
from kontor.core.plan import Side
from kontor.core.resolve import ResolvedLeg, ResolvedTransaction
from kontor.errors import Code, KontorError, codes, invariant

__all__ = [
    "Action",
    "BalanceSettings",
    "BalanceState",
    "OperationDraft",
    "Snapshot",
    "apply",
]

_ENTITY = "Transaction"

BalanceRef = tuple[str, str]


class Action(Enum):
    """What a posting does to money: see the table in this module's docstring."""

    CREATE = "create"
    PENDING = "pending"
    COMMIT = "commit"
    CANCEL = "cancel"
    ANNOTATE = "annotate"
    BLOCK = "block"
    UNBLOCK = "unblock"


class OperationDraft(msgspec.Struct, frozen=True):
    """One operation row to write: a leg's movement on its balance, with the balance before and after.

    ``type`` is ``DEBIT``, ``CREDIT``, ``ON_HOLD`` or ``RELEASE``; ``direction`` is ``debit`` or
    ``credit``. Annotation operations have ``balance_affected`` false and zeroed snapshots. A
    frozen ``msgspec.Struct`` for the speed of its ``__init__`` (see ``Snapshot``).
    """

    leg: ResolvedLeg
    balance_id: str
    account_id: str
    alias: str
    balance_key: str
    asset_code: str
    type: str
    direction: str
    amount: Decimal
    before: Snapshot
    after: Snapshot
    balance_affected: bool
    account_type: str


@dataclass(frozen=True, slots=True)
class _Movement:
    """How one leg moves a credit-direction balance: signs of the changes to available and on_hold."""

    type: str
    direction: str
    available_sign: int
    on_hold_sign: int


_DEBIT = _Movement("DEBIT", DEBIT, -1, 0)
_CREDIT = _Movement("CREDIT", CREDIT, +1, 0)

# Absent pairs move nothing and write no operation: a pending or canceled transaction leaves its
# destinations alone. Annotation borrows create's labels but never moves a balance.
_MOVEMENTS: dict[tuple[Action, Side], _Movement] = {
    (Action.CREATE, Side.SOURCE): _DEBIT,
    (Action.CREATE, Side.DESTINATION): _CREDIT,
    (Action.PENDING, Side.SOURCE): _Movement("ON_HOLD", DEBIT, -1, +1),
    (Action.COMMIT, Side.SOURCE): _Movement("DEBIT", DEBIT, 0, -1),
    (Action.COMMIT, Side.DESTINATION): _CREDIT,
    (Action.CANCEL, Side.SOURCE): _Movement("RELEASE", CREDIT, +1, -1),
    (Action.ANNOTATE, Side.SOURCE): _DEBIT,
    (Action.ANNOTATE, Side.DESTINATION): _CREDIT,
    # Block and unblock move funds like a create (typically between balance keys of one account);
    # only their operations' type says why.
    (Action.BLOCK, Side.SOURCE): _Movement("BLOCK", DEBIT, -1, 0),
    (Action.BLOCK, Side.DESTINATION): _Movement("BLOCK", CREDIT, +1, 0),
    (Action.UNBLOCK, Side.SOURCE): _Movement("UNBLOCK", DEBIT, -1, 0),
    (Action.UNBLOCK, Side.DESTINATION): _Movement("UNBLOCK", CREDIT, +1, 0),
}

_OVERDRAW = _Movement("OVERDRAFT", DEBIT, +1, 0)  # on the debit-direction companion: its available grows
_REPAY = _Movement("OVERDRAFT", CREDIT, -1, 0)

# Commit and cancel settle what pending already allowed: permissions are not asked again.
_PERMISSION_CHECKED = frozenset({Action.CREATE, Action.PENDING, Action.ANNOTATE, Action.BLOCK, Action.UNBLOCK})


def apply(
    tx: ResolvedTransaction,
    action: Action,
    balances: MutableMapping[BalanceRef, BalanceState],
    veto: Callable[[list[OperationDraft]], None] | None = None,
) -> list[OperationDraft]:
    """Apply ``tx`` to ``balances`` (keyed by ``(alias, balance_key)``) and return its operations.

    Guards the checks in this module's docstring, in that order. All or nothing: on any rejection
    (or invariant violation) every state in ``balances`` is left exactly as it was. On success the
    states are mutated in place and the operations come in leg order, sources first; legs of zero
    amount, and destinations of pending and cancel, produce none.
    """
    _check_balanced(tx)
    working = _working_copies(tx, balances)
    for leg in tx.legs:
        _check_leg(leg, working[_ref(leg)], leg.asset or tx.asset, action)
    if action is Action.ANNOTATE:
        return [_annotation(leg, working[_ref(leg)]) for leg in tx.legs if leg.amount > ZERO]
    operations: list[OperationDraft] = []
    for leg in tx.legs:
        movement = _MOVEMENTS.get((action, leg.side))
        if leg.amount > ZERO and movement is not None:
            operations.extend(_post(leg, working, movement))
    if veto is not None:
        veto(operations)  # a rule only the operations show (e.g. an overdraft drawn); raises to refuse
    _write_back(working, balances)
    return operations


def _ref(leg: ResolvedLeg) -> BalanceRef:
    return (leg.alias, leg.balance_key)


def _check_balanced(tx: ResolvedTransaction) -> None:
    """The second statement of resolve's rule: per asset, the sources add up exactly to the
    destinations, and in the transaction's own asset to the value."""
    invariant(all(leg.amount >= ZERO for leg in tx.legs), "a resolved leg has a negative amount")
    totals: dict[str, list[Decimal]] = {}
    with exact():
        for leg in tx.legs:
            pair = totals.setdefault(leg.asset or tx.asset, [ZERO, ZERO])
            pair[0 if leg.side is Side.SOURCE else 1] += leg.amount
    for asset, (sources, destinations) in totals.items():
        invariant(sources == destinations, f"a resolved transaction does not balance in {asset}")
    invariant(totals.get(tx.asset, [ZERO])[0] == tx.value, "a resolved transaction does not add up to its value")


def _working_copies(
    tx: ResolvedTransaction, balances: MutableMapping[BalanceRef, BalanceState]
) -> dict[BalanceRef, BalanceState]:
    """Copies of every balance the transaction names, so a rejection leaves the originals untouched.

    Guards: every leg's alias#key has a balance (``0019``).
    """
    working: dict[BalanceRef, BalanceState] = {}
    for leg in tx.legs:
        ref = _ref(leg)
        state = balances.get(ref)
        if state is None:
            raise KontorError(
                codes.ACCOUNT_INELIGIBLE,
                f"The transaction names {leg.alias}#{leg.balance_key}, which has no such balance.",
                entity_type=_ENTITY,
            )
        invariant((state.alias, state.key) == ref, f"balance {state.ref} is filed under {ref}")
        invariant(state.direction in DIRECTIONS, f"balance {state.ref} has direction {state.direction!r}")
        if ref not in working:
            working[ref] = state.copy()
        companion = balances.get((leg.alias, OVERDRAFT_KEY))
        if state.may_overdraw and companion is not None and (leg.alias, OVERDRAFT_KEY) not in working:
            working[(leg.alias, OVERDRAFT_KEY)] = companion.copy()
    return working


def _check_leg(leg: ResolvedLeg, state: BalanceState, asset: str, action: Action) -> None:
    """Guards the per-leg rules ``0034``, ``0024``, ``0098`` and ``0168``, in that order."""
    if state.asset_code != asset:
        raise _reject(codes.ASSET_CODE_NOT_FOUND, f"The balance {state.ref} holds {state.asset_code}, not {asset}.")
    if action in _PERMISSION_CHECKED and not _allowed(state, leg.side):
        verb = "send" if leg.side is Side.SOURCE else "receive"
        raise _reject(codes.BALANCE_NOT_ALLOWED, f"The balance {state.ref} is not allowed to {verb}.")
    if action is Action.PENDING and leg.side is Side.SOURCE and state.is_external:
        raise _reject(
            codes.EXTERNAL_PENDING_SOURCE,
            f"The external balance {state.ref} cannot be the source of a pending transaction.",
        )
    if state.is_internal_scope:
        raise _reject(
            codes.INTERNAL_BALANCE_IN_TRANSACTION, f"The internal balance {state.ref} cannot be used in a transaction."
        )


def _allowed(state: BalanceState, side: Side) -> bool:
    return state.allow_sending if side is Side.SOURCE else state.allow_receiving


def _annotation(leg: ResolvedLeg, state: BalanceState) -> OperationDraft:
    """An annotation records the leg without touching the balance."""
    movement = _MOVEMENTS[(Action.ANNOTATE, leg.side)]
    return _draft(leg, state, movement, ZERO_SNAPSHOT, ZERO_SNAPSHOT, balance_affected=False)


def _post(leg: ResolvedLeg, working: dict[BalanceRef, BalanceState], movement: _Movement) -> list[OperationDraft]:
    """Move one balance by one leg (on the working copy) and describe the move.

    When the move draws or repays an overdraft, the companion ``overdraft`` balance moves by the
    same amount and gets an OVERDRAFT operation of its own.
    """
    state = working[_ref(leg)]
    before = state.snapshot()
    after = _next_snapshot(state, movement, leg.amount)
    _set(state, after)
    drafts = [_draft(leg, state, movement, before, after, balance_affected=True)]
    drawn = after.overdraft_used - before.overdraft_used
    if drawn != ZERO:
        drafts.append(_move_companion(leg, working, drawn))
    return drafts


def _set(state: BalanceState, snapshot: Snapshot) -> None:
    state.available, state.on_hold = snapshot.available, snapshot.on_hold
    state.version, state.overdraft_used = snapshot.version, snapshot.overdraft_used


def _move_companion(leg: ResolvedLeg, working: dict[BalanceRef, BalanceState], drawn: Decimal) -> OperationDraft:
    """Count ``drawn`` (positive: drawn, negative: repaid) on the account's overdraft balance."""
    companion = working.get((leg.alias, OVERDRAFT_KEY))
    if companion is None:
        raise _reject(codes.INSUFFICIENT_FUNDS, f"{leg.alias} allows an overdraft but has no overdraft balance.")
    movement = _OVERDRAW if drawn > ZERO else _REPAY
    amount = abs(drawn)
    before = companion.snapshot()
    with exact():
        available = companion.available + amount if drawn > ZERO else companion.available - amount
    after = Snapshot(available, companion.on_hold, companion.version + 1, companion.overdraft_used)
    invariant(available >= ZERO, f"the overdraft balance of {leg.alias} would go negative")
    _set(companion, after)
    overdraft_leg = msgspec.structs.replace(leg, balance_key=OVERDRAFT_KEY, amount=amount)
    return _draft(overdraft_leg, companion, movement, before, after, balance_affected=True)


def _next_snapshot(state: BalanceState, movement: _Movement, amount: Decimal) -> Snapshot:
    """The balance after one movement; the version moves only when an amount really changes."""
    # A debit-direction balance grows with debits, so every change to available is inverted.
    available_sign = movement.available_sign if state.direction == CREDIT else -movement.available_sign
    with exact():
        proposed = state.available + available_sign * amount
        on_hold = state.on_hold + movement.on_hold_sign * amount
    invariant(on_hold >= ZERO, f"balance {state.ref} would hold a negative amount on hold")
    available, overdraft_used = _settle_available(state, proposed, overdraw=movement.on_hold_sign == 0)
    changed = (available, on_hold, overdraft_used) != (state.available, state.on_hold, state.overdraft_used)
    return Snapshot(available, on_hold, state.version + int(changed), overdraft_used)


def _settle_available(state: BalanceState, proposed: Decimal, *, overdraw: bool) -> tuple[Decimal, Decimal]:
    """Where a movement leaves ``available`` and ``overdraft_used``: the funds rule.

    Guards: only an external balance may end with a negative ``available`` (``0018``), unless the
    balance may overdraw: then a plain debit beyond ``available`` floors it at 0 and counts the
    deficit in ``overdraft_used``, up to the limit (``0167``); holds never overdraw. Any increase of
    a balance in overdraft repays the overdraft first.
    """
    if state.may_overdraw:
        return _with_overdraft(state, proposed, overdraw=overdraw)
    if proposed < ZERO and not state.is_external:
        raise _reject(
            codes.INSUFFICIENT_FUNDS,
            f"The balance {state.ref} has insufficient funds: this transaction would leave its available "
            f"at {format_amount(proposed)}.",
        )
    return proposed, state.overdraft_used


def _with_overdraft(state: BalanceState, proposed: Decimal, *, overdraw: bool) -> tuple[Decimal, Decimal]:
    with exact():
        increase = proposed - state.available
        if increase > ZERO:
            repaid = min(increase, state.overdraft_used)
            return state.available + increase - repaid, state.overdraft_used - repaid
        if proposed >= ZERO:
            return proposed, state.overdraft_used
        deficit = -proposed
    if not overdraw:
        raise _reject(codes.INSUFFICIENT_FUNDS, f"The balance {state.ref} cannot hold funds it does not have.")
    room = state.overdraft_room()
    if room is not None and deficit > room:
        raise _reject(
            codes.OVERDRAFT_LIMIT_EXCEEDED,
            f"The balance {state.ref} would overdraw {format_amount(deficit)}; {format_amount(room)} remains.",
        )
    with exact():
        return ZERO, state.overdraft_used + deficit


def _draft(
    leg: ResolvedLeg,
    state: BalanceState,
    movement: _Movement,
    before: Snapshot,
    after: Snapshot,
    *,
    balance_affected: bool,
) -> OperationDraft:
    return OperationDraft(
        leg=leg,
        balance_id=state.id,
        account_id=state.account_id,
        alias=state.alias,
        balance_key=state.key,
        asset_code=state.asset_code,
        type=movement.type,
        direction=movement.direction,
        amount=leg.amount,
        before=before,
        after=after,
        balance_affected=balance_affected,
        account_type=state.account_type,
    )


def _write_back(working: dict[BalanceRef, BalanceState], balances: MutableMapping[BalanceRef, BalanceState]) -> None:
    """Commit the working copies into the caller's states, in place, once every leg has succeeded."""
    for ref, copy in working.items():
        state = balances[ref]
        state.available, state.on_hold = copy.available, copy.on_hold
        state.version, state.overdraft_used = copy.version, copy.overdraft_used


def _reject(code: Code, detail: str) -> KontorError:
    return KontorError(code, detail, entity_type=_ENTITY)
