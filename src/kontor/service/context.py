"""What every use case needs: the database and the settings, wired once by ``kontor.bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kontor.config import Settings
from kontor.store.db import Database


@dataclass(slots=True)
class Context:
    db: Database
    settings: Settings
    extras: dict[str, Any]

    @property
    def production(self) -> bool:
        return self.settings.env_name.lower() == "production"
