"""``make bench``: kontor against PostgreSQL's own limit, in one run on one machine (issue 5).

Starts PostgreSQL (embedded, in a temporary directory, unless ``DATABASE_URL``) and kontor
(``KONTOR_WORKERS``, default 2), sets up a ledger with ``BENCH_ACCOUNTS`` funded accounts, then runs:

a) pgbench's tpcb-like script on the same server with the same client count: the baseline;
b) single transfers over HTTP between uniformly random accounts (closed loop, ``BENCH_CLIENTS``);
c) the same, every transfer crediting one hot account;
d) batches of 1,000 transfers through POST .../transactions/batch, when kontor has it;
e) latency at a fixed offered rate of 100 and of 500 transfers/s (open loop);
f) b again with the events relay delivering every event to RabbitMQ, when a broker answers
   (issue 6): with no queue bound (the relay's own cost), then (g) with a durable queue taking
   every event (the broker storing them too, on the same cores); see bench/relay.py.

Each phase lasts ``BENCH_SECONDS`` (default 20). Prints a table and writes ``bench/results/latest.json``
and ``bench/results/latest.png``. See bench/README.md.
"""

from __future__ import annotations

import asyncio
import datetime
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from bench import ledger as ledgers
from bench import loadgen, pgbench, relay, report
from bench.loadgen import PhaseResult, PhaseSpec, Shape, Target
from bench.report import Phase, percentile
from bench.stack import CpuMeter, Database, Kontor, cores_used, machine
from kontor import __version__

RESULTS_DIR = Path(__file__).parent / "results"
OFFERED_RATES_PER_S = (100, 500)
# Load generator processes are started and warmed before a phase; all of them then begin on the
# same wall-clock instant this long after the phase is handed out.
START_LEAD_S = 1.0
PAUSE_BETWEEN_PHASES_S = 1.0
# Load sent to a restarted kontor (phases f and g) before the phase is measured.
RESTART_WARM_UP_S = 3


@dataclass(frozen=True, slots=True)
class Config:
    """The run's knobs, all from the environment (listed in bench/README.md)."""

    seconds: int
    clients: int
    workers: int
    accounts: int
    loadgen_processes: int
    bulk_clients: int
    database_url: str | None

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: int) -> int:
            raw = os.environ.get(name, "")
            return int(raw) if raw.strip() else default

        workers = number("KONTOR_WORKERS", 2)
        return cls(
            seconds=number("BENCH_SECONDS", 20),
            clients=number("BENCH_CLIENTS", 64),
            workers=workers,
            accounts=number("BENCH_ACCOUNTS", 10_000),
            loadgen_processes=number("BENCH_LOADGEN_PROCESSES", 2),
            bulk_clients=number("BENCH_BULK_CLIENTS", 2 * workers),
            database_url=os.environ.get("DATABASE_URL") or None,
        )


def main() -> int:
    config = Config.from_env()
    RESULTS_DIR.mkdir(exist_ok=True)
    print(
        f"kontor {__version__} bench: {config.workers} workers, {config.clients} clients, "
        f"{config.seconds} s per phase, {config.accounts:,} accounts",
        flush=True,
    )
    database = Database.start(config.database_url)
    kontor: Kontor | None = None
    try:
        postgres_version = database.version()
        where = "DATABASE_URL" if database.server is None else f"embedded PostgreSQL in {database.data_dir}"
        print(f"PostgreSQL {postgres_version} ({where})", flush=True)
        kontor = Kontor(database.url, config.workers, RESULTS_DIR / "latest-server.log")
        meter = CpuMeter(kontor.process.pid, database.postmaster_pid())
        print("setting up the ledger", flush=True)
        ledger = asyncio.run(ledgers.setup(kontor.host, kontor.port, config.accounts, config.clients, database.analyze))
        target = Target(kontor.host, kontor.port, ledger.path, config.accounts)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(config.loadgen_processes, mp_context=context) as pool:
            for future in [pool.submit(loadgen.warm_up) for _ in range(config.loadgen_processes)]:
                future.result()
            phases = _phases(config, database, meter, target, ledger, pool)
            kontor_alive = kontor.process.poll() is None
            kontor.stop()
            kontor = None
            warm_ups: list[Phase] = []
            for key, queue in (("f", False), ("g", True)):
                phases[key], alive = _with_relay(config, database, ledger, pool, key, warm_ups, queue=queue)
                kontor_alive = kontor_alive and alive
        report.add_ratios(phases)
        time.sleep(PAUSE_BETWEEN_PHASES_S)  # let the last phase's stragglers commit before counting
        in_ledger = database.count_transactions(ledger.ledger_id)
        check = _cross_check(config, [*phases.values(), *warm_ups], in_ledger)
    finally:
        if kontor is not None:
            kontor.stop()
        database.stop()
    _report(config, phases, ledger, machine(postgres_version), kontor_alive, check)
    return 0 if check["none_lost"] else 1


