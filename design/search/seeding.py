"""Multi-fidelity seeding: the design MILP on typical periods for a sweep of W and of
epsilon caps on A; its designs join the first population of the search, as may the
front of an earlier run (:func:`earlier_front`)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from decomp.solvers import SolveOptions
from design.network.case import Case, CaseError
from design.report.tables import read_front
from design.search.design_milp import reduced_sweep
from design.search.evaluate import Candidate
from design.search.settings import SeedSettings
from design.search.space import DesignSpace
from design.search.typical import scenario_periods, typical_periods


def seed_designs(case: Case, seeding: SeedSettings, hours: int | None, deadline: float | None,
                 executor, progress,
                 scenarios: list[tuple[Case, float]] | None = None) -> list[dict]:
    """The reduced-horizon design MILP's designs for the seed weights (rows with design,
    W, the reduced objectives and the solve record), chains in parallel where the
    executor has workers. With ``scenarios`` ((case, probability) pairs) the MILP is the
    two-stage one: typical periods drawn from every scenario, the expected cost."""
    if not seeding.enabled:
        return []

    def periods_of(n: int):
        if scenarios:
            return scenario_periods(scenarios, n, seeding.period_length, hours)
        return typical_periods(case, n, seeding.period_length, hours)

    periods = periods_of(seeding.typical_periods)
    chains = max(1, min(seeding.chains, len(seeding.weights)))
    progress(f"seeding: design MILP on {len(periods.medoids)} typical periods of "
             f"{periods.length} h"
             + (f" ({len(scenarios)} scenarios)" if scenarios else "")
             + f", {len(seeding.weights)} weights in {chains} chain(s)")
    options = SolveOptions(solver="highs", time_limit=seeding.time_limit, gap=seeding.gap,
                           threads=1)
    weights = tuple(seeding.weights)

    def run(parts: list[tuple], model=periods) -> list[dict]:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left < 1.0:
            return []
        calls = [(model, w, options, left, caps, start, designs)
                 for w, caps, start, designs in parts if w]
        return [r for chain in executor.call(seed_chain, calls) for r in chain]

    rows = sorted(run(sweep_chains(weights, chains)), key=lambda r: -r["W"])
    hard = tuple(r["W"] for r in rows
                 if not r["feasible"] or r["gap"] is None or r["gap"] > seeding.fallback_gap)
    models = {len(periods.medoids): periods}
    if hard and 0 < seeding.fallback_periods < len(periods.medoids):
        # weights above the fallback gap (by default all): the coarser model as well;
        # both designs are seeds (the full year judges them)
        coarse = periods_of(seeding.fallback_periods)
        models[len(coarse.medoids)] = coarse
        progress(f"seeding: {len(hard)} weights above a {seeding.fallback_gap:.0%} gap "
                 f"solved on {len(coarse.medoids)} typical periods as well")
        rows += run(sweep_chains(hard, chains), coarse)
    for model, targets in model_targets(rows, seeding.epsilon_seeds).items():
        n = max(1, min(chains, len(targets)))
        rows += run([(tuple(t[0] for t in targets[i::n]), tuple(t[1] for t in targets[i::n]),
                      "empty", tuple(t[2] for t in targets[i::n])) for i in range(n)],
                    models[model])
    for r in rows:
        cap = "" if r["autonomy_cap"] is None else f", A <= {_f(r['autonomy_cap'])}"
        progress(f"seed W {r['W']:.2f}{cap} on {r['typical_periods']} typical days: "
                 f"{r['status']}, gap {_pct(r['gap'])}, cost "
                 f"{_f(r['reduced_annual_total_cost'])} EUR/a, A {_f(r['reduced_autonomy'])} "
                 f"EUR/a on those days scaled to a year ({r['seconds']:.1f} s)")
    return rows


def sweep_chains(weights: tuple[float, ...], chains: int) -> list[tuple]:
    """The weighted-sum sweep dealt into ``chains`` chains of neighbouring weights, as
    (weights, caps, start, designs): each chain solves its weights in turn, each solve
    warm-started from the previous plan. The chain of the lowest weights runs upwards
    from the largest design (where W = 0 ends), the others downwards from the empty
    design (where W = 1 ends): each starts near its first weight's optimum."""
    order = sorted(weights, reverse=True)
    n = max(1, min(chains, len(order)))
    blocks = [tuple(float(w) for w in b) for b in np.array_split(order, n)]
    out = []
    for i, block in enumerate(blocks):
        upward = n > 1 and i == n - 1
        ws = block[::-1] if upward else block
        out.append((ws, (None,) * len(ws), "largest" if upward else "empty",
                    (None,) * len(ws)))
    return out


