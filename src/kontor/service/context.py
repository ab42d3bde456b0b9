"""What every use case needs: the database, the settings and the write funnel, wired once at start-up."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from kontor.config import Settings
from kontor.service.funnel import Funnel
from kontor.store.db import Database

# A ledger seen to exist is trusted for this long before it is checked again; a deleted ledger
# may therefore accept postings for at most this long in other processes.
KNOWN_LEDGER_TTL_S = 5.0


@dataclass(slots=True)
class Context:
    db: Database
    settings: Settings
    extras: dict[str, Any] = field(default_factory=dict)
    _funnel: Funnel | None = None
    _known_ledgers: dict[tuple[UUID, UUID], float] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.settings.env_name.lower() == "production"

    @property
    def funnel(self) -> Funnel:
        if self._funnel is None:
            self._funnel = Funnel(self.db, self.settings.funnel_batch_max)
        return self._funnel

    def known_ledger(self, organization_id: UUID, ledger_id: UUID) -> bool:
        seen = self._known_ledgers.get((organization_id, ledger_id))
        return seen is not None and time.monotonic() - seen < KNOWN_LEDGER_TTL_S

    def remember_ledger(self, organization_id: UUID, ledger_id: UUID) -> None:
        self._known_ledgers[(organization_id, ledger_id)] = time.monotonic()

    def forget_ledger(self, organization_id: UUID, ledger_id: UUID) -> None:
        self._known_ledgers.pop((organization_id, ledger_id), None)
