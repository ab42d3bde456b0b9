"""An in-memory ledger that predicts every answer kontor gives, written from the reference alone.

It knows one asset, a handful of credit-direction accounts and the asset's external account (a
debit-direction balance, which may go negative). It resolves legs (amount, share, remaining) with
exact decimals, applies create, pending, commit, cancel, revert and annotation as reference §3.4 and
§3.7 describe, and names the refusal Midaz would answer. It shares no code with ``kontor``: a bug
copied into both would otherwise go unseen.

Every method either returns what happened or raises :class:`Refused` with the Midaz code, and a
refused call leaves the model untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Context, Decimal, Inexact, Rounded, localcontext

ZERO = Decimal(0)
HUNDRED = Decimal(100)
EXTERNAL = "@external/BRL"


class Refused(Exception):
    """The ledger refuses the request with a Midaz ``code``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def fmt(value: Decimal) -> str:
    """An amount as the wire shows it: plain digits, trailing zeros trimmed ("100.5", "110", "0")."""
    if value == ZERO:
        return "0"
    return format(value.normalize(), "f")


def exact_context() -> AbstractContextManager[Context]:
    """Arithmetic that raises instead of rounding: the model must be exact to judge kontor."""
    return localcontext(Context(prec=200, traps=[Inexact, Rounded]))


@dataclass(frozen=True)
class LegSpec:
    """One ``from``/``to`` entry as sent: exactly one of amount, share or remaining (else 0072)."""

    alias: str
    amount: Decimal | None = None
    share: tuple[int, int] | None = None  # (percentage, percentageOfPercentage); 0 means 100
    remaining: bool = False

    def json(self) -> dict[str, object]:
        leg: dict[str, object] = {"accountAlias": self.alias}
        if self.amount is not None:
            leg["amount"] = {"asset": "BRL", "value": fmt(self.amount)}
        if self.share is not None:
            percentage, of = self.share
            leg["share"] = {"percentage": percentage, **({"percentageOfPercentage": of} if of else {})}
        if self.remaining:
            leg["remaining"] = "remaining"
        return leg


@dataclass(frozen=True)
class Leg:
    """A resolved leg: the alias and the exact amount it moves (zero-amount legs are kept)."""

    alias: str
    amount: Decimal


@dataclass(frozen=True)
class Op:
    """One operation the ledger writes, with the balance before and after: (available, on_hold, version)."""

    alias: str
    type: str
    amount: Decimal
    before: tuple[Decimal, Decimal, int]
    after: tuple[Decimal, Decimal, int]


@dataclass
class Balance:
    available: Decimal = ZERO
    on_hold: Decimal = ZERO
    version: int = 0

    def triple(self) -> tuple[Decimal, Decimal, int]:
        return (self.available, self.on_hold, self.version)


@dataclass
class Txn:
    """A transaction the ledger holds; ``ops`` are the DEBIT/CREDIT legs a revert would reverse."""

    id: str
    status: str  # APPROVED | PENDING | CANCELED | NOTED
    sources: tuple[Leg, ...]
    destinations: tuple[Leg, ...]
    parent: str | None = None
    reverted: bool = False
    ops: list[Op] = field(default_factory=list)


# (action, side) -> (type, sign of available for a credit-direction balance, sign of on_hold)
_MOVES = {
    ("create", "source"): ("DEBIT", -1, 0),
    ("create", "destination"): ("CREDIT", +1, 0),
    ("pending", "source"): ("ON_HOLD", -1, +1),
    ("commit", "source"): ("DEBIT", 0, -1),
    ("commit", "destination"): ("CREDIT", +1, 0),
    ("cancel", "source"): ("RELEASE", +1, -1),
}


def resolve(
    value: Decimal, sources: Sequence[LegSpec], destinations: Sequence[LegSpec]
) -> tuple[tuple[Leg, ...], tuple[Leg, ...]]:
    """Exact leg amounts, or the first refusal: 0072, then 0125, then 0073, then 0090."""
    for spec in (*sources, *destinations):
        if (spec.amount is not None) + (spec.share is not None) + spec.remaining != 1:
            raise Refused("0072")
    if value <= ZERO:
        raise Refused("0125")
    resolved = (resolve_side(value, sources), resolve_side(value, destinations))
    for source, destination in zip(*resolved, strict=False):
        if source.alias == destination.alias:
            raise Refused("0090")
    return resolved


def resolve_side(value: Decimal, specs: Sequence[LegSpec]) -> tuple[Leg, ...]:
    """One side in order: shares exact, amounts of 0 or less count 0, remaining takes the rest; else 0073."""
    legs: list[Leg] = []
    total = ZERO
    with exact_context():
        for spec in specs:
            if spec.share is not None:
                percentage, of = spec.share
                amount = value * percentage * (of or 100) / (HUNDRED * HUNDRED)
            elif spec.amount is not None:
                amount = spec.amount if spec.amount > ZERO else ZERO
            else:
                amount = value - total
            legs.append(Leg(spec.alias, amount))
            total += amount
    if total != value or any(leg.amount < ZERO for leg in legs):
        raise Refused("0073")
    return tuple(legs)


