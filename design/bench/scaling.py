"""``lcen bench scaling``: throughput against Ray workers; time against horizon and nodes.

Throughput: the same candidates (drawn from the case's design space with a seed) are
evaluated by a fresh local Ray cluster of K workers; evaluations per minute for each K.
Horizon and node scaling: dw and direct on the reference case for each horizon length and
on ``district-N`` for each node count, each run in its own process under a time limit and
stopped at the same target gap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from design.bench.figures import axes, save
from design.bench.runner import OperateRun, run_operate
from design.builtin import resolve_case
from design.evaluate import Candidate
from design.executors import RayExecutor
from design.operate import OperationSettings
from design.space import DesignSpace


@dataclass(frozen=True)
class ScalingBench:
    """What to scale over, and the limits of each run."""

    case: str = "reference"
    workers: tuple[int, ...] = (1, 2)
    candidates: int = 8
    candidate_horizon: int | None = 720
    horizons: tuple[int, ...] = (168, 720, 2160, 8760)
    nodes: tuple[int, ...] = (1, 5, 10, 20)
    node_horizon: int = 168
    methods: tuple[str, ...] = ("dw", "direct")
    time_limit: float = 600.0
    gap: float = 0.01
    seed: int = 1
    operation: OperationSettings = OperationSettings(method="dw")


def sample_candidates(space: DesignSpace, n: int, seed: int) -> list[Candidate]:
    """``n`` candidates drawn uniformly from the design space (reproducible)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = {name: (rng.choice(space.grids[name]) if name in space.grids
                    else rng.uniform(*space.ranges[name])) for name in space.names}
        x["W"] = rng.uniform()
        out.append(Candidate(*space.decode(x)))
    return out


def throughput(bench: ScalingBench, progress=print) -> pd.DataFrame:
    """Evaluations per minute with each worker count: a local cluster of that many CPUs
    per count, or, inside a running cluster, at most that many tasks at a time."""
    case = resolve_case(bench.case)
    cands = sample_candidates(DesignSpace.from_case(case), bench.candidates, bench.seed)
    settings = replace(bench.operation, horizon=bench.candidate_horizon)
    rows = []
    for k in bench.workers:
        ex = RayExecutor(case, settings, retries=0, workers=k)
        try:
            t0 = time.perf_counter()
            evals = ex.map(cands)
            wall = time.perf_counter() - t0
        finally:
            ex.close()
        ok = sum(e.ok for e in evals)
        rows.append({"workers": k, "evaluations": len(evals), "failed": len(evals) - ok,
                     "seconds": wall, "evaluations_per_minute": len(evals) / wall * 60,
                     "mean_evaluation_seconds": float(np.mean([e.seconds for e in evals]))})
        progress(f"{k} worker(s): {len(evals)} evaluations in {wall:.1f} s "
                 f"({rows[-1]['evaluations_per_minute']:.2f}/min)")
    df = pd.DataFrame(rows)
    df["speedup"] = df["evaluations_per_minute"] / df["evaluations_per_minute"].iloc[0]
    return df


def time_scaling(bench: ScalingBench, out: Path, progress=print) -> pd.DataFrame:
    """dw and direct against horizon length (``case``) and node count (``district-N``)."""
    # every method stops at the same target gap, so the times compare like for like
    runs = [("horizon", h, OperateRun(bench.case, m, h, None, (), bench.time_limit,
                                      bench.gap))
            for h in bench.horizons for m in bench.methods]
    runs += [("nodes", n, OperateRun(f"district-{n}", m, bench.node_horizon, None, (),
                                     bench.time_limit, bench.gap))
             for n in bench.nodes for m in bench.methods]
    rows = []
    for axis, value, run in runs:
        progress(f"{axis} {value}: {run.case} {run.method} ({run.horizon} h)")
        row = run_operate(run, out / "runs" / f"{axis}-{value}-{run.method}")
        row.pop("trace")
        rows.append({"axis": axis, "value": value, **row})
        progress(f"  {row['status']}, gap {row['gap']}, {row['seconds']:.1f} s, "
                 f"{row['peak_rss_mb']:.0f} MiB")
    return pd.DataFrame(rows)


def bench_scaling(bench: ScalingBench, out: Path, progress=print) -> dict[str, pd.DataFrame]:
    """Both studies; writes ``throughput.csv``, ``time.csv`` and ``scaling.png``."""
    out.mkdir(parents=True, exist_ok=True)
    tp = throughput(bench, progress) if bench.workers else pd.DataFrame()
    tp.to_csv(out / "throughput.csv", index=False)
    ts = time_scaling(bench, out, progress)
    ts.to_csv(out / "time.csv", index=False)
    draw_scaling(tp, ts, out / "scaling.png")
    return {"throughput": tp, "time": ts}


def draw_scaling(tp: pd.DataFrame, ts: pd.DataFrame, path: Path) -> None:
    """Three panels: evaluations per minute by workers, seconds by horizon, by nodes."""
    fig, panels = axes(3, (12, 3.8))
    if len(tp):
        panels[0].plot(tp["workers"], tp["evaluations_per_minute"], "-o")
        panels[0].plot(tp["workers"], tp["evaluations_per_minute"].iloc[0] * tp["workers"],
                       ":", color="grey", label="linear")
        panels[0].legend(fontsize=8)
    panels[0].set_xlabel("Ray workers")
    panels[0].set_ylabel("evaluations per minute")
    for ax, axis, label in ((panels[1], "horizon", "horizon (hours)"),
                            (panels[2], "nodes", "nodes (district-N)")):
        part = ts[ts["axis"] == axis] if len(ts) else ts
        for method, grp in part.groupby("method") if len(part) else []:
            ax.plot(grp["value"], grp["seconds"], "-o", label=method)
        ax.set_xlabel(label)
        ax.set_ylabel("seconds")
        ax.set_yscale("log")
        if len(part):
            ax.legend(fontsize=8)
    save(fig, path)