def _cross_check(config: Config, phases: list[Phase], in_ledger: int) -> dict[str, object]:
    """The ledger holds every transfer counted (else kontor lost an acknowledged one, or the harness
    over-counted), plus at most those sent but never answered (else a refused one was committed)."""
    counted = config.accounts + sum(p.transfers for p in phases if p.key != "a")
    unanswered = sum(p.unanswered for p in phases)
    return {
        "transactions_in_ledger": in_ledger,
        "transfers_counted": counted,
        "unanswered": unanswered,
        "none_lost": in_ledger >= counted,
        "none_extra": in_ledger <= counted + unanswered,
    }


def _phases(
    config: Config,
    database: Database,
    meter: CpuMeter,
    target: Target,
    ledger: ledgers.Ledger,
    pool: ProcessPoolExecutor,
) -> dict[str, Phase]:
    phases: dict[str, Phase] = {}
    print("a) pgbench tpcb-like", flush=True)
    phases["a"] = _pgbench(config, database, meter)
    run = _HttpPhases(pool, meter, config, target)
    print("b) single transfers, random accounts", flush=True)
    phases["b"] = run.closed("b", "b) HTTP transfers, random accounts", "closed", config.clients)
    print("c) single transfers into one hot account", flush=True)
    phases["c"] = run.closed("c", "c) HTTP transfers into one hot account", "closed", config.clients, hot=True)
    print("d) bulk batches of 1,000", flush=True)
    if ledger.bulk_available:
        phases["d"] = run.closed("d", "d) bulk, batches of 1,000", "bulk", config.bulk_clients)
    else:
        phases["d"] = Phase("d", "d) bulk, batches of 1,000", None, note=ledger.bulk_note)
    for rate in OFFERED_RATES_PER_S:
        print(f"e) open loop at {rate} transfers/s", flush=True)
        phases[f"e{rate}"] = run.open_loop(f"e{rate}", f"e) HTTP at {rate}/s offered", rate, config.clients)
    return phases


def _with_relay(
    config: Config,
    database: Database,
    ledger: ledgers.Ledger,
    pool: ProcessPoolExecutor,
    key: str,
    warm_ups: list[Phase],
    *,
    queue: bool,
) -> tuple[Phase, bool]:
    """Phase f (``queue`` False) or g: b again, kontor restarted with its relay delivering to RabbitMQ.

    The restarted kontor first takes ``RESTART_WARM_UP_S`` of the same load, not measured (its
    transfers go to ``warm_ups`` for the cross-check): b runs in processes that set-up and the
    earlier phases have warmed (connections, prepared statements, caches), and f must not pay the
    cold start b did not.
    """
    where = "a durable queue" if queue else "no queue bound"
    label = f"{key}) as f, a durable queue bound" if queue else f"{key}) as b, relay to RabbitMQ, no queue"
    url = relay.broker_url()
    if url is None:
        print(f"{key}) skipped: no RabbitMQ answers (BENCH_RABBITMQ_URL)", flush=True)
        return Phase(key, label, None, note="skipped: no RabbitMQ broker answered"), True
    print(f"{key}) single transfers, the relay delivering every event to RabbitMQ, {where}", flush=True)
    asyncio.run(relay.prepare_broker(url, queue=queue))
    asyncio.run(relay.start_cursors_at_heads(database.url))
    log = RESULTS_DIR / f"latest-server-{key}.log"
    kontor = Kontor(database.url, config.workers, log, relay.kontor_env(url))
    try:
        meter = CpuMeter(kontor.process.pid, database.postmaster_pid())
        target = Target(kontor.host, kontor.port, ledger.path, config.accounts)
        warm = replace(config, seconds=min(RESTART_WARM_UP_S, config.seconds))
        warm_ups.append(_HttpPhases(pool, meter, warm, target).closed(f"{key}0", "warm-up", "closed", config.clients))
        phase = _HttpPhases(pool, meter, config, target).closed(key, label, "closed", config.clients)
        drain = relay.wait_drained(database.url)
        caught_up = (
            f"caught up {drain.caught_up_after_s:.1f} s after the phase"
            if drain.caught_up_after_s is not None
            else f"still behind {relay.DRAIN_TIMEOUT_S:.0f} s after the phase"
        )
        held = f"{asyncio.run(relay.queued(url)):,} messages in the durable queue" if queue else "no queue bound"
        phase.note = f"relay: {drain.backlog_at_end:,} events behind at the end, {caught_up}; {held}"
        return phase, kontor.process.poll() is None
    finally:
        kontor.stop()
        asyncio.run(relay.drop_broker(url))