class LedgerModel:
    """Balances per alias (default key only) and every transaction, keyed by the id kontor gave it."""

    def __init__(self, aliases: Sequence[str]) -> None:
        self.balances: dict[str, Balance] = {alias: Balance() for alias in (*aliases, EXTERNAL)}
        self.transactions: dict[str, Txn] = {}

    # --- what-if --------------------------------------------------------------------------

    def copy(self) -> LedgerModel:
        return copy.deepcopy(self)

    # --- actions ------------------------------------------------------------------------------

    def create(
        self,
        txn_id: str,
        sources: Sequence[Leg],
        destinations: Sequence[Leg],
        *,
        pending: bool = False,
        annotation: bool = False,
    ) -> list[Op]:
        """A new transaction (json, inflow, outflow): 0098 for an external pending source, 0018 for funds."""
        if pending and any(leg.alias == EXTERNAL for leg in sources):
            raise Refused("0098")
        status = "NOTED" if annotation else "PENDING" if pending else "APPROVED"
        if annotation:
            # An annotation records its legs with zeroed snapshots and moves nothing.
            none = (ZERO, ZERO, 0)
            ops = [
                Op(leg.alias, kind, leg.amount, none, none)
                for kind, legs in (("DEBIT", sources), ("CREDIT", destinations))
                for leg in legs
                if leg.amount > ZERO
            ]
        else:
            ops = self._commit_moves("pending" if pending else "create", sources, destinations)
        self.transactions[txn_id] = Txn(
            txn_id,
            status,
            tuple(sources),
            tuple(destinations),
            ops=[op for op in ops if op.type in ("DEBIT", "CREDIT")],
        )
        return ops

    def settle(self, txn_id: str, action: str) -> list[Op]:
        """Commit or cancel: only a PENDING transaction (else 0099); unknown ids are 0007."""
        txn = self._get(txn_id)
        if txn.status != "PENDING":
            raise Refused("0099")
        destinations = txn.destinations if action == "commit" else ()
        ops = self._commit_moves(action, txn.sources, destinations)
        txn.status = "APPROVED" if action == "commit" else "CANCELED"
        txn.ops = [op for op in ops if op.type in ("DEBIT", "CREDIT")]
        return ops

    def revert(self, txn_id: str, new_id: str) -> list[Op]:
        """Checks in order 0087, 0088, 0099; then a new transaction runs the DEBIT/CREDIT legs backwards."""
        txn = self._get(txn_id)
        if txn.reverted:
            raise Refused("0087")
        if txn.parent is not None:
            raise Refused("0088")
        if txn.status != "APPROVED":
            raise Refused("0099")
        sources = tuple(Leg(op.alias, op.amount) for op in txn.ops if op.type == "CREDIT")
        destinations = tuple(Leg(op.alias, op.amount) for op in txn.ops if op.type == "DEBIT")
        if not sources:
            raise Refused("0089")
        ops = self._commit_moves("create", sources, destinations)
        txn.reverted = True
        self.transactions[new_id] = Txn(new_id, "APPROVED", sources, destinations, parent=txn_id, ops=list(ops))
        return ops

    # --- mechanics ----------------------------------------------------------------------------

    def _get(self, txn_id: str) -> Txn:
        if txn_id not in self.transactions:
            raise Refused("0007")
        return self.transactions[txn_id]

    def _commit_moves(self, action: str, sources: Sequence[Leg], destinations: Sequence[Leg]) -> list[Op]:
        working = copy.deepcopy(self.balances)
        ops = self._move(working, action, sources, destinations)
        self.balances = working
        return ops

    @staticmethod
    def _move(
        balances: dict[str, Balance], action: str, sources: Sequence[Leg], destinations: Sequence[Leg]
    ) -> list[Op]:
        """Sources first, then destinations, in order; a non-external available below 0 is 0018."""
        ops: list[Op] = []
        for side, legs in (("source", sources), ("destination", destinations)):
            move = _MOVES.get((action, side))
            if move is None:
                continue
            kind, available_sign, hold_sign = move
            for leg in legs:
                if leg.amount == ZERO:
                    continue
                balance = balances[leg.alias]
                before = balance.triple()
                # The external balance has direction debit: every change to available is inverted.
                sign = -available_sign if leg.alias == EXTERNAL else available_sign
                with exact_context():
                    balance.available += sign * leg.amount
                    balance.on_hold += hold_sign * leg.amount
                if leg.alias != EXTERNAL and balance.available < ZERO:
                    raise Refused("0018")
                balance.version += 1
                ops.append(Op(leg.alias, kind, leg.amount, before, balance.triple()))
        return ops

    # --- invariants -----------------------------------------------------------------------

    def conserved_total(self) -> Decimal:
        """Credit-direction balances (available and on hold) minus the external debit balance: always 0."""
        with exact_context():
            internal = sum((b.available + b.on_hold for a, b in self.balances.items() if a != EXTERNAL), ZERO)
            return internal - self.balances[EXTERNAL].available
