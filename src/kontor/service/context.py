"""What every use case needs: the database, the settings and the write funnel, wired once at start-up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kontor.config import Settings
from kontor.service.funnel import Funnel
from kontor.store.db import Database

# A ledger seen to exist, and its settings, are trusted for this long before they are read again:
# in other processes, a deleted ledger may accept postings, and a settings change may take effect,
# up to this much later (in this process both take effect at once).
KNOWN_LEDGER_TTL_S = 5.0


@dataclass(slots=True)
class Context:
    db: Database
    settings: Settings
    extras: dict[str, Any] = field(default_factory=dict)
    _funnel: Funnel | None = None
    _known_ledgers: dict[tuple[UUID, UUID], tuple[float, dict[str, Any]]] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.settings.env_name.lower() == "production"

    @property
    def funnel(self) -> Funnel:
        if self._funnel is None:
            self._funnel = Funnel(self.db, self.settings.funnel_batch_max)
        return self._funnel

    def known_ledger(self, organization_id: UUID, ledger_id: UUID) -> dict[str, Any] | None:
        """The settings of a ledger seen to exist within the last ``KNOWN_LEDGER_TTL_S``, else None."""
        seen = self._known_ledgers.get((organization_id, ledger_id))
        if seen is None or time.monotonic() - seen[0] >= KNOWN_LEDGER_TTL_S:
            return None
        return seen[1]

    def remember_ledger(self, organization_id: UUID, ledger_id: UUID, settings: dict[str, Any]) -> None:
        self._known_ledgers[(organization_id, ledger_id)] = (time.monotonic(), settings)

    def forget_ledger(self, organization_id: UUID, ledger_id: UUID) -> None:
        self._known_ledgers.pop((organization_id, ledger_id), None)
