"""What the benchmark runs on: the PostgreSQL server, kontor in front of it, and the machine under both.

With no ``DATABASE_URL`` the harness starts kontor's embedded PostgreSQL itself, in a temporary
directory, and hands kontor its URL: then pgbench can reach the very same server over its unix
socket, and the server's CPU time can be read from its process tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil

from kontor.store import embedded, migrate

KONTOR = Path(sys.executable).parent / "kontor"
KONTOR_START_TIMEOUT_S = 90
KONTOR_STOP_TIMEOUT_S = 20
PGBENCH_DATABASE = "kontor_bench_pgbench"
PGBENCH_TABLES = ("pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history")


@dataclass(slots=True)
class Database:
    """The PostgreSQL server under test: kontor's URL, pgbench's URL, and the embedded server if ours."""

    url: str
    pgbench_url: str
    server: embedded.EmbeddedServer | None = None
    data_dir: Path | None = None

    @classmethod
    def start(cls, database_url: str | None) -> Database:
        if database_url:
            pgbench_url = _with_database(database_url, PGBENCH_DATABASE)
            asyncio.run(migrate.ensure_database(database_url, PGBENCH_DATABASE))
            return cls(database_url, pgbench_url)
        data_dir = Path(tempfile.mkdtemp(prefix="kontor-bench-"))
        server = embedded.prepare(data_dir)
        server.start()
        for name in (embedded.DATABASE, PGBENCH_DATABASE):
            asyncio.run(migrate.ensure_database(server.admin_url(), name))
        return cls(server.url, server.admin_url(PGBENCH_DATABASE), server, data_dir)

    def postmaster_pid(self) -> int | None:
        """The server's main process when it runs here (embedded), for its CPU time."""
        if self.server is None:
            return None
        with contextlib.suppress(OSError, ValueError):
            return int((self.server.pgdata / "postmaster.pid").read_text().split()[0])
        return None

    def version(self) -> str:
        async def query() -> str:
            conn = await asyncpg.connect(self.url)
            try:
                return str(await conn.fetchval("SHOW server_version"))
            finally:
                await conn.close()

        return asyncio.run(query())

    async def analyze(self) -> None:
        """``ANALYZE`` kontor's database, as ``pgbench -i`` does for its own tables before phase a.

        Right after set-up the planner has no statistics on the tables just filled, and a cached
        generic plan can then scan every balance of the ledger per row it looks up (see
        bench/README.md); the phases measure a ledger in its steady state, not that transient.
        """
        conn = await asyncpg.connect(self.url)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()

    def count_transactions(self, ledger_id: str) -> int:
        """How many transactions the ledger holds: the cross-check of the harness's own count."""

        async def query() -> int:
            conn = await asyncpg.connect(self.url)
            try:
                return int(await conn.fetchval("SELECT count(*) FROM transactions WHERE ledger_id = $1", ledger_id))
            finally:
                await conn.close()

        return asyncio.run(query())

    def drop_pgbench_tables(self) -> None:
        """Drop what phase a left (its tables, their dead rows, autovacuum's work on them), so that
        the phases after it are not charged for it."""

        async def drop() -> None:
            conn = await asyncpg.connect(self.pgbench_url)
            try:
                await conn.execute(f"DROP TABLE IF EXISTS {', '.join(PGBENCH_TABLES)}")
            finally:
                await conn.close()

        asyncio.run(drop())

    def stop(self) -> None:
        if self.server is None:
            with contextlib.suppress(Exception):
                asyncio.run(_drop_database(self.url, PGBENCH_DATABASE))
            return
        self.server.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


async def _drop_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await conn.close()


class Kontor:
    """``kontor serve`` as a child process in its own session, on a free port."""

    def __init__(
        self, database_url: str, workers: int, log_path: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.workers = workers
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KONTOR_HOST": self.host,
            "KONTOR_PORT": str(self.port),
            "KONTOR_WORKERS": str(workers),
            "KONTOR_LOG_LEVEL": "warning",
            **(extra_env or {}),
        }
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(KONTOR), "serve"], env=env, stdout=log, stderr=log, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + KONTOR_START_TIMEOUT_S
        url = f"http://{self.host}:{self.port}/readyz"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kontor exited with {self.process.returncode} before it was ready")
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"kontor was not ready within {KONTOR_START_TIMEOUT_S} s")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=KONTOR_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Cumulative CPU seconds at one instant: the whole machine (busy and total) and each party."""

    at: float
    machine_busy_s: float
    kontor_s: float
    postgres_s: float | None


class CpuMeter:
    """CPU time of kontor's process tree, the PostgreSQL server's (when local) and the machine.

    A process tree's time is its live processes' own time plus what they have reaped, so a
    backend that exits between two samples still counts.
    """

    def __init__(self, kontor_pid: int, postmaster_pid: int | None) -> None:
        self._kontor_pid = kontor_pid
        self._postmaster_pid = postmaster_pid

    def sample(self) -> CpuSample:
        times = psutil.cpu_times()
        busy = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        postgres = _tree_cpu_s(self._postmaster_pid) if self._postmaster_pid else None
        return CpuSample(time.perf_counter(), busy, _tree_cpu_s(self._kontor_pid), postgres)


def _tree_cpu_s(pid: int) -> float:
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            t = process.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


def cores_used(before: CpuSample, after: CpuSample, loadgen: float) -> dict[str, float | None]:
    """Average cores busy between two samples, by party; "other" is everything else on the machine.

    ``loadgen`` is the load generator's own figure (it measures itself), in cores.
    """
    wall = max(after.at - before.at, 1e-9)
    machine = (after.machine_busy_s - before.machine_busy_s) / wall
    kontor = (after.kontor_s - before.kontor_s) / wall
    postgres = None
    if before.postgres_s is not None and after.postgres_s is not None:
        postgres = (after.postgres_s - before.postgres_s) / wall
    other = machine - kontor - (postgres or 0.0) - loadgen if postgres is not None else None
    return {"machine": machine, "loadgen": loadgen, "kontor": kontor, "postgres": postgres, "other": other}


def machine(postgres_version: str) -> dict[str, object]:
    """The facts of this machine that a reader needs to compare runs."""
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "postgres": postgres_version,
        "os": platform.platform(),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"
