"""What a run leaves behind: the printed table, ``results/latest.json`` and ``results/latest.png``."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

# The goals of issue 5, checked on every run: (label, phase, metric, bound, lower is better).
GOALS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("b >= 1.0 x a", "b", "ratio", 1.0, False),
    ("c >= 0.9 x b", "c", "ratio_to_b", 0.9, False),
    ("d >= 10 x a", "d", "ratio", 10.0, False),
    ("p50 <= 3 ms at 100/s", "e100", "p50_ms", 3.0, True),
    ("p99 <= 8 ms at 100/s", "e100", "p99_ms", 8.0, True),
    ("p99 <= 25 ms at 500/s", "e500", "p99_ms", 25.0, True),
    ("f >= 0.9 x b (issue 6)", "f", "ratio_to_b", 0.9, False),
)
# Shown with the goals, not one of them: g includes the broker's own work on the machine's cores.
FIGURES: tuple[tuple[str, str, str], ...] = (("g / b (broker storing too)", "g", "ratio_to_b"),)


@dataclass(slots=True)
class Phase:
    """One phase's figures. ``tps`` is None when the phase could not run (``note`` says why)."""

    key: str
    label: str
    tps: float | None
    p50_ms: float | None = None
    p99_ms: float | None = None
    transfers: int = 0
    elapsed_s: float | None = None  # from the start to the last answer awaited (sending stops at the window's end)
    unanswered: int = 0  # sent but never answered (connection lost, drain timeout): each may have committed
    errors: dict[str, int] = field(default_factory=dict)
    cores: dict[str, float | None] = field(default_factory=dict)
    per_second: list[float] = field(default_factory=list)
    offered_per_s: float | None = None
    send_lag_p99_ms: float | None = None
    ratio: float | None = None
    ratio_to_b: float | None = None
    note: str = ""


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (no interpolation: every figure reported is one that was measured)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def add_ratios(phases: dict[str, Phase]) -> None:
    base, b = phases["a"].tps, phases["b"].tps
    for phase in phases.values():
        if phase.tps is not None and base:
            phase.ratio = phase.tps / base
    for key in ("c", "f", "g"):
        phase = phases.get(key)
        if phase is not None and phase.tps is not None and b:
            phase.ratio_to_b = phase.tps / b


def goals(phases: dict[str, Phase]) -> list[dict[str, object]]:
    checked: list[dict[str, object]] = []
    for label, key, metric, bound, lower_is_better in GOALS:
        value = getattr(phases[key], metric) if key in phases else None
        met = None if value is None else (value <= bound if lower_is_better else value >= bound)
        checked.append({"goal": label, "value": value, "met": met})
    return checked


def summary(phases: dict[str, Phase], run: dict[str, object]) -> dict[str, object]:
    """latest.json: the headline keys first, then every phase in full."""

    def tps(key: str) -> float | None:
        return phases[key].tps

    return {
        "pgbench_tps": tps("a"),
        "http_tps": tps("b"),
        "hot_tps": tps("c"),
        "bulk_tps": tps("d"),
        "p50_ms_at_100": phases["e100"].p50_ms,
        "p99_ms_at_100": phases["e100"].p99_ms,
        "p50_ms_at_500": phases["e500"].p50_ms,
        "p99_ms_at_500": phases["e500"].p99_ms,
        "relay_rabbitmq_tps": tps("f") if "f" in phases else None,
        "relay_rabbitmq_queue_tps": tps("g") if "g" in phases else None,
        **run,
        "goals": goals(phases),
        "phases": {key: asdict(phase) for key, phase in phases.items()},
    }


