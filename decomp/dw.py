"""Time-domain Dantzig-Wolfe decomposition with column generation: a certified plan.

:func:`solve_dw` composes the parts: interval blocks and their linking rows
(:mod:`decomp.workspace`), first prices and bound (:func:`first_relaxation`: the glued
LP, or column generation over the intervals' LPs, :mod:`decomp.relaxation`), the one
column-generation loop (:mod:`decomp.loop`) in its integer phase, and the primal
heuristics that make plans (:mod:`decomp.heuristics`). Certified gap = (UB - LB) / |UB|,
where LB is the best Lagrangian bound (or a whole-horizon MILP's proven bound) and UB the
best plan's cost, checked against the whole model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np

from decomp.certificate import FEASIBLE, NO_PLAN, certified_status
from decomp.columns import ColumnPool
from decomp.fix_optimise import WindowImprover
from decomp.heuristics import Horizon, Incumbent, PrimalHeuristics
from decomp.loop import Clock, Converged, GapMet, Log, Phase, Pricing, Run, Stalled, run_phase
from decomp.master import RestrictedMaster
from decomp.memory import PeakMemory
from decomp.methods import MethodResult
from decomp.parallel import RayPricer
from decomp.prices import (
    LP_MASTER_SHARE,
    PASS_RESERVE,
    cost_scale,
    first_prices_path,
    interval_share,
    interval_time_cap,
    lp_time_cap,
    nonzeros,
    priced_linking,
    pricing_share,
)
from decomp.pricing import SerialPricer, ThreadPricer
from decomp.provider import IntervalProvider, lead_components
from decomp.relaxation import RelaxationSettings, solve_relaxation
from decomp.repair import Repairer
from decomp.rolling import rolling_horizon
from decomp.settings import HEURISTICS as HEURISTIC_NAMES
from decomp.settings import DWSettings
from decomp.solvers import SolveOptions, relative_gap
from decomp.stabilisation import make_stabilisation
from decomp.workspace import Workspace, build_intervals

__all__ = ["DWSettings", "solve_dw", "solve_rolling"]

#: the master's dual box starts this many times the largest cost coefficient wide around
#: the first prices (scaled to the problem, not a big M); the LP phase's much narrower
BOX_WIDTH, LP_BOX_WIDTH = 10.0, 0.01
#: a column unused by this many LP-phase master solves in a row leaves the master
LP_COLUMN_AGE = 10
#: rounds without progress before the integer phase stops
STALL_ROUNDS = 3
#: the integer phase's master counts as converged within this share of the bound
CONVERGED = 1e-6
#: seconds each fix-and-optimise window MILP may take
WINDOW_TIME_LIMIT = 10.0
#: the HiGHS dual simplex edge weights of the horizon LPs
EDGE_WEIGHTS = "devex"
#: the horizon LP with every binary fixed is solved in blocks above this many nonzeros
FIXED_LP_NONZEROS = 2_500_000


@dataclass
class Blocks:
    """The horizon cut into intervals: one loaded pricing model per interval, the
    linking rows, the pricer that solves them (threads or Ray actors)."""

    cuts: list
    conditions: list
    linking: object
    solvers: list
    pricer: object
    local: object
    kept: bool

    @property
    def starts(self) -> list[int]:
        return [a for a, _ in self.cuts]


def blocks(provider: IntervalProvider, s: DWSettings, workspace: Workspace | None = None,
           say=None) -> Blocks:
    """Cut the horizon and have one loaded pricing model per interval (kept ones from
    ``workspace`` when it holds this structure), with its pricer."""
    options = SolveOptions(solver=s.solve.solver, gap=s.pricing_gap, threads=1)
    if workspace is None:
        iv, kept = build_intervals(provider, s.interval, options, s.models), False
    else:
        reuses = workspace.stats.reused
        iv = workspace.intervals(provider, s.interval, options)
        kept = workspace.stats.reused > reuses
    local = _local_pricer(iv.solvers, s.workers)
    pricer = local
    if s.workers > 1 and s.parallel == "ray":
        # Ray actors with dynamic dispatch; this process's models if none can start
        pricer = RayPricer(provider, iv.cuts, iv.solvers[0].solver.options, s.workers,
                           fallback=iv.solvers, say=say)
    return Blocks(iv.cuts, iv.conditions, iv.linking, iv.solvers, pricer, local, kept)


def _local_pricer(solvers, workers: int):
    return ThreadPricer(solvers, workers) if workers > 1 else SerialPricer(solvers)


@dataclass(frozen=True)
class FirstRelaxation:
    """The first bound, prices and integer values of the LP relaxation, however found."""

    bound: float
    y: np.ndarray
    binaries: np.ndarray | None


def first_relaxation(s: DWSettings, b: Blocks, plink, repairer: Repairer, clock: Clock,
                     log: Log, say) -> tuple[FirstRelaxation | None, list]:
    """The first bound and prices within their time share (the glued LP, or column
    generation over the intervals' LPs on the ``master`` path; none for ``zero``), and
    the columns found on the way (the glued LP's time probe: interval 0 at zero prices)."""
    if s.first_prices == "zero":
        return None, []
    cap, probe = None, []
    if s.time_limit is not None and s.first_prices == "master":
        # column generation stops by itself once converged: its share is a cap
        cap = max(0.0, min(LP_MASTER_SHARE * s.time_limit, clock.left()))
    elif s.time_limit is not None:
        # the glued LP leaves the first pricing round the time one interval's solve says
        # it needs, so a run whose LP is slow still ends in time
        t = time.perf_counter()
        r = b.solvers[0].solve(gap=s.pricing_gap, time_limit=clock.cap(None))
        probe = [r.column] if r.column is not None else []
        cap = lp_time_cap(s.time_limit, clock.elapsed(), time.perf_counter() - t,
                          math.ceil(len(b.solvers) / s.workers))
    if cap is not None and cap <= 0:
        return None, probe
    if s.first_prices == "lp":
        lp = repairer.lp_relaxation(clock.cap(cap))
        return (None if lp is None else FirstRelaxation(lp.bound, lp.y, lp.binaries)), probe
    begun = time.perf_counter()
    rel = solve_relaxation(b.solvers, plink, b.conditions, cost_scale(b.solvers),
                           RelaxationSettings(tolerance=max(1e-5, s.gap / 10),
                                              stabilisation=s.stabilisation,
                                              box_width=LP_BOX_WIDTH,
                                              column_age=LP_COLUMN_AGE,
                                              aggregate=s.lp_aggregate),
                           deadline=None if cap is None else begun + cap, say=say,
                           pricer=b.local)
    log.rows += [row | {"elapsed": begun - log.t0 + row["elapsed"]} for row in rel.log]
    if not math.isfinite(rel.bound):
        return None, probe
    return FirstRelaxation(rel.bound, rel.y, rel.binaries), probe


def integer_phase(s: DWSettings, b: Blocks, y: np.ndarray, clock: Clock,
                  heuristics: PrimalHeuristics, pool: ColumnPool,
                  master: RestrictedMaster) -> Phase:
    """The integer phase's parts: MILP pricing capped by the time left (a round cut short
    counts its intervals' LP values), leaving the pass a share of the time while there is
    no plan; prices stabilised in a box around ``y``; columns that price out only; stop
    at the gap, at convergence or after ``STALL_ROUNDS`` without progress."""
    n = len(b.solvers)
    pricing = Pricing(
        b.pricer, s.pricing_gap, fill=True,
        cap=lambda left: interval_time_cap(s.pricing_time_limit, left, s.workers, n),
        reserve=lambda left: 0.0 if left is None or heuristics.best.x is not None
        else PASS_RESERVE * left)
    stab = make_stabilisation(s.stabilisation, y.copy(), 0.5, master.artificial_cost)
    return Phase("integer", master, pool, stab, pricing, clock,
                 stop=[GapMet(s.gap), Converged(CONVERGED), Stalled(STALL_ROUNDS)],
                 max_rounds=s.max_iterations, admit="improving", heuristics=heuristics)


def solve_dw(provider: IntervalProvider, settings: DWSettings, progress=None,
             workspace: Workspace | None = None) -> MethodResult:
    """Decompose the horizon into intervals and generate columns to a certified gap.

    With a ``workspace`` the interval models of the last problem of the same structure are
    given this provider's values instead of being built again (design candidates)."""
    t0 = time.perf_counter()
    log, clock, say = Log(t0), Clock(t0, settings.time_limit), progress or (lambda m: None)
    with PeakMemory() as mem:
        b = blocks(provider, settings, workspace, say)
        build_s = time.perf_counter() - t0
        s = replace(settings, first_prices=first_prices_path(settings.first_prices, b.solvers))
        if s.first_prices != settings.first_prices:
            say(f"first prices: {s.first_prices} (glued horizon {nonzeros(b.solvers):,} "
                "nonzeros)")
        plink = priced_linking(s.priced_states, s.first_prices, b.linking, b.solvers)
        repairer = Repairer(b.solvers, b.linking, SolveOptions(solver="highs",
                            threads=s.solve.threads), EDGE_WEIGHTS,
                            block_nonzeros=FIXED_LP_NONZEROS)
        clock.at("LP relaxation")
        lp, probe = first_relaxation(s, b, plink, repairer, clock, log, say)
        y = plink.valid(np.zeros(b.linking.size) if lp is None else lp.y)
        say(f"LP relaxation bound {lp.bound:.6g} ({clock.elapsed():.1f} s)" if lp else
            "no LP relaxation bound (zero start prices)")
        if lp is not None:
            _scale_pricing_gap(s, lp.bound, b)
        n, pool = len(b.solvers), ColumnPool(len(b.solvers))
        master = RestrictedMaster(n, plink, BOX_WIDTH * cost_scale(b.solvers))
        master.add_many([c for c in probe if pool.add(c)])
        improver = WindowImprover(b.solvers, options=SolveOptions(
            solver=s.solve.solver, gap=s.pricing_gap, threads=1),
            window_time_limit=WINDOW_TIME_LIMIT, workers=s.workers,
            lead=lead_components(provider))
        heur = PrimalHeuristics(Horizon(b.solvers, b.linking, b.conditions, b.starts,
                                        repairer, improver), s,
                                Incumbent(repairer, pool, master), log, say,
                                focus=s.first_prices == "master")
        run = Run(plink, n, log, say, incumbent=heur)
        if lp is not None:
            run.best, run.best_y = lp.bound, y.copy()
        log.add(iteration=0, phase="start", lower_bound=run.best, upper_bound=None)
        phase = integer_phase(s, b, y, clock, heur, pool, master)
        reason = run_phase(run, phase, y)
        lower = heur.finish(clock, run.best, phase.stabilisation.center,
                            None if lp is None else lp.binaries,
                            None if lp is None else lp.bound)
        reason = "escalated" if heur.escalated else reason
        b.pricer.close()
        best = heur.best
        ub = best.upper()
        clock.at("plan check")
        if best.x is not None:
            repairer.check(ub, best.x)
            repairer.load(best.x)
    cut = clock.cut_step()
    if cut is not None:
        say(f"time limit passed during: {cut} ({clock.elapsed() - s.time_limit:.1f} s over)")
    return _result(s, b, t0, build_s, mem, lower, ub, lp, repairer, best, log, pool,
                   reason, improver, cut)


def _result(s, b, t0, build_s, mem, lower, ub, lp, repairer, best, log, pool, reason,
            improver, cut) -> MethodResult:
    seconds = time.perf_counter() - t0
    gap = relative_gap(ub, lower)
    return MethodResult(
        method="dw", status=certified_status(best.x is not None, gap, s.gap), objective=ub,
        bound=lower, gap=gap, seconds=seconds, build_seconds=build_s,
        solve_seconds=seconds - build_s, peak_rss_mb=mem.peak_mb,
        solver=f"pricing {b.solvers[0].solver.name}, master highs, repair highs",
        plan=repairer.plan if best.x is not None else None, log=log.rows,
        extra={"lower_bound": lower, "upper_bound": ub,
               "lp_bound": None if lp is None else lp.bound, "iterations": len(log.rows),
               "columns": len(pool), "intervals": len(b.solvers), "stop_reason": reason,
               "models_kept": b.kept, "models_dropped": not repairer.models_kept,
               "first_prices": s.first_prices, "lp_aggregate": s.lp_aggregate,
               "heuristics": [h for h in HEURISTIC_NAMES if s.uses(h)],
               "window_lead": sorted(improver.lead), "time_limit_cut": cut,
               "overrun_seconds": None if s.time_limit is None
               else max(0.0, seconds - s.time_limit),
               **_seconds(log.rows)})


def _seconds(rows: list[dict]) -> dict:
    """Seconds spent pricing, in the master and in heuristics, from the log."""
    return {f"{k}_seconds": float(sum(r.get(f"{k}_seconds") or 0.0 for r in rows))
            for k in ("pricing", "master", "repair")}


def _scale_pricing_gap(s: DWSettings, scale: float, b: Blocks) -> None:
    """Let every interval MILP stop at an absolute gap of its share of the objective
    (``scale``): the round's Lagrangian then loses at most that share, however close to 0
    an interval's priced objective is."""
    if not math.isfinite(scale):
        return
    value = interval_share(pricing_share(s.gap, s.pricing_gap), scale, len(b.solvers))
    for sv in b.solvers:
        sv.set_abs_gap(value)
    b.pricer.set_abs_gap(value)


def solve_rolling(provider: IntervalProvider, settings: DWSettings, progress=None) -> MethodResult:
    """Rolling-horizon heuristic: intervals in order, binaries integral in the LP relaxation
    fixed, exit states valued at the LP duals; the plan is re-solved with its binaries
    fixed. Its bound is the LP relaxation bound (dw's first step, as a method of its own).
    """
    s = settings
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        b = blocks(provider, s)
        cuts, conditions, linking, solvers = b.cuts, b.conditions, b.linking, b.solvers
        build_s = time.perf_counter() - t0
        repairer = Repairer(solvers, linking,
                            SolveOptions(solver="highs", threads=s.solve.threads),
                            EDGE_WEIGHTS)
        lp = repairer.lp_relaxation()
        lp_bound, y = lp.bound, lp.y
        say(f"LP relaxation bound {lp_bound:.6g}")
        columns = rolling_horizon(solvers, linking, conditions, linking.valid(y), s.pricing_gap,
                                  guide=lp.binaries)
        values = np.concatenate([c.binaries for c in columns])
        rep = repairer.repair_values(values, np.zeros(len(values), dtype=bool), s.repair_gap)
        ub = rep.solve.objective
        if rep.solve.has_solution:
            repairer.check(ub)
            repairer.load(repairer.x)
    seconds = time.perf_counter() - t0
    return MethodResult(
        method="rolling",
        status=FEASIBLE if rep.solve.has_solution else NO_PLAN,
        objective=ub,
        bound=lp_bound,
        gap=relative_gap(ub, lp_bound),
        seconds=seconds,
        build_seconds=build_s,
        solve_seconds=seconds - build_s,
        peak_rss_mb=mem.peak_mb,
        solver=f"intervals {solvers[0].solver.name}, LP and plan highs",
        plan=repairer.plan if rep.solve.has_solution else None,
        extra={"lower_bound": lp_bound, "upper_bound": ub, "lp_bound": lp_bound,
               "rolling_cost": sum(c.cost for c in columns), "intervals": len(cuts)},
    )
