"""``lcen bench operation``: direct vs dw vs lp vs rolling on one case.

For each weight (and the given design), every method runs in its own process; the table
holds the time to certified gaps of 5 %, 2 % and 1 %, the final bounds and gap, and the
peak memory; the figure draws certified gap against time, one line per method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from design.bench.figures import axes, save
from design.bench.runner import OperateRun, run_operate


@dataclass(frozen=True)
class OperationBench:
    """Which runs: case, methods, weights, design overrides, horizon and limits."""

    case: str
    methods: tuple[str, ...] = ("direct", "dw", "lp", "rolling")
    weights: tuple[float | None, ...] = (None,)
    design: tuple[tuple[str, float], ...] = ()
    horizon: int | None = None
    time_limit: float = 3600.0
    gap: float = 0.01
    solver: str = "auto"


def bench_operation(bench: OperationBench, out: Path, progress=print) -> pd.DataFrame:
    """Run every method for every weight; writes ``operation.csv`` and ``operation.png``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for w in bench.weights:
        for method in bench.methods:
            gap = bench.gap if method in ("dw", "rolling") else None
            run = OperateRun(bench.case, method, bench.horizon, w, bench.design,
                             bench.time_limit, gap if method != "direct" else 1e-4,
                             bench.solver)
            tag = f"{method}-W{'default' if w is None else w}"
            progress(f"{bench.case}: {method}, W = {w if w is not None else 'case default'}")
            row = run_operate(run, out / tag)
            progress(f"  {row['status']}: LB {row['lower_bound']}, UB {row['upper_bound']}, "
                     f"gap {row['gap']}, {row['seconds']:.1f} s, {row['peak_rss_mb']:.0f} MiB")
            rows.append(row)
    df = pd.DataFrame(rows)
    df.drop(columns="trace").to_csv(out / "operation.csv", index=False)
    draw_gap_vs_time(df, out / "operation.png", bench.case)
    return df


def draw_gap_vs_time(df: pd.DataFrame, path: Path, title: str) -> None:
    """Certified gap (log scale) against seconds, one line per method and weight."""
    fig, ax = axes()
    for _, row in df.iterrows():
        trace = json.loads(row["trace"])
        if not trace:
            continue
        t, g = zip(*trace, strict=True)
        label = f"{row['method']} (W={row['weight']})"
        style = "-o" if len(t) > 1 else "o"
        ax.plot(t, [max(x, 1e-6) * 100 for x in g], style, label=label, markersize=4)
    for _, row in df[df["method"] == "lp"].iterrows():
        ax.axvline(row["seconds"], color="grey", ls=":", lw=1)
        ax.annotate("lp bound", (row["seconds"], 0.98), xycoords=("data", "axes fraction"),
                    fontsize=7, color="grey", rotation=90, va="top")
    for target in (5, 2, 1):
        ax.axhline(target, color="0.85", lw=0.8, zorder=0)
    ax.set_yscale("log")
    ax.set_xlabel("seconds")
    ax.set_ylabel("certified gap (%)")
    save(fig, path, f"{title}: certified gap against time", ax)
