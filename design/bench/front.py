"""``lcen bench front``: judge a Pareto front against an independent reference set.

The reference set is built without the search: (a) the full-year design MILP per weight,
MIP-started from the best known design for that weight, under a long limit; (b) simple
designs, every subset of the sizable components with each installed component at one
fraction of its largest size, screened on the typical-period model at a few weights and
the screen's non-dominated ones solved on the full year; (c) the reduced-horizon design
MILP's seeds solved on the full year. Every reference point is a full-year plan. The
front's multiplicative epsilon indicator (by how much it must shrink to weakly dominate
every reference point; 1 = covers them all) and its hypervolume share are reported.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from decomp.dw import DWSettings
from decomp.solvers import PersistentSolver, SolveOptions
from design.bench.design_compare import hypervolume, weight_grid
from design.bench.figures import axes, save
from design.network.case import Case
from design.network.operate import OperationSettings, operate
from design.report.tables import read_table
from design.search.design_milp import build_reduced_design_milp, solve_started_design_milp
from design.search.evaluate import Candidate, Evaluation
from design.search.seeding import seed_designs
from design.search.settings import SeedSettings
from design.search.space import DesignSpace
from design.search.typical import TypicalPeriods, typical_periods

#: the reference seeds' weights: more than the search's, on a finer model (48 typical days
#: against the search's 24), so that the reference is not the search's own seeding
REFERENCE_WEIGHTS = (1.0, 0.8, 0.65, 0.55, 0.5, 0.45, 0.4, 0.35, 0.3, 0.2, 0.15, 0.1, 0.05,
                     0.02, 0.0)

FULL_YEAR = OperationSettings(method="dw", dw=DWSettings(gap=0.01, time_limit=240.0))


@dataclass(frozen=True)
class FrontBench:
    """What goes into the reference set and how each of its designs is solved."""

    typical_periods: int = 48
    seed_time_limit: float = 120.0
    add_seeds: bool = False
    screen_periods: int = 12
    seed_weights: tuple[float, ...] = REFERENCE_WEIGHTS
    simple_fractions: tuple[float, ...] = (0.5, 1.0)
    simple_weights: tuple[float, ...] = (1.0, 0.5, 0.2, 0.0)
    simple_limit: int = 24
    milp_weights: int = 0
    time_per_weight: float = 600.0
    milp_lp_solver: str = "choose"
    operation: OperationSettings = field(default_factory=lambda: FULL_YEAR)

    def __post_init__(self) -> None:
        if any(not 0 < f <= 1 for f in self.simple_fractions):
            raise ValueError(f"simple fractions must be in (0, 1], not {self.simple_fractions}")
        if self.simple_limit < 0 or self.milp_weights < 0:
            raise ValueError("simple limit and MILP weights must be >= 0")


def epsilon_indicator(front: np.ndarray, reference: np.ndarray) -> float:
    """Multiplicative epsilon indicator of ``front`` against ``reference`` (positive,
    minimised objectives): the smallest e such that for every reference point r some
    front point p has p <= e * r on every objective."""
    if len(reference) == 0:
        return 1.0
    if len(front) == 0:
        return float("inf")
    ratios = front[:, None, :] / np.maximum(reference[None, :, :], 1e-12)
    return float(ratios.max(axis=2).min(axis=0).max())


def simple_designs(space: DesignSpace, fractions: tuple[float, ...]) -> list[dict[str, float]]:
    """Every subset of the sizable components, each installed one at the same fraction of
    its largest size (snapped to the space), for each fraction; duplicates removed."""
    largest = space.largest()
    out, seen = [], set()
    for fraction in fractions:
        for mask in itertools.product((False, True), repeat=len(space.names)):
            design = dict(space.fixed)
            for name, on in zip(space.names, mask, strict=True):
                size = fraction * largest[name] if on else 0.0
                if not on and not space.can_be_off(name):
                    size = space.smallest_installed(name)
                design[name] = size
            design, _ = space.decode(space.encode(design, 1.0))
            key = tuple(sorted(design.items()))
            if key not in seen:
                seen.add(key)
                out.append(design)
    return out


def screen(case: Case, periods: TypicalPeriods, designs: list[dict[str, float]],
           weights: tuple[float, ...], progress=None) -> pd.DataFrame:
    """Each design at each weight on the typical-period model (sizes held by their
    bounds on one persistent model): the reduced annual cost and autonomy per row."""
    m, provider, year = build_reduced_design_milp(case, weights[0], periods)
    solver = PersistentSolver(m, SolveOptions(solver="highs", gap=1e-3, time_limit=30.0))
    rows = []
    t0 = time.perf_counter()
    for i, design in enumerate(designs):
        for n in provider.sized:
            m.size[n].setlb(design[n])
            m.size[n].setub(design[n])
            on = 1.0 if design[n] > 0 else 0.0
            m.installed[n].setlb(on)
            m.installed[n].setub(on)
        for w in weights:
            m.W.set_value(w)
            for k in m.blocks:
                m.blocks[k].W.set_value(w)
            res = solver.solve()
            if not res.has_solution:
                continue
            rows.append({**design, "W": w,
                         "annual_total_cost": pyo.value(m.capex) + year * pyo.value(m.c_op),
                         "autonomy": year * pyo.value(m.autonomy)})
        if progress is not None and (i + 1) % 25 == 0:
            progress(f"screened {i + 1} of {len(designs)} simple designs "
                     f"({time.perf_counter() - t0:.0f} s)")
    return pd.DataFrame(rows)


def spread_pick(table: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The non-dominated rows of ``table`` (annual cost, autonomy), at most ``limit`` of
    them spread evenly along the front."""
    if table.empty:
        return table
    F = table[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    nd = table.iloc[NonDominatedSorting().do(F, only_non_dominated_front=True)]
    nd = nd.sort_values("annual_total_cost")
    if len(nd) <= limit:
        return nd
    idx = np.unique(np.round(np.linspace(0, len(nd) - 1, limit)).astype(int))
    return nd.iloc[idx]


def reference_set(case: Case, bench: FrontBench, executor, out: Path,
                  progress=print) -> pd.DataFrame:
    """Full-year reference points of the seeds and the screened simple designs, one row
    each with its ``source`` (the design MILP's rows come from :func:`add_milp_rows`)."""
    out.mkdir(parents=True, exist_ok=True)
    space = DesignSpace.from_case(case)
    hours = bench.operation.horizon
    candidates = seed_candidates(case, bench, executor, progress)
    t0 = time.perf_counter()
    simple = simple_designs(space, bench.simple_fractions)
    periods = typical_periods(case, bench.screen_periods, 24, hours)
    chunks = max(1, getattr(executor, "workers", 1))
    parts = [(periods, simple[i::chunks], bench.simple_weights) for i in range(chunks)]
    screened = pd.concat(executor.call(screen, parts), ignore_index=True)
    picked = spread_pick(screened, bench.simple_limit)
    for _, row in picked.iterrows():
        design = {n: float(row[n]) for n in space.names} | dict(space.fixed)
        c = Candidate(*space.decode(space.encode(design, float(row["W"]))))
        candidates.setdefault(c.key, (c, "simple"))
    progress(f"simple designs: {len(simple)} screened at W {bench.simple_weights} "
             f"({time.perf_counter() - t0:.0f} s), {len(picked)} to the full year")
    screened.to_csv(out / "screen.csv", index=False)
    todo = list(candidates.values())
    done = executor.map([c for c, _ in todo], None, bench.operation)
    rows = []
    for (_c, source), e in zip(todo, done, strict=True):
        if e is not None and e.ok:
            rows.append({**e.row(), "source": source})
    return pd.DataFrame(rows)


def seed_candidates(case: Case, bench: FrontBench, executor, progress=print
                    ) -> dict[str, tuple[Candidate, str]]:
    """The reference seeds: the design MILP on ``bench.typical_periods`` typical days for
    ``bench.seed_weights`` (plus epsilon seeds), ``bench.seed_time_limit`` s each."""
    space = DesignSpace.from_case(case)
    t0 = time.perf_counter()
    seeding = SeedSettings(typical_periods=bench.typical_periods, weights=bench.seed_weights,
                           time_limit=bench.seed_time_limit)
    candidates: dict[str, tuple[Candidate, str]] = {}
    for r in seed_designs(case, seeding, bench.operation.horizon, None, executor, progress):
        if r["feasible"]:
            c = Candidate(*space.decode(space.encode(r["design"], r["W"])))
            # the model the seed came from (the fine one, or its coarse fallback)
            candidates.setdefault(c.key, (c, f"seed {r['typical_periods']} d"))
    progress(f"seeds: {len(candidates)} designs ({time.perf_counter() - t0:.0f} s)")
    return candidates


def add_seed_rows(case: Case, bench: FrontBench, executor, table: pd.DataFrame,
                  progress=print) -> pd.DataFrame:
    """``table`` with this bench's seeds solved on the full year added (designs already
    in it are not solved again): a reference set grows, it is never rebuilt."""
    space = DesignSpace.from_case(case)
    have = {c.key for c in (Candidate(e.design, e.weight)
                            for e in as_evaluations(table, space))}
    todo = [(c, src) for key, (c, src) in seed_candidates(case, bench, executor,
                                                          progress).items()
            if key not in have]
    done = executor.map([c for c, _ in todo], None, bench.operation)
    rows = [{**e.row(), "source": src} for (_c, src), e in zip(todo, done, strict=True)
            if e is not None and e.ok]
    progress(f"{len(rows)} seeds added to the reference set")
    return pd.concat([table, pd.DataFrame(rows)], ignore_index=True) if rows else table


def add_milp_rows(case: Case, bench: FrontBench, executor, table: pd.DataFrame,
                  known: list[Evaluation], progress=print,
                  out: Path | None = None) -> pd.DataFrame:
    """``table`` with the full-year design MILP's designs of ``bench.milp_weights``
    weights (replacing earlier MILP rows of the same weights), each MIP-started from the
    best known design for its weight (``known`` and the table's rows); each weight's row
    goes to ``out/design-milp.csv`` as soon as it is solved."""
    pool = [*known, *as_evaluations(table, DesignSpace.from_case(case))]
    jobs = []
    for w in weight_grid(bench.milp_weights):
        best = _best_known(pool, w)
        if best is not None:
            jobs.append((w, best.design, bench.operation, bench.time_per_weight,
                         bench.milp_lp_solver))
    progress(f"full-year design MILP for {len(jobs)} weights, {bench.time_per_weight:.0f} s "
             "each, MIP-started from the best known design and its complete plan")
    rows = []
    for i, row in executor.call_each(milp_reference, jobs):
        progress(f"design MILP W={jobs[i][0]}: {row['status']}, gap {row['gap']}, started "
                 f"at {row['start_objective']} (kept: {row['start_accepted']}), found "
                 f"{row['objective']}; plan {row['plan_seconds']:.0f} s, build "
                 f"{row['build_seconds']:.0f} s, start {row['start_seconds']:.0f} s, solve "
                 f"{row['solve_seconds']:.0f} s")
        rows.append(row)
        if out is not None:
            pd.DataFrame(rows).to_csv(out / "design-milp.csv", index=False)
    rows = [r for r in rows if r["feasible"]]
    if "source" in table:
        weights = [j[0] for j in jobs]
        table = table[~((table["source"] == "design MILP") & table["W"].isin(weights))]
    return pd.concat([table, pd.DataFrame(rows)], ignore_index=True)


def as_evaluations(table: pd.DataFrame, space: DesignSpace) -> list[Evaluation]:
    """Rows of a table of designs (capacities, W, objectives) as evaluations."""
    return [Evaluation({n: float(r[n]) for n in space.names} | space.fixed, float(r["W"]),
                       ok=True, annual_total_cost=float(r["annual_total_cost"]),
                       autonomy=float(r["autonomy"]))
            for _, r in table.iterrows()]


def write_reference(table: pd.DataFrame, out: Path) -> pd.DataFrame:
    """``reference-all.csv`` and ``reference.csv`` (its non-dominated rows, returned)."""
    table.to_csv(out / "reference-all.csv", index=False)
    F = table[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    nd = table.iloc[NonDominatedSorting().do(F, only_non_dominated_front=True)]
    nd = nd.sort_values("annual_total_cost")
    nd.to_csv(out / "reference.csv", index=False)
    return nd


def _best_known(pool: list[Evaluation], w: float) -> Evaluation | None:
    """The known design with the best weighted objective ``W * f1 + (1 - W) * f2``."""
    pool = [e for e in pool if e.ok]
    if not pool:
        return None
    return min(pool, key=lambda e: w * e.annual_total_cost + (1 - w) * e.autonomy)


def milp_reference(case: Case, weight: float, design: dict[str, float],
                   operation: OperationSettings, time_limit: float,
                   lp_solver: str = "choose") -> dict:
    """The full-horizon design MILP of one weight, MIP-started from ``design`` and its
    operation plan at that weight (solved first with ``operation``), the start made
    complete before HiGHS gets it; the row says where the time went."""
    t0 = time.perf_counter()
    plan = operate(case, design, replace(operation, weight=weight))
    plan_s = time.perf_counter() - t0
    r = solve_started_design_milp(case, weight, design, plan.schedule, operation.horizon,
                                  time_limit, lp_solver)
    return {**r.result.row(), "W": weight, "source": "design MILP",
            "start_objective": r.start_objective, "start_accepted": r.start_accepted,
            "plan_seconds": plan_s, "build_seconds": r.build_seconds,
            "start_seconds": r.start_seconds, "solve_seconds": r.solve_seconds,
            "lp_solver": r.lp_solver}


def judge(front: pd.DataFrame, reference: pd.DataFrame) -> dict:
    """Epsilon indicator, hypervolume share, and how many reference points the front
    covers within 1 %."""
    F = front[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    R = reference[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    ref_point = np.vstack([F, R]).max(axis=0) * 1.1
    hv_front, hv_ref = hypervolume(F, ref_point), hypervolume(R, ref_point)
    both = np.vstack([F, R])
    hv_union = hypervolume(both[NonDominatedSorting().do(both, only_non_dominated_front=True)],
                           ref_point)
    covered = sum(bool(((F <= 1.01 * r).all(axis=1)).any()) for r in R)
    return {"epsilon": epsilon_indicator(F, R), "hypervolume_front": hv_front,
            "hypervolume_reference": hv_ref, "hypervolume_share": hv_front / hv_union,
            "reference_points": len(R), "covered_within_1pct": covered,
            "front_points": len(F), "ref_point": [float(x) for x in ref_point]}


def draw(front: pd.DataFrame, reference: pd.DataFrame, metrics: dict, path: Path,
         title: str) -> None:
    """The front and the reference set on one figure."""
    fig, ax = axes()
    f = front.sort_values("annual_total_cost")
    ax.plot(f["annual_total_cost"], f["autonomy"], "-o", markersize=4, color="tab:red",
            label=f"lcen front (epsilon {metrics['epsilon']:.4f}, HV share "
                  f"{metrics['hypervolume_share']:.1%})")
    markers = {"seed": "^", "simple": "s", "design MILP": "D"}
    for source in sorted(set(reference["source"])):
        r = reference[reference["source"] == source]
        marker = next((m for k, m in markers.items() if str(source).startswith(k)), "o")
        if len(r):
            ax.plot(r["annual_total_cost"], r["autonomy"], marker, markersize=5, alpha=0.7,
                    label=f"reference: {source} ({len(r)})")
    ax.set_xlabel("annual total cost (EUR/a)")
    ax.set_ylabel("autonomy A: purchase + sales (EUR/a)")
    save(fig, path, f"{title}: front against the reference set", ax)


def bench_front(case: Case, bench: FrontBench, executor, out: Path,
                front_dir: Path | None = None, reuse: bool = False,
                progress=print) -> dict:
    """Build (or, with ``reuse``, read back) the reference set in ``out`` and judge the
    front in ``front_dir/pareto.csv`` against it: ``metrics.json`` and ``fronts.png``."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    known: list[Evaluation] = []
    front = None
    if front_dir is not None:
        front = read_table(front_dir / "pareto.csv")
        known = as_evaluations(front, DesignSpace.from_case(case))
    t0 = time.perf_counter()
    if reuse and (out / "reference-all.csv").exists():
        table = pd.read_csv(out / "reference-all.csv")
        progress(f"reference set read back from {out / 'reference-all.csv'}")
        if bench.add_seeds:
            table = add_seed_rows(case, bench, executor, table, progress)
    else:
        table = reference_set(case, bench, executor, out, progress)
    if bench.milp_weights:
        table = add_milp_rows(case, bench, executor, table, known, progress, out)
    reference = write_reference(table, out)
    progress(f"reference set: {len(reference)} non-dominated of {len(table)} full-year "
             f"points ({time.perf_counter() - t0:.0f} s)")
    result = {"reference": reference}
    if front is not None:
        metrics = judge(front, reference) | {"front": str(front_dir)}
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        draw(front, reference, metrics, out / "fronts.png", case.name)
        result["metrics"] = metrics
    return result