def epsilon_targets(rows: list[dict], n: int, span: np.ndarray | None = None
                    ) -> list[tuple[float, float, dict]]:
    """The ``n`` widest gaps between neighbouring non-dominated seeds (reduced objectives,
    each scaled to its range, or to ``span``): per gap, the W of its cheaper end, an A
    cap halfway across it and the design of its other end, which meets the cap (the
    solve starts from it). At that W the cap binds (the weight alone chose the cheaper
    end), so the design MILP must find a design between the two ends."""
    gaps = _front_gaps(rows, span)
    if n < 1:
        return []
    return [t for _, t in sorted(sorted(gaps, key=lambda g: -g[0])[:n],
                                 key=lambda g: -g[1][1])]


def _front_gaps(rows: list[dict], span: np.ndarray | None) -> list[tuple[float, tuple]]:
    """(scaled width, (W, cap, design)) of each gap of the rows' non-dominated front."""
    pts = sorted((r["reduced_annual_total_cost"], r["reduced_autonomy"], r["W"], i)
                 for i, r in enumerate(rows) if r["feasible"])
    front = []
    for cost, a, w, i in pts:
        if not front or a < front[-1][1] - 1e-9:
            front.append((cost, a, w, rows[i]["design"]))
    if len(front) < 2:
        return []
    F = np.array([(c, a) for c, a, _, _ in front])
    if span is None:
        span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    widths = np.linalg.norm(np.diff(F / span, axis=0), axis=1)
    return [(float(widths[i]), (front[i][2], 0.5 * (front[i][1] + front[i + 1][1]),
                                front[i + 1][3]))
            for i in range(len(front) - 1)]


def model_targets(rows: list[dict], n: int) -> dict[int, list[tuple[float, float, dict]]]:
    """Epsilon targets over the seeds of every model (by ``typical_periods``): each model's
    own front (A of another model is not comparable), gaps scaled by the span of all
    seeds, the ``n`` widest overall; each target is solved on its gap's model."""
    ok = [r for r in rows if r["feasible"]]
    if n < 1 or len(ok) < 2:
        return {}
    F = np.array([(r["reduced_annual_total_cost"], r["reduced_autonomy"]) for r in ok])
    span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    gaps = [(width, model, target)
            for model in sorted({r["typical_periods"] for r in ok})
            for width, target in _front_gaps([r for r in ok
                                              if r["typical_periods"] == model], span)]
    out: dict[int, list] = {}
    for _, model, target in sorted(gaps, key=lambda g: -g[0])[:n]:
        out.setdefault(model, []).append(target)
    return out


def seed_chain(case: Case, periods, weights: tuple[float, ...], options: SolveOptions,
               left: float | None, caps: tuple[float | None, ...], start: str = "empty",
               designs: tuple[dict | None, ...] | None = None) -> list[dict]:
    """One chain of the seeding's reduced-horizon design MILPs, as plain rows; ``left``:
    seconds of the budget left when it was handed out (clocks differ between nodes)."""
    local = None if left is None else time.monotonic() + left
    rows = []
    solved = reduced_sweep(case, periods, weights, options, local, caps=caps, start=start,
                           designs=designs)
    for r, cap in zip(solved, caps, strict=False):
        rows.append({"W": r.weight, "autonomy_cap": cap, "design": r.design,
                     "typical_periods": len(periods.medoids),
                     "feasible": r.feasible,
                     "status": r.status, "gap": r.gap, "seconds": r.seconds,
                     "reduced_annual_total_cost": r.annual_total_cost,
                     "reduced_autonomy": r.autonomy})
    return rows


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"


def earlier_front(folder: Path, case: Case) -> list[Candidate]:
    """The front designs of an earlier run of ``case`` (its results folder), to join the
    first population: a search under scenarios, or of a changed case, starts from what
    that run found. Each must lie in the case's design space as the search encodes it;
    one that does not is refused, naming its row, component and size."""
    space = DesignSpace.from_case(case)
    front = read_front(folder, case)
    names = [c.name for c in case.spec.components]
    out = []
    for i, row in front.sort_index().iterrows():
        design = {n: float(row[n]) for n in names}
        snapped, weight = space.decode(space.encode(design, float(row["W"])))
        for n in names:
            if not math.isclose(snapped.get(n, 0.0), design[n], rel_tol=1e-6, abs_tol=1e-6):
                raise CaseError(f"{folder / 'pareto.csv'}: row {i + 1}, {n} = {design[n]:g} "
                                f"is not in the design space of case {case.name!r} (the "
                                f"search would take {snapped.get(n, 0.0):g})")
        out.append(Candidate(snapped, weight))
    return out
