"""``make bench-ab``: two versions of kontor, alternated on one database, phases b, c and d.

A single ``make bench`` cannot tell a change of 10-20 % from the machine's drift, which moves
pgbench alone by as much between runs. This runs the working tree (B) and an earlier commit (A,
``BENCH_AB_BASE``, default ``HEAD~1``, checked out into a temporary git worktree) against the same
embedded PostgreSQL and the same ledger, each restarted for every round, the order alternating
(A B, B A, ...), so both see the same minutes of the machine and the same database as it grows.

The ledger is set up once by B, whose migrations must therefore leave a schema that A's code
still runs on (true of an added column with a default; say so in the results when not checked).
``BENCH_AB_A_ENV`` and ``BENCH_AB_B_ENV`` add environment to one side's kontor (``KEY=VALUE``
separated by spaces), so one commit can be set against itself with other settings, e.g.
``BENCH_AB_BASE=HEAD BENCH_AB_B_ENV="KONTOR_WORKERS=1"``.
Knobs: ``BENCH_AB_ROUNDS`` (default 3), ``BENCH_AB_PHASES`` (default ``bcd``; ``e`` adds the open
loop at 100/s), ``BENCH_SECONDS`` (default 10 here) and those of bench/run.py.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from bench import ledger as ledgers
from bench import loadgen
from bench.loadgen import Target
from bench.report import Phase
from bench.run import RESULTS_DIR, Config, _HttpPhases
from bench.stack import CpuMeter, Database, Kontor

REPO = Path(__file__).resolve().parent.parent
WARM_UP_S = 3
FIGURES = ("tps", "p50_ms", "p99_ms", "kontor_us", "postgres_us")


def main() -> int:
    base = os.environ.get("BENCH_AB_BASE") or "HEAD~1"
    rounds = int(os.environ.get("BENCH_AB_ROUNDS") or 3)
    phases = os.environ.get("BENCH_AB_PHASES") or "bcd"
    config = Config.from_env()
    if not os.environ.get("BENCH_SECONDS"):
        config = replace(config, seconds=10)
    RESULTS_DIR.mkdir(exist_ok=True)
    commit = _git("rev-parse", "--short", base)
    with tempfile.TemporaryDirectory(prefix="kontor-ab-") as tmp:
        worktree = Path(tmp) / "a"
        _git("worktree", "add", "--detach", str(worktree), commit)
        try:
            trees = {
                _label("A", commit): (worktree / "src", _env("BENCH_AB_A_ENV")),
                _label("B", _git("describe", "--always", "--dirty")): (REPO / "src", _env("BENCH_AB_B_ENV")),
            }
            print(
                f"bench-ab: {' against '.join(reversed(trees))}, {rounds} rounds of {phases}, {config.seconds} s each"
            )
            rows = _alternate(config, trees, rounds, phases)
        finally:
            _git("worktree", "remove", "--force", str(worktree))
    print(_summary(rows, list(trees), phases))
    out = RESULTS_DIR / "ab-latest.json"
    out.write_text(json.dumps({"base": commit, "seconds": config.seconds, "rounds": rows}, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


Tree = tuple[Path, dict[str, str]]  # a version: its source tree and its extra environment


def _label(side: str, commit: str) -> str:
    extra = os.environ.get(f"BENCH_AB_{side}_ENV", "").strip()
    return f"{side} {commit}" + (f" {extra}" if extra else "")


def _env(name: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in os.environ.get(name, "").split())


def _alternate(config: Config, trees: dict[str, Tree], rounds: int, phases: str) -> list[dict[str, object]]:
    database = Database.start(None)
    rows: list[dict[str, object]] = []
    try:
        names = list(trees)
        kontor = _start(database, trees[names[-1]][0], {}, "setup")
        try:
            ledger = asyncio.run(
                ledgers.setup(kontor.host, kontor.port, config.accounts, config.clients, database.analyze)
            )
        finally:
            kontor.stop()
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(config.loadgen_processes, mp_context=context) as pool:
            for future in [pool.submit(loadgen.warm_up) for _ in range(config.loadgen_processes)]:
                future.result()
            for index in range(rounds):
                for name in names if index % 2 == 0 else names[::-1]:
                    row = _round(config, database, ledger, pool, trees[name], phases)
                    rows.append({"round": index, "code": name, **row})
                    print(json.dumps(rows[-1]), flush=True)
    finally:
        database.stop()
    return rows


def _start(database: Database, src: Path, extra: dict[str, str], label: str) -> Kontor:
    os.environ["PYTHONPATH"] = str(src)  # the child imports kontor from this tree
    workers = int(os.environ.get("KONTOR_WORKERS") or 2)
    return Kontor(database.url, workers, RESULTS_DIR / f"ab-server-{label}.log", extra)


def _round(
    config: Config, database: Database, ledger: ledgers.Ledger, pool: ProcessPoolExecutor, tree: Tree, phases: str
) -> dict[str, dict[str, float]]:
    src, extra = tree
    kontor = _start(database, src, extra, src.parent.name)
    try:
        meter = CpuMeter(kontor.process.pid, database.postmaster_pid())
        target = Target(kontor.host, kontor.port, ledger.path, config.accounts)
        _HttpPhases(pool, meter, replace(config, seconds=WARM_UP_S), target).closed(
            "w", "warm-up", "closed", config.clients
        )
        run = _HttpPhases(pool, meter, config, target)
        figures: dict[str, dict[str, float]] = {}
        for key in phases:
            if key == "b":
                phase = run.closed("b", "b", "closed", config.clients)
            elif key == "c":
                phase = run.closed("c", "c", "closed", config.clients, hot=True)
            elif key == "d":
                phase = run.closed("d", "d", "bulk", config.bulk_clients)
            elif key == "e":
                phase = run.open_loop("e", "e", 100, config.clients)
            else:
                raise SystemExit(f"BENCH_AB_PHASES: no phase {key!r} (b, c, d or e)")
            figures[key] = _figures(phase)
        return figures
    finally:
        kontor.stop()


def _figures(phase: Phase) -> dict[str, float]:
    tps = phase.tps or 0.0
    cores = phase.cores or {}
    return {
        "tps": round(tps, 1),
        "p50_ms": round(phase.p50_ms or 0.0, 2),
        "p99_ms": round(phase.p99_ms or 0.0, 2),
        "kontor_us": round(1e6 * (cores.get("kontor") or 0.0) / max(tps, 1.0)),
        "postgres_us": round(1e6 * (cores.get("postgres") or 0.0) / max(tps, 1.0)),
    }


def _summary(rows: list[dict[str, object]], names: list[str], phases: str) -> str:
    """Per phase and figure: each version's median over its rounds, and B / A."""
    lines = ["phase figure        " + "".join(f"{n:>22}" for n in names) + "     B / A"]
    for key in phases:
        for figure in FIGURES:
            medians = [
                statistics.median(float(r[key][figure]) for r in rows if r["code"] == n)  # type: ignore[index]
                for n in names
            ]
            ratio = medians[1] / medians[0] if medians[0] else float("nan")
            lines.append(f"{key:<5} {figure:<12}" + "".join(f"{m:>22,.1f}" for m in medians) + f"{ratio:>10.2f}")
    return "\n".join(lines)


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=REPO)
    return out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
