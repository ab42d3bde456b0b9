"""The JSON of transactions and operations, as Midaz shapes it.

Built once per change inside the write funnel: the same dict is the HTTP answer, the stored
idempotency replay and the journal payload, so the three can never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID

from kontor.core import format_amount

JSON = dict[str, Any]


@lru_cache(maxsize=1024)
def iso(value: datetime | None) -> str | None:
    """RFC 3339 UTC with the fraction trimmed, as Go marshals time.Time (cached: a batch shares one)."""
    if value is None:
        return None
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


@lru_cache(maxsize=1024)
def ident(value: UUID | str) -> str:
    """The text of an organization's or ledger's id (cached: every operation of a batch repeats them)."""
    return str(value)


amount = format_amount  # an amount's wire text (no wrapper: an answer writes a dozen of them)


def status(code: str) -> JSON:
    return {"code": code, "description": code}


def transaction(row: Any, operations: list[JSON], *, status_code: str | None = None) -> JSON:
    """A transaction row (a Record or a dict with the same keys) and its operations' JSON."""
    body: JSON = {
        "id": str(row["id"]),
        "description": row["description"] or "",
        "status": status(status_code or row["status"]),
        "amount": amount(row["amount"]),
        "assetCode": row["asset_code"],
        "chartOfAccountsGroupName": row["chart_of_accounts_group_name"] or "",
        "source": list(row["source"]),
        "destination": list(row["destination"]),
        "ledgerId": ident(row["ledger_id"]),
        "organizationId": ident(row["organization_id"]),
        "route": row["route"] or "",
        "feesSkipped": False,
        "tracerSkipped": False,
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "deletedAt": iso(row["deleted_at"]) if "deleted_at" in _keys(row) else None,
        "metadata": row["metadata"] or {},
        "operations": operations,
    }
    if row["parent_transaction_id"] is not None:
        body["parentTransactionId"] = str(row["parent_transaction_id"])
    if row["route_id"] is not None:
        body["routeId"] = str(row["route_id"])
    return body


def operation(row: Any) -> JSON:
    """An operation row (a Record or a dict with the same keys)."""
    body: JSON = {
        "id": str(row["id"]),
        "transactionId": str(row["transaction_id"]),
        "description": row["description"] or "",
        "type": row["type"],
        "direction": row["direction"],
        "assetCode": row["asset_code"],
        "chartOfAccounts": row["chart_of_accounts"] or "",
        "amount": {"value": amount(row["amount"])},
        "balance": _balance(row, "before"),
        "balanceAfter": _balance(row, "after"),
        "status": {"code": "", "description": None},
        "accountId": str(row["account_id"]),
        "accountAlias": row["account_alias"],
        "balanceKey": row["balance_key"],
        "balanceId": str(row["balance_id"]),
        "organizationId": ident(row["organization_id"]),
        "ledgerId": ident(row["ledger_id"]),
        "route": row["route"] or "",
        "balanceAffected": row["balance_affected"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        "deletedAt": iso(row["deleted_at"]) if "deleted_at" in _keys(row) else None,
        "metadata": row["metadata"] or {},
    }
    if row["route_id"] is not None:
        body["routeId"] = str(row["route_id"])
    return body


def _balance(row: Any, when: str) -> JSON:
    return {
        "available": amount(row[f"available_{when}"]),
        "onHold": amount(row[f"on_hold_{when}"]),
        "version": row[f"version_{when}"],
        "overdraftUsed": amount(row[f"overdraft_{when}"]),
    }


def _keys(row: Any) -> Any:
    return row.keys()


def uuid_or_none(value: str | None) -> UUID | None:
    return UUID(value) if value else None
