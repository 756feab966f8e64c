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
from design.network.builtin import resolve_case
from design.network.operate import OperationSettings
from design.search.evaluate import Candidate, expected_work
from design.search.executors import ORDERS, RayExecutor
from design.search.space import DesignSpace


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
    orders: tuple[str, ...] = ("longest-first",)
    operation: OperationSettings = OperationSettings(method="dw")

    def __post_init__(self) -> None:
        bad = [o for o in self.orders if o not in ORDERS]
        if bad:
            raise ValueError(f"orders must be among {', '.join(ORDERS)}, not {bad}")


def sample_candidates(space: DesignSpace, n: int, seed: int) -> list[Candidate]:
    """``n`` candidates drawn uniformly from the design space (reproducible; a size below
    the smallest installed size counts as not installed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        design = {name: (rng.choice(space.grids[name]) if name in space.grids
                         else rng.uniform(*space.ranges[name])) for name in space.names}
        design = {k: 0.0 if space.can_be_off(k) and v < space.smallest_installed(k) else v
                  for k, v in design.items()}
        out.append(Candidate(*space.decode(space.encode(design, rng.uniform()))))
    return out


def throughput(bench: ScalingBench,
               progress=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluations per minute with each hand-out order and worker count: a local cluster
    of that many CPUs per count, or, inside a running cluster, at most that many tasks at
    a time. Returns one row per (order, workers) and one per evaluation (its start
    relative to the batch, seconds and worker: the batch's timeline)."""
    case = resolve_case(bench.case)
    cands = sample_candidates(DesignSpace.from_case(case), bench.candidates, bench.seed)
    settings = replace(bench.operation, horizon=bench.candidate_horizon)
    rows, timeline = [], []
    for order in bench.orders:
        for k in bench.workers:
            ex = RayExecutor(case, settings, retries=0, workers=k,
                             longest_first=order == "longest-first")
            try:
                t0_wall, t0 = time.time(), time.perf_counter()
                evals = ex.map(cands)
                wall = time.perf_counter() - t0
            finally:
                ex.close()
            busy = sum(e.seconds for e in evals)
            rows.append({"order": order, "workers": k, "evaluations": len(evals),
                         "failed": sum(not e.ok for e in evals), "seconds": wall,
                         "evaluations_per_minute": len(evals) / wall * 60,
                         "mean_evaluation_seconds": float(np.mean([e.seconds for e in evals])),
                         "busy_fraction": busy / (k * wall)})
            for i, e in enumerate(evals):
                timeline.append({"order": order, "workers": k, "candidate": i,
                                 "expected_work": str(expected_work(case, cands[i])),
                                 "start": (e.started_at or t0_wall) - t0_wall,
                                 "seconds": e.seconds, "worker": e.worker, "ok": e.ok,
                                 "gap": e.gap, "status": e.status,
                                 "models_kept": e.models_kept,
                                 "build_seconds": e.build_seconds,
                                 "error": (e.error or "").splitlines()[0] if e.error
                                 else None})
            progress(f"{order}, {k} worker(s): {len(evals)} evaluations in {wall:.1f} s "
                     f"({rows[-1]['evaluations_per_minute']:.2f}/min, workers busy "
                     f"{rows[-1]['busy_fraction']:.0%})")
    df = pd.DataFrame(rows)
    first = df.groupby("order")["evaluations_per_minute"].transform("first")
    df["speedup"] = df["evaluations_per_minute"] / first
    return df, pd.DataFrame(timeline)


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
    """Both studies; writes ``throughput.csv``, ``throughput-timeline.csv`` and
    ``timeline.png`` (which worker ran what when), ``time.csv`` and ``scaling.png``."""
    out.mkdir(parents=True, exist_ok=True)
    tp, tl = throughput(bench, progress) if bench.workers else (pd.DataFrame(), pd.DataFrame())
    tp.to_csv(out / "throughput.csv", index=False)
    tl.to_csv(out / "throughput-timeline.csv", index=False)
    if len(tl):
        draw_timeline(tl, out / "timeline.png")
    ts = time_scaling(bench, out, progress)
    ts.to_csv(out / "time.csv", index=False)
    draw_scaling(tp, ts, out / "scaling.png")
    return {"throughput": tp, "timeline": tl, "time": ts}


def draw_timeline(tl: pd.DataFrame, path: Path) -> None:
    """One panel per (order, workers): a bar per evaluation on its worker's row, so idle
    workers at the end of the batch show as white space."""
    runs = list(tl.groupby(["order", "workers"], sort=False))
    fig, panels = axes(len(runs), (5 * len(runs), 2.2 + 0.3 * int(tl["workers"].max())))
    for ax, ((order, k), grp) in zip(np.atleast_1d(panels), runs, strict=True):
        lanes = {w: j for j, w in enumerate(dict.fromkeys(grp["worker"]))}
        for _, r in grp.iterrows():
            ax.barh(lanes[r["worker"]], r["seconds"], left=r["start"], height=0.6,
                    color="C0" if r["ok"] else "C3", edgecolor="white")
            ax.text(r["start"] + r["seconds"] / 2, lanes[r["worker"]], str(r["candidate"]),
                    ha="center", va="center", fontsize=7, color="white")
        ax.set_yticks(range(len(lanes)), [f"worker {j + 1}" for j in range(len(lanes))])
        ax.set_xlabel("seconds since the batch started")
        ax.set_title(f"{order}, {k} worker(s)", fontsize=9)
    save(fig, path)


def draw_scaling(tp: pd.DataFrame, ts: pd.DataFrame, path: Path) -> None:
    """Three panels: evaluations per minute by workers, seconds by horizon, by nodes."""
    fig, panels = axes(3, (12, 3.8))
    if len(tp):
        for order, grp in tp.groupby("order", sort=False) if "order" in tp else [("", tp)]:
            panels[0].plot(grp["workers"], grp["evaluations_per_minute"], "-o", label=order)
        first = tp.iloc[0]
        panels[0].plot(tp["workers"].drop_duplicates(),
                       first["evaluations_per_minute"] / first["workers"]
                       * tp["workers"].drop_duplicates(), ":", color="grey", label="linear")
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
