"""The pure accounting core: exact money, transaction plans, resolution and posting.

It imports nothing but the standard library and ``kontor.errors``: no driver, framework or clock.
The write funnel calls :func:`resolve` once per transaction (outside the batch) and :func:`apply`
once per transaction inside the batch, against the batch's current balance states.
"""

from kontor.core.balances import BalanceSettings, BalanceState, Snapshot
from kontor.core.money import exact, format_amount, parse_amount
from kontor.core.plan import LegIntent, Share, Side, TransactionIntent
from kontor.core.posting import Action, OperationDraft, apply
from kontor.core.resolve import ResolvedLeg, ResolvedTransaction, resolve

__all__ = [
    "Action",
    "BalanceSettings",
    "BalanceState",
    "LegIntent",
    "OperationDraft",
    "ResolvedLeg",
    "ResolvedTransaction",
    "Share",
    "Side",
    "Snapshot",
    "TransactionIntent",
    "apply",
    "exact",
    "format_amount",
    "parse_amount",
    "resolve",
]