def _pgbench(config: Config, database: Database, meter: CpuMeter) -> Phase:
    run_as = database.server.run_as if database.server else None
    pgbench.initialise(database.pgbench_url, run_as)
    before = meter.sample()
    result = pgbench.run(database.pgbench_url, config.clients, config.seconds, run_as)
    cores = cores_used(before, meter.sample(), result.cpu_s / result.wall_s)
    # Left in place, the tables pgbench just updated are vacuumed by autovacuum during b and c (an
    # autovacuum worker on a pgbench table in 47 % of pg_stat_activity samples taken through c).
    database.drop_pgbench_tables()
    return Phase(
        "a",
        f"a) pgbench tpcb-like, {config.clients} clients",
        result.tps,
        percentile(result.latencies_ms, 0.50),
        percentile(result.latencies_ms, 0.99),
        transfers=len(result.latencies_ms),
        errors={"pgbench failed transactions": result.failed} if result.failed else {},
        cores=cores,
        per_second=result.per_second,
    )


class _HttpPhases:
    """Hands each HTTP phase to the load generator processes and measures the machine meanwhile."""

    def __init__(self, pool: ProcessPoolExecutor, meter: CpuMeter, config: Config, target: Target) -> None:
        self.pool, self.meter, self.config, self.target = pool, meter, config, target
        self.seed = 0

    def closed(self, key: str, label: str, shape: Shape, connections: int, *, hot: bool = False) -> Phase:
        spec = self._spec(key, shape, connections, hot=hot)
        return self._run(label, spec, connections, rate=None)

    def open_loop(self, key: str, label: str, rate: int, connections: int) -> Phase:
        spec = self._spec(key, "open", connections)
        return self._run(label, spec, connections, rate=rate)

    def _spec(self, key: str, shape: Shape, connections: int, *, hot: bool = False) -> PhaseSpec:
        return PhaseSpec(key, shape, self.target, connections, self.config.seconds, start_at=0.0, seed=0, hot=hot)

    def _run(self, label: str, spec: PhaseSpec, connections: int, rate: int | None) -> Phase:
        time.sleep(PAUSE_BETWEEN_PHASES_S)
        start_at = time.time() + START_LEAD_S
        specs = []
        processes = min(self.config.loadgen_processes, connections)
        for index in range(processes):
            self.seed += 1
            share = connections // processes + (index < connections % processes)
            specs.append(
                replace(
                    spec,
                    connections=share,
                    start_at=start_at,
                    seed=self.seed,
                    rate_per_s=(rate or 0) / processes,
                    phase_offset=index / processes,
                )
            )
        futures = [self.pool.submit(loadgen.run_phase, s) for s in specs]
        _sleep_until(start_at)
        before = self.meter.sample()
        _sleep_until(start_at + spec.seconds)
        after = self.meter.sample()
        results = [future.result() for future in futures]
        return _merge(spec.name, label, spec.seconds, results, cores_used(before, after, _loadgen_cores(results)), rate)


def _sleep_until(wall_clock: float) -> None:
    time.sleep(max(0.0, wall_clock - time.time()))


