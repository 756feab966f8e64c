"""Solve methods offered side by side on any provider: ``direct`` and ``lp``.

``direct`` solves the whole-horizon MILP at once; ``lp`` solves its LP relaxation, whose
optimum is a valid lower bound on the MILP optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from decomp.certificate import OPTIMAL, certified_status
from decomp.horizon import build_horizon
from decomp.memory import PeakMemory
from decomp.provider import IntervalModel, IntervalProvider
from decomp.solvers import PersistentSolver, SolveOptions


@dataclass
class MethodResult:
    """Outcome of one method on one provider.

    ``objective`` is the cost of the plan found (an upper bound; for ``lp`` the relaxed
    optimum), ``bound`` a proven lower bound on the MILP optimum, ``gap`` their relative
    distance. ``plan`` holds the solved model (``None`` if no plan was found).
    """

    method: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    build_seconds: float
    solve_seconds: float
    peak_rss_mb: float
    solver: str
    plan: IntervalModel | None = None
    log: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)


def solve_direct(
    provider: IntervalProvider, options: SolveOptions, relax: bool = False
) -> MethodResult:
    """Build the whole horizon and solve it in one go (``relax``: its LP relaxation)."""
    method = "lp" if relax else "direct"
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        plan = build_horizon(provider, relax=relax)
        solver = PersistentSolver(plan.model, options)
        t1 = time.perf_counter()
        res = solver.solve()
        if res.has_solution and solver.name == "highs":
            solver.check_plan().require(res.objective, what=f"the {method} plan")
        t2 = time.perf_counter()
    gap = res.gap
    status = res.status
    if relax:
        gap = None if res.status != OPTIMAL else 0.0
    elif res.has_solution:
        status = certified_status(True, gap, options.gap)
    return MethodResult(
        method=method,
        status=status,
        objective=res.objective,
        bound=res.bound,
        gap=gap,
        seconds=t2 - t0,
        build_seconds=t1 - t0,
        solve_seconds=t2 - t1,
        peak_rss_mb=mem.peak_mb,
        solver=res.solver,
        plan=plan if res.has_solution else None,
    )


def solve_lp(provider: IntervalProvider, options: SolveOptions) -> MethodResult:
    """LP relaxation of the whole horizon: a valid lower bound on the MILP optimum."""
    return solve_direct(provider, options, relax=True)
