"""The balance state the posting engine reads and changes.

A balance belongs to one account and holds one asset under a key (``default`` and any additional
keys). Its ``direction`` says which way it grows: a ``credit`` balance grows with credits (an
account holding money), a ``debit`` balance grows with debits (external accounts' default balance
in Midaz v4, so an inflow raises it).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import msgspec

from kontor.core.money import ZERO

CREDIT = "credit"
DEBIT = "debit"
DIRECTIONS = (CREDIT, DEBIT)
EXTERNAL_ACCOUNT_TYPE = "external"
INTERNAL_SCOPE = "internal"
# The companion balance that counts an account's overdraft (Midaz v4): debit-direction, internal.
OVERDRAFT_KEY = "overdraft"


@dataclass(frozen=True, slots=True)
class BalanceSettings:
    """A balance's settings; ``balance_scope == "internal"`` marks a system balance (the overdraft
    companion) that no transaction may name."""

    balance_scope: str | None = None
    allow_overdraft: bool = False
    overdraft_limit_enabled: bool = False
    overdraft_limit: Decimal | None = None


@dataclass(slots=True)
class BalanceState:
    """One balance as the current batch sees it; :func:`kontor.core.posting.apply` mutates it."""

    id: str
    account_id: str
    alias: str
    key: str
    asset_code: str
    account_type: str
    available: Decimal
    on_hold: Decimal
    version: int
    direction: str
    allow_sending: bool
    allow_receiving: bool
    overdraft_used: Decimal = ZERO
    settings: BalanceSettings | None = None

    @property
    def is_external(self) -> bool:
        """External accounts stand for the world outside the ledger; their balances may go negative."""
        return self.account_type == EXTERNAL_ACCOUNT_TYPE

    @property
    def is_internal_scope(self) -> bool:
        """Internal-scope balances are kontor's own (overdraft companions), never a transaction's leg."""
        return self.settings is not None and self.settings.balance_scope == INTERNAL_SCOPE

    @property
    def may_overdraw(self) -> bool:
        """A credit-direction balance whose settings allow an overdraft (its companion counts it)."""
        return (
            self.direction == CREDIT
            and not self.is_external
            and self.settings is not None
            and self.settings.allow_overdraft
        )

    def copy(self) -> BalanceState:
        """A working copy (``dataclasses.replace`` costs several times more: it introspects fields)."""
        return BalanceState(
            self.id,
            self.account_id,
            self.alias,
            self.key,
            self.asset_code,
            self.account_type,
            self.available,
            self.on_hold,
            self.version,
            self.direction,
            self.allow_sending,
            self.allow_receiving,
            self.overdraft_used,
            self.settings,
        )

    def overdraft_room(self) -> Decimal | None:
        """How much more may be overdrawn; None when unlimited."""
        if self.settings is None or not self.settings.overdraft_limit_enabled:
            return None
        limit = self.settings.overdraft_limit or ZERO
        return limit - self.overdraft_used

    @property
    def ref(self) -> str:
        """``alias#key``, as errors and logs name a balance."""
        return f"{self.alias}#{self.key}"

    def snapshot(self) -> Snapshot:
        """The amounts and version as they stand now."""
        return Snapshot(self.available, self.on_hold, self.version, self.overdraft_used)


class Snapshot(msgspec.Struct, frozen=True):
    """A balance's amounts and version at one instant: an operation's ``balance`` or ``balanceAfter``.

    A frozen ``msgspec.Struct``, not a frozen dataclass: several are made per leg, and its
    ``__init__`` runs in C (a frozen dataclass sets each field through ``object.__setattr__``)."""

    available: Decimal
    on_hold: Decimal
    version: int
    overdraft_used: Decimal = ZERO


ZERO_SNAPSHOT = Snapshot(ZERO, ZERO, 0, ZERO)
