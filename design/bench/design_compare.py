"""``lcen bench design``: the conventional approach against NSGA-II + decomposition.

Conventional (the source report's way): for each of ``n`` fixed weights W, one monolithic
design MILP with the capacities as decisions, solved directly under a per-weight time
limit. Then NSGA-II with the chosen operation method gets the same total wall time. Both
fronts go on one figure; each front's hypervolume is taken against one reference point
(10 % beyond the worst objective values of all designs either approach found).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from decomp.solvers import SolveOptions
from design.bench.figures import axes, save
from design.network.case import Case
from design.search.design_milp import solve_design_milp
from design.search.nsga import run_search
from design.search.settings import SearchSettings
from design.search.space import DesignSpace


@dataclass(frozen=True)
class DesignBench:
    """Weights and limits of the conventional runs; the search's settings. The search's
    wall-time budget is the conventional runs' total unless ``search_budget`` says
    otherwise (seconds)."""

    weights: int = 10
    time_per_weight: float = 600.0
    horizon: int | None = None
    solver: str = "highs"
    search_budget: float | None = None
    search: SearchSettings = SearchSettings()


def weight_grid(n: int) -> list[float]:
    """``n`` weights spread over [0, 1] (both ends included)."""
    if n < 1:
        raise ValueError(f"weights must be >= 1, not {n}")
    return [0.5] if n == 1 else [round(i / (n - 1), 4) for i in range(n)]


def empty_design_start(case: Case) -> dict[str, float]:
    """A MIP start for the design MILP: every size that may be 0 at 0 (the always-feasible
    empty design; the solver completes its operation)."""
    space = DesignSpace.from_case(case)
    start = {}
    for n in space.names:
        if space.can_be_off(n):
            start[f"size[{n}]"] = 0.0
            start[f"installed[{n}]"] = 0.0
    return start


def weights_covered(grid: list[float], found: list[float]) -> int:
    """How many grid weights have a design found within half a grid step of them (the
    search's W is continuous; the conventional approach solves the grid weights). Pass
    the W of non-dominated designs only: a dominated design covers nothing."""
    half = 0.5 / max(len(grid) - 1, 1)
    return sum(any(abs(w - f) <= half + 1e-9 for f in found) for w in grid)


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Rows of ``F`` (minimised objectives) that no other row dominates."""
    if len(F) == 0:
        return F
    return F[NonDominatedSorting().do(F, only_non_dominated_front=True)]


def hypervolume(F: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of the points of ``F`` inside ``ref`` (0 for none)."""
    F = F[(F < ref).all(axis=1)] if len(F) else F
    return float(HV(ref_point=ref)(F)) if len(F) else 0.0


def bench_design(case: Case, bench: DesignBench, executor, out: Path,
                 progress=print) -> dict:
    """Run both approaches; writes ``design-milp.csv``, the search's results folder
    ``search/``, ``fronts.csv``, ``comparison.csv`` and ``fronts.png``."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    grid = weight_grid(bench.weights)
    t0 = time.perf_counter()
    empty = empty_design_start(case)
    for w in grid:
        r = solve_design_milp(case, w, bench.horizon,
                              SolveOptions(solver=bench.solver, time_limit=bench.time_per_weight,
                                           gap=1e-4), start=empty)
        gap = "-" if r.gap is None else f"{r.gap:.2%}"
        progress(f"design MILP W={w}: {r.status}, feasible {r.feasible}, gap {gap}, "
                 f"{r.seconds:.0f} s")
        rows.append(r.row())
    conventional_s = time.perf_counter() - t0
    milp = pd.DataFrame(rows)
    milp.to_csv(out / "design-milp.csv", index=False)
    budget = conventional_s if bench.search_budget is None else bench.search_budget
    progress(f"NSGA-II with {bench.search.operation.method} for {budget:.0f} s (a hard "
             "limit: candidates still running then are stopped and not counted)")
    t1 = time.perf_counter()
    state = run_search(case, bench.search, executor, out / "search", progress=progress,
                       time_budget=budget)
    search_s = time.perf_counter() - t1
    from design.report.results_folder import write_results

    write_results(out / "search", state, {"case": case.name, "bench": "design",
                                          "time_budget": budget, "stopped": state.stopped})
    ok = milp[milp["feasible"]] if len(milp) else milp
    F_milp = ok[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    F_search = np.array([[e.annual_total_cost, e.autonomy] for e in state.front()])
    found_w = [e.weight for e in state.evaluations() if e.ok]
    front_w = [e.weight for e in state.front()]
    milp_front_w = []
    if len(F_milp):
        nd = NonDominatedSorting().do(F_milp, only_non_dominated_front=True)
        milp_front_w = [float(ok["weight"].iloc[i]) for i in nd]
    every = [F for F in (F_milp, F_search) if len(F)]
    ref = (np.vstack(every).max(axis=0) * 1.1 + 1e-6) if every else np.ones(2)
    comparison = pd.DataFrame([
        {"approach": "design MILP per weight", "seconds": conventional_s,
         "weights": len(milp), "feasible_weights": int(milp["feasible"].sum()),
         "covered_weights": len(milp_front_w),
         "front_size": len(non_dominated(F_milp)),
         "hypervolume": hypervolume(non_dominated(F_milp), ref)},
        {"approach": f"NSGA-II + {bench.search.operation.method}", "seconds": search_s,
         "weights": len(grid), "feasible_weights": weights_covered(grid, found_w),
         "covered_weights": weights_covered(grid, front_w),
         "front_size": len(F_search), "evaluations": len(state.cache),
         "generations": state.generation, "stopped": state.stopped,
         "hypervolume": hypervolume(F_search, ref)},
    ])
    comparison["ref_cost"], comparison["ref_autonomy"] = ref[0], ref[1]
    comparison.to_csv(out / "comparison.csv", index=False)
    fronts = pd.concat([
        pd.DataFrame(F_milp, columns=["annual_total_cost", "autonomy"]).assign(
            approach="design MILP", W=ok["weight"].to_numpy() if len(ok) else []),
        pd.DataFrame(F_search.reshape(-1, 2), columns=["annual_total_cost", "autonomy"])
        .assign(approach="NSGA-II"),
    ])
    fronts.to_csv(out / "fronts.csv", index=False)
    draw_fronts(fronts, comparison, out / "fronts.png", case.name)
    return {"comparison": comparison, "milp": milp, "state": state}


def draw_fronts(fronts: pd.DataFrame, comparison: pd.DataFrame, path: Path,
                title: str) -> None:
    """Both fronts on one figure, hypervolumes in the legend."""
    fig, ax = axes()
    hv = dict(zip(comparison["approach"], comparison["hypervolume"], strict=True))
    search = fronts[fronts["approach"] == "NSGA-II"].sort_values("annual_total_cost")
    milp = fronts[fronts["approach"] == "design MILP"]
    search_hv = next((v for k, v in hv.items() if k.startswith("NSGA")), 0.0)
    ax.plot(search["annual_total_cost"], search["autonomy"], "-o", markersize=4,
            label=f"NSGA-II front (HV {search_hv:.4g})")
    ax.plot(milp["annual_total_cost"], milp["autonomy"], "s", color="C3",
            label=f"design MILP, feasible weights (HV {hv['design MILP per weight']:.4g})")
    for _, r in milp.iterrows():
        ax.annotate(f"W={r['W']:g}", (r["annual_total_cost"], r["autonomy"]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("annual total cost (EUR/a)")
    ax.set_ylabel("autonomy A: purchase + sales (EUR/a)")
    save(fig, path, f"{title}: design MILP per weight vs NSGA-II, equal wall time", ax)