def _loadgen_cores(results: list[PhaseResult]) -> float:
    """CPU cores the load generator processes kept busy, each over its own window."""
    return sum(r.cpu_s / max(r.window_s, 1e-9) for r in results)


def _merge(key: str, label: str, seconds: float, results: list[PhaseResult], cores: dict, rate: int | None) -> Phase:
    latencies = [ms for r in results for ms in r.latencies_ms]
    errors: Counter[str] = Counter()
    for r in results:
        errors.update(r.errors)
    per_second = [float(sum(column)) for column in zip(*(r.per_second for r in results), strict=True)]
    lags = [ms for r in results for ms in r.send_lag_ms]
    ok = sum(r.ok for r in results)
    elapsed_s = max(r.window_s for r in results)
    late = max(r.late_start_s for r in results)
    return Phase(
        key,
        label,
        ok / max(elapsed_s, seconds),
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        transfers=ok,
        elapsed_s=elapsed_s,
        unanswered=sum(r.unanswered for r in results),
        errors=dict(errors),
        cores=cores,
        per_second=per_second[: int(seconds)],
        offered_per_s=float(rate) if rate else None,
        send_lag_p99_ms=percentile(lags, 0.99),
        note=f"a load generator started {late:.2f} s late" if late > 0.05 else "",
    )


def _report(
    config: Config, phases: dict[str, Phase], ledger: ledgers.Ledger, box: dict, kontor_alive: bool, check: dict
) -> None:
    run = {
        "clients": config.clients,
        "workers": config.workers,
        "seconds": config.seconds,
        "accounts": config.accounts,
        "loadgen_processes": config.loadgen_processes,
        "bulk_clients": config.bulk_clients,
        "bulk_available": ledger.bulk_available,
        "bulk_note": ledger.bulk_note,
        "setup_s": ledger.timings_s,
        "database": "DATABASE_URL" if config.database_url else "embedded",
        "kontor_version": __version__,
        "git_commit": _git_commit(),
        "finished_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": box,
        "cross_check": check,
    }
    print()
    print(report.table(phases))
    print("\n(cores: average CPU cores busy during the phase, by the load generator, kontor's processes,")
    print(" PostgreSQL's, and everything else on the machine; gen is pgbench itself in phase a;")
    print(" d's latencies are per batch of 1,000; e's are measured from each transfer's scheduled send time)")
    lags = {k: p.send_lag_p99_ms for k, p in phases.items() if p.send_lag_p99_ms is not None}
    if lags:
        print("open-loop send lag p99 (generator wake-up after the scheduled time): ", end="")
        print(", ".join(f"{k} {v:.2f} ms" for k, v in lags.items()))
    notes = [f"  {p.key}: {p.note}" for p in phases.values() if p.tps is not None and p.note]
    if notes:
        print("notes:\n" + "\n".join(notes))
    if errors := report.errors_text(phases):
        print("errors (not counted as transfers):\n" + errors)
    print(
        f"cross-check: the ledger holds {check['transactions_in_ledger']:,} transactions; the harness counted "
        f"{check['transfers_counted']:,} answered 201 (funding included) and {check['unanswered']:,} unanswered"
    )
    if not check["none_lost"]:
        print("  FEWER in the ledger than acknowledged: kontor lost transfers, or the harness over-counted")
    if not check["none_extra"]:
        print("  MORE in the ledger than acknowledged or unanswered: some refused transfer was committed")
    if not kontor_alive:
        print("kontor's process exited during the run: see bench/results/latest-server.log")
    print("goals (issues 5 and 6):\n" + report.goals_text(phases))
    report.write_json(RESULTS_DIR / "latest.json", report.summary(phases, run))
    title = (
        f"kontor {__version__} ({run['git_commit']}), {config.workers} workers, {config.clients} clients, "
        f"{config.seconds} s/phase — {box['cpu_model']}, {box['cores']} cores, PostgreSQL {box['postgres']}"
    )
    skipped = report.chart(RESULTS_DIR / "latest.png", phases, title)
    print(f"wrote {RESULTS_DIR / 'latest.json'}" + (f"; no chart: {skipped}" if skipped else " and latest.png"))


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], capture_output=True, text=True, check=True, cwd=RESULTS_DIR
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
