"""Typed settings, read once from the environment.

Every variable is listed in README.md; ``tests/unit/test_config.py`` keeps the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """kontor's configuration. Each field's environment variable is ``ENV[field name]``."""

    host: str = "127.0.0.1"
    port: int = 3002
    workers: int = 1
    data_dir: Path = Path(".kontor/data")
    database_url: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    db_connect_timeout_s: float = 5.0
    db_command_timeout_s: float = 30.0
    env_name: str = "development"
    log_level: str = "info"
    funnel_batch_max: int = 500
    # Events (docs/events.md): which sinks, and how the relay delivers to them.
    events_relay: bool = True
    events_rabbitmq_url: str | None = None
    events_rabbitmq_exchange: str = "kontor.events"
    events_rabbitmq_types: str = ""
    events_nats_url: str | None = None
    events_nats_stream: str = "KONTOR_EVENTS"
    events_nats_subject: str = "kontor.events"
    events_nats_types: str = ""
    events_webhooks: bool = True
    events_batch_max: int = 500
    events_attempts_max: int = 10
    events_retry_base_s: float = 0.5
    events_retry_max_s: float = 30.0
    events_poll_s: float = 1.0
    events_linger_s: float = 0.02
    events_timeout_s: float = 10.0


ENV: dict[str, str] = {
    "host": "KONTOR_HOST",
    "port": "KONTOR_PORT",
    "workers": "KONTOR_WORKERS",
    "data_dir": "KONTOR_DATA_DIR",
    "database_url": "DATABASE_URL",
    "db_pool_min": "KONTOR_DB_POOL_MIN",
    "db_pool_max": "KONTOR_DB_POOL_MAX",
    "db_connect_timeout_s": "KONTOR_DB_CONNECT_TIMEOUT_S",
    "db_command_timeout_s": "KONTOR_DB_COMMAND_TIMEOUT_S",
    "env_name": "ENV_NAME",
    "log_level": "KONTOR_LOG_LEVEL",
    "funnel_batch_max": "KONTOR_FUNNEL_BATCH_MAX",
    "events_relay": "KONTOR_EVENTS_RELAY",
    "events_rabbitmq_url": "KONTOR_EVENTS_RABBITMQ_URL",
    "events_rabbitmq_exchange": "KONTOR_EVENTS_RABBITMQ_EXCHANGE",
    "events_rabbitmq_types": "KONTOR_EVENTS_RABBITMQ_TYPES",
    "events_nats_url": "KONTOR_EVENTS_NATS_URL",
    "events_nats_stream": "KONTOR_EVENTS_NATS_STREAM",
    "events_nats_subject": "KONTOR_EVENTS_NATS_SUBJECT",
    "events_nats_types": "KONTOR_EVENTS_NATS_TYPES",
    "events_webhooks": "KONTOR_EVENTS_WEBHOOKS",
    "events_batch_max": "KONTOR_EVENTS_BATCH_MAX",
    "events_attempts_max": "KONTOR_EVENTS_ATTEMPTS_MAX",
    "events_retry_base_s": "KONTOR_EVENTS_RETRY_BASE_S",
    "events_retry_max_s": "KONTOR_EVENTS_RETRY_MAX_S",
    "events_poll_s": "KONTOR_EVENTS_POLL_S",
    "events_linger_s": "KONTOR_EVENTS_LINGER_S",
    "events_timeout_s": "KONTOR_EVENTS_TIMEOUT_S",
}


def load(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment); unset means default."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        raw = env.get(ENV[f.name])
        if raw is None or raw == "":
            continue
        values[f.name] = _convert(f.name, raw, f.type)
    return Settings(**values)  # type: ignore[arg-type]


def _convert(name: str, raw: str, kind: object) -> object:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
        if kind_name == "Path":
            return Path(raw)
        if kind_name == "bool":
            return _boolean(raw)
    except ValueError as exc:
        raise SystemExit(f"{ENV[name]}={raw!r} is not a valid {kind_name}") from exc
    return raw


def _boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)