def write_json(path: Path, data: dict[str, object]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(phases: dict[str, Phase]) -> str:
    header = (
        f"{'phase':<40} {'transfers/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'x a':>6} {'errors':>7}"
        f"   cores: {'gen':>4} {'kontor':>6} {'pg':>4} {'other':>5}"
    )
    lines = [header, "-" * len(header)]
    for phase in phases.values():
        if phase.tps is None:
            lines.append(f"{phase.label:<40} {phase.note}")
            continue
        c = phase.cores
        lines.append(
            f"{phase.label:<40} {phase.tps:>11,.1f} {_fmt(phase.p50_ms, '.2f'):>8} {_fmt(phase.p99_ms, '.2f'):>8}"
            f" {_fmt(phase.ratio, '.2f'):>6} {sum(phase.errors.values()):>7,}"
            f"          {_fmt(c.get('loadgen'), '.2f'):>4} {_fmt(c.get('kontor'), '.2f'):>6}"
            f" {_fmt(c.get('postgres'), '.2f'):>4} {_fmt(c.get('other'), '.2f'):>5}"
        )
    return "\n".join(lines)


def errors_text(phases: dict[str, Phase]) -> str:
    lines = []
    for phase in phases.values():
        for kind, count in sorted(phase.errors.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {phase.key}: {count:,} x {kind}")
    return "\n".join(lines)


def goals_text(phases: dict[str, Phase]) -> str:
    lines = []
    for goal in goals(phases):
        mark = {True: "met", False: "NOT met", None: "not measured"}[goal["met"]]  # type: ignore[index]
        value = goal["value"]
        shown = "—" if value is None else f"{value:.2f}"
        lines.append(f"  {goal['goal']:<24} {shown:>8}  {mark}")
    for label, key, metric in FIGURES:
        value = getattr(phases[key], metric) if key in phases else None
        lines.append(f"  {label:<24} {'—' if value is None else f'{value:.2f}':>8}")
    return "\n".join(lines)


def chart(path: Path, phases: dict[str, Phase], title: str) -> str | None:
    """Draw the runs to ``path``; None when done, else why not (matplotlib is a dev extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[dev]')"
    figure, (bars, latency, timeline) = plt.subplots(1, 3, figsize=(18, 5.5))
    figure.suptitle(title, fontsize=10)
    _throughput(bars, phases)
    _latency(latency, phases)
    _timeline(timeline, phases)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return None


def _throughput(ax, phases: dict[str, Phase]) -> None:  # type: ignore[no-untyped-def]
    keys = ["a", "b", "c", "d"]
    values = [phases[k].tps or 0.0 for k in keys]
    colors = ["#777777", "#1f77b4", "#ff7f0e", "#2ca02c"]
    ax.bar(keys, values, color=colors)
    for i, key in enumerate(keys):
        phase = phases[key]
        text = "n/a" if phase.tps is None else f"{phase.tps:,.0f}\n({_fmt(phase.ratio, '.2f')} x a)"
        ax.annotate(text, (i, values[i]), ha="center", va="bottom", fontsize=8)
    if max(values) > 20 * max(min(v for v in values if v > 0), 1):
        ax.set_yscale("log")
    ax.set_title("transfers/s (a pgbench, b random, c hot, d bulk)", fontsize=9)
    ax.margins(y=0.2)


def _latency(ax, phases: dict[str, Phase]) -> None:  # type: ignore[no-untyped-def]
    keys = [k for k in ("a", "b", "c", "e100", "e500") if phases[k].p50_ms is not None]
    x = range(len(keys))
    ax.bar([i - 0.2 for i in x], [phases[k].p50_ms or 0 for k in keys], width=0.4, label="p50")
    ax.bar([i + 0.2 for i in x], [phases[k].p99_ms or 0 for k in keys], width=0.4, label="p99")
    goals = {"e100": (3.0, 8.0), "e500": (None, 25.0)}
    for i, key in enumerate(keys):
        p50_goal, p99_goal = goals.get(key, (None, None))
        if p50_goal:
            ax.hlines(p50_goal, i - 0.4, i, colors="black", linestyles="dashed")
        if p99_goal:
            ax.hlines(p99_goal, i, i + 0.4, colors="black", linestyles="dashed")
    ax.set_xticks(list(x), keys)
    ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.set_title("latency (e: open loop at 100/s and 500/s; dashed: goals)", fontsize=9)
    ax.legend(fontsize=8)


def _timeline(ax, phases: dict[str, Phase]) -> None:  # type: ignore[no-untyped-def]
    for phase in phases.values():
        if phase.per_second:
            # A second with nothing completed (a bulk batch can take longer) is a gap on a log scale.
            counts = [count or math.nan for count in phase.per_second]
            ax.plot(range(len(counts)), counts, label=phase.key, marker=".")
    ax.set_yscale("log")
    ax.set_xlabel("second of the phase")
    ax.set_title("transfers completed per second", fontsize=9)
    ax.legend(fontsize=8)
