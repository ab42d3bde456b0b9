"""A ledger's settings: a fixed two-level schema, stored as given, always read merged over defaults.

Rules, checked in this order for each key of a request (the first failure answers):

1. A root key must name a group (``accounting``, ``tracer``, ``overrides``). A root key that names
   a field of some group (``{"validateRoutes": true}``) is 400 0149; any other unknown key 400 0147.
2. A group must be an object and each of its keys a field of that group: else 400 0148 / 0147.
3. A field must have its default's JSON type (boolean, string, integer): else 400 0148.
4. ``tracer.mode`` must be off|advisory|enforce, ``tracer.failPosture`` open|closed and
   ``tracer.timeoutMs`` positive: else 400 0176.

A ledger created with ``settings`` must give every field of every group (Midaz rejects a partial
object on create): a missing field is 400 0148, since absent is not the field's type.
"""

from __future__ import annotations

import copy
from typing import Any
from uuid import UUID

from kontor.errors import Code, FieldError, FieldErrors, codes
from kontor.service import journal, ledgers
from kontor.service.context import Context
from kontor.service.scope import require_ledger
from kontor.store import crud
from kontor.store.db import Connection
from kontor.store.ledgers import TABLE

Settings = dict[str, dict[str, Any]]

DEFAULTS: Settings = {
    "accounting": {"validateAccountType": False, "validateRoutes": False, "requireHolder": False},
    "tracer": {"mode": "off", "failPosture": "open", "timeoutMs": 250},
    "overrides": {"allowFeeSkip": False, "allowTracerSkip": False, "allowHolderSkip": False},
}
CHOICES: dict[str, tuple[str, ...]] = {
    "tracer.mode": ("off", "advisory", "enforce"),
    "tracer.failPosture": ("open", "closed"),
}
_FIELD_GROUPS = {name: group for group, fields in DEFAULTS.items() for name in fields}
_TYPE_NAMES = {bool: "a boolean", str: "a string", int: "an integer"}


def merged(stored: dict[str, Any] | None) -> Settings:
    """The defaults with the stored values laid over them (unknown stored keys are ignored)."""
    result = copy.deepcopy(DEFAULTS)
    for group, fields in (stored or {}).items():
        if group in result and isinstance(fields, dict):
            result[group].update({k: v for k, v in fields.items() if k in result[group]})
    return result


def deep_merge(base: dict[str, Any], patch: Settings) -> Settings:
    """``patch`` laid over ``base`` group by group: fields not in ``patch`` keep their value."""
    result: Settings = {group: dict(fields) for group, fields in base.items() if isinstance(fields, dict)}
    for group, fields in patch.items():
        result.setdefault(group, {}).update(fields)
    return result


def check(body: dict[str, Any]) -> Settings:
    """A settings object that obeys the schema rules above (fields may be absent), or a 400."""
    for key, value in body.items():
        _check_group(key, value)
    return body


def check_complete(settings: Settings) -> None:
    """Every field of every group is present (the rule for ``settings`` on ledger create): else 0148."""
    missing = [
        f"settings.{group}.{name}"
        for group, fields in DEFAULTS.items()
        for name in fields
        if name not in settings.get(group, {})
    ]
    if missing:
        raise FieldErrors(
            codes.SETTINGS_WRONG_TYPE,
            f"settings must be complete on create; missing: {', '.join(missing)}.",
            errors=[FieldError(location, "missing field") for location in missing],
        )


def _check_group(group: str, fields: object) -> None:
    if group not in DEFAULTS:
        if group in _FIELD_GROUPS:
            raise _error(codes.SETTINGS_NESTED_KEY_AT_ROOT, group, f"belongs under {_FIELD_GROUPS[group]}")
        raise _error(codes.SETTINGS_UNKNOWN_FIELD, group, "unknown settings group")
    if not isinstance(fields, dict):
        raise _error(codes.SETTINGS_WRONG_TYPE, group, "must be an object")
    for name, value in fields.items():
        _check_field(group, name, value)


def _check_field(group: str, name: str, value: object) -> None:
    location = f"{group}.{name}"
    if name not in DEFAULTS[group]:
        raise _error(codes.SETTINGS_UNKNOWN_FIELD, location, f"unknown field of {group}")
    kind = type(DEFAULTS[group][name])
    if type(value) is not kind:  # exact: a boolean is not an integer, and 1.0 is not 1
        raise _error(codes.SETTINGS_WRONG_TYPE, location, f"must be {_TYPE_NAMES[kind]}")
    choices = CHOICES.get(location)
    if choices is not None and value not in choices:
        raise _error(codes.SETTINGS_VALUE_INVALID, location, f"must be one of {', '.join(choices)}")
    if isinstance(value, int) and not isinstance(value, bool) and value <= 0:
        raise _error(codes.SETTINGS_VALUE_INVALID, location, "must be a positive integer")


def _error(code: Code, location: str, message: str) -> FieldErrors:
    return FieldErrors(code, f"settings {location} {message}.", errors=[FieldError(location, message)])


async def get_settings(conn_or_ctx: Connection | Context, organization_id: UUID, ledger_id: UUID) -> Settings:
    """The ledger's full settings (stored values over defaults); 404 0038 / 0037 for a bad scope.

    ``conn_or_ctx`` is an open connection (read inside the caller's unit of work) or the service
    context (read on a pooled connection). The posting engine reads ``accounting.validateRoutes``
    and the other switches through this.
    """
    if isinstance(conn_or_ctx, Context):
        async with conn_or_ctx.db.connection() as conn:
            return merged((await require_ledger(conn, organization_id, ledger_id))["settings"])
    return merged((await require_ledger(conn_or_ctx, organization_id, ledger_id))["settings"])


async def update_settings(ctx: Context, organization_id: UUID, ledger_id: UUID, patch: Settings) -> Settings:
    """Deep-merge a checked ``patch`` into the stored settings; returns the full settings."""
    async with ctx.db.transaction() as conn:
        row = await ledgers.lock(conn, organization_id, ledger_id)
        stored = deep_merge(row["settings"] or {}, patch)
        changed = await crud.update(conn, TABLE, {"organization_id": organization_id}, ledger_id, {"settings": stored})
        if changed is not None:
            await journal.record(conn, [journal.updated(ledgers.PREFIX, changed)])
    ctx.forget_ledger(organization_id, ledger_id)
    return merged(stored)
