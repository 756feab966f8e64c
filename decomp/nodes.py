"""Dantzig-Wolfe decomposition by node: each block one building's whole horizon.

A network's buildings are the blocks; the rows that couple them (the flows on a link
equal at both ends, a shared bus balanced) are a :class:`~decomp.coupling.Coupling`. The
one column-generation loop (:func:`~decomp.loop.run_phase`) runs first on the blocks' LP
relaxations, whose converged master is the network's LP relaxation (its bound and
prices), then with MILP pricing. Every complete round's Lagrangian is a valid lower bound
(for LP pricing too: it bounds the LP relaxation, which bounds the MILP).

A plan (:class:`NodePlans`): one column per block, every block but the *repair block*
(the one in every coupling row: a hub) held at its column (its integers and coupling
quantities fixed, the rest an LP), then the repair block re-solved as a MILP with its
coupling quantities set by the rows. The plan is checked block by block and row by row,
which together are the whole model.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from decomp.certificate import CertificateError, certified_status
from decomp.columns import Column, ColumnPool
from decomp.coupling import Coupling, CouplingRow
from decomp.loop import (
    Clock,
    Converged,
    GapMet,
    Log,
    Phase,
    Pricing,
    Round,
    Run,
    run_phase,
)
from decomp.master import RestrictedMaster, choose_columns
from decomp.memory import PeakMemory
from decomp.methods import MethodResult
from decomp.prices import LP_MASTER_SHARE, cost_scale, interval_time_cap
from decomp.pricing import IntervalSolver, PricingResult, SerialPricer, ThreadPricer
from decomp.provider import IntervalModel, SeriesPlan
from decomp.settings import DWSettings
from decomp.solvers import SolveOptions, relative_gap
from decomp.stabilisation import make_stabilisation

#: rounds of each LP phase at most (it stops once its master has converged)
LP_ROUNDS = 300
#: the coarse LP phase holds each family's prices constant over this many steps (a day)
SPAN = 24
#: the master's dual box: this many times the largest cost coefficient wide
BOX_WIDTH = 10.0
#: a plan from the column choice every this many rounds (and in the last)
PLAN_EVERY = 5
#: seconds the column choice and the repair block's MILP may take
CHOICE_TIME_LIMIT, REPAIR_TIME_LIMIT = 30.0, 120.0
#: the blocks' feasibility tolerances: a hub's net inflow ranges over the sum of its
#: links' capacities, and at the default 1e-7 dual tolerance a hub LP reported a bound
#: 8e-6 above its minimum (0), enough to lift the Lagrangian above the optimum
TOLERANCE = 1e-9
#: a coupling row of a plan may be off by this much (relative to its size)
ROW_TOLERANCE = 1e-6


@dataclass
class NodeProblem:
    """What a provider hands the node decomposition: one whole-horizon model per block
    (its own edge conditions inside, no entry states, its coupling quantities as
    ``exit``), the rows that couple them and the blocks' names."""

    blocks: list[IntervalModel]
    rows: list[CouplingRow]
    names: list[str]

    def __post_init__(self) -> None:
        if len(self.blocks) < 2:
            raise ValueError("a node decomposition needs at least two blocks, not "
                             f"{len(self.blocks)}")
        if len(self.names) != len(self.blocks):
            raise ValueError(f"{len(self.names)} names for {len(self.blocks)} blocks")
        for name, b in zip(self.names, self.blocks, strict=True):
            if b.entry:
                raise ValueError(f"block {name}: a node block has no entry states, not "
                                 f"{sorted(b.entry)[:3]}")


def repair_block(coupling: Coupling) -> int:
    """The block in every coupling row, once in each (the hub): the one a plan re-solves
    with the others held."""
    n = coupling.n
    count = np.zeros((len(coupling.rows), n), dtype=int)
    for r, row in enumerate(coupling.rows):
        for k, _, _ in row.terms:
            count[r, k] += 1
    hubs = [k for k in range(n) if np.all(count[:, k] == 1)]
    if not hubs:
        raise ValueError("no block appears once in every coupling row: a node "
                         "decomposition needs a hub to re-solve plans")
    return hubs[0]


class NodePlans:
    """Plans of the node decomposition (the loop's heuristics): the round's columns
    when every block priced one; every ``PLAN_EVERY`` rounds and in the last, the column
    choice and the master's mix."""

    def __init__(self, solvers: list[IntervalSolver], coupling: Coupling, pool: ColumnPool,
                 master: RestrictedMaster | None, gap: float, say) -> None:
        self.solvers, self.coupling, self.pool, self.say = solvers, coupling, pool, say
        self.master = master
        self.hub = repair_block(coupling)
        self.gap = gap
        self.x: list[np.ndarray] | None = None
        self.ub = math.inf
        self.latest: list[Column | None] = [None] * len(solvers)
        self.tried: set[bytes] = set()
        self.plans = 0

    def upper(self) -> float | None:
        return None if self.x is None else self.ub

    def on_results(self, results: list[PricingResult]) -> None:
        for r in results:
            if r.column is not None:
                self.latest[r.k] = r.column

    def on_bound(self, rnd: Round) -> None:
        """Nothing: plans do not read the bound."""

    def after_round(self, rnd: Round, clock: Clock) -> None:
        candidates = []
        priced = [r.column for r in rnd.results]
        if all(c is not None for c in priced):
            candidates.append(priced)
        if (rnd.number % PLAN_EVERY == 0 or rnd.last) and not clock.expired():
            penalty = np.abs(rnd.center) + 1e-3
            chosen = choose_columns(self.pool.columns, self.coupling, penalty,
                                    clock.cap(CHOICE_TIME_LIMIT))
            if chosen is not None:
                candidates.append(chosen)
        for chosen in candidates:
            if clock.expired():
                return
            self.plan(chosen, clock)
        if ((rnd.number % PLAN_EVERY == 0 or rnd.last) and not rnd.binding
                and not clock.expired()):
            self.plan_averaged(rnd.sol.weights, clock)

    def finish(self, clock: Clock) -> None:
        """A plan for a run that has none: each block's latest column."""
        if self.x is None and all(c is not None for c in self.latest):
            self.plan(self.latest, clock)

    def plan(self, chosen: list[Column], clock: Clock) -> bool:
        """The plan of these columns: the other blocks held at theirs (integers and
        coupling quantities fixed), the repair block re-solved; True when it is the best
        so far."""
        held = [c for k, c in enumerate(chosen) if k != self.hub]
        key = np.concatenate([np.asarray(c.binaries, dtype=float) for c in held]
                             + [np.round(c.exit, 6) for c in held]).tobytes()
        return self._complete(key, {k: (c.binaries, c.exit) for k, c in enumerate(chosen)
                                    if k != self.hub}, clock)

    def plan_averaged(self, weights: list[tuple[Column, float]], clock: Clock) -> bool:
        """The plan of the master's solution: each other block re-solved as a MILP with
        its coupling quantities at the master's weighted average of its columns (which
        meet every coupling row), then the repair block. It reaches plans that no one
        column per block gives (a shared capacity that every block's columns overrun in
        some hour, met only by their mix)."""
        n = len(self.solvers)
        average = [np.zeros(len(sv.exit_names)) for sv in self.solvers]
        total = np.zeros(n)
        for col, w in weights:
            average[col.k] += w * col.exit
            total[col.k] += w
        if np.any(np.delete(total, self.hub) < 1 - 1e-6):
            return False
        key = np.concatenate([np.round(average[k], 6) for k in range(n) if k != self.hub])
        return self._complete(b"mix" + key.tobytes(),
                              {k: (None, average[k]) for k in range(n) if k != self.hub},
                              clock)

    def _complete(self, key: bytes, held: dict, clock: Clock) -> bool:
        """Hold block ``k`` at ``held[k]`` = (integers or None: free, coupling
        quantities), re-solve the repair block, offer the plan."""
        if key in self.tried:
            return False
        self.tried.add(key)
        t0 = time.perf_counter()
        xs: list[np.ndarray | None] = [None] * len(self.solvers)
        for k, (binaries, exits) in held.items():
            xs[k] = self._held(k, binaries, exits, clock)
            if xs[k] is None:
                self.say(f"plan: block {k} has no plan with its coupling quantities held")
                return False
        xs[self.hub] = self._repair(xs, clock)
        if xs[self.hub] is None:
            self.say(f"plan: the repair block has no plan with the others held "
                     f"({time.perf_counter() - t0:.1f} s)")
            return False
        cost = sum(sv.form.objective(x) for sv, x in zip(self.solvers, xs, strict=True))
        self.plans += 1
        # the plan's blocks enter the pool and the master: its value can then not exceed
        # the plan's
        new = [c for c in (sv.column_of(x, origin="plan") for sv, x
                           in zip(self.solvers, xs, strict=True)) if self.pool.add(c)]
        if self.master is not None:
            self.master.add_many(new)
        better = cost < self.ub
        if better:
            self.x, self.ub = xs, cost
        self.say(f"plan {self.plans}: {cost:.6g}{' (best)' if better else ''} "
                 f"({time.perf_counter() - t0:.1f} s)")
        return better

    def _held(self, k: int, binaries: np.ndarray | None, exits: np.ndarray,
              clock: Clock) -> np.ndarray | None:
        """Block ``k`` with its coupling quantities fixed and its integers fixed too
        (``binaries``) or free, re-solved at its own cost."""
        sv = self.solvers[k]
        if binaries is not None:
            sv.fix_integral(binaries)
        sv.set_exit_bounds(exits, exits)
        try:
            return self._solve(sv, self.gap, clock.cap(REPAIR_TIME_LIMIT))
        finally:
            sv.release()

    def _repair(self, xs: list, clock: Clock) -> np.ndarray | None:
        """The repair block's MILP with its coupling quantities set by the rows, given
        the held blocks' values."""
        link, hub = self.coupling, self.hub
        activity = row_activity(self.solvers, link, xs)
        sv = self.solvers[hub]
        lb = np.full(len(sv.exit_names), -np.inf)
        ub = np.full(len(sv.exit_names), np.inf)
        for r, i, a in link.terms(hub):
            need = (link.rhs[r] - activity[r]) / a
            if not link.inequality[r] or a > 0:
                lb[i] = max(lb[i], need)
            if not link.inequality[r] or a < 0:
                ub[i] = min(ub[i], need)
        # within the quantities' own bounds, or no plan
        lb = np.maximum(lb, sv.form.lb[sv.exit_cols])
        ub = np.minimum(ub, sv.form.ub[sv.exit_cols])
        tol = ROW_TOLERANCE * np.maximum(1.0, np.abs(lb))
        if np.any(lb > ub + tol):
            return None
        sv.set_exit_bounds(lb, np.maximum(lb, ub))
        try:
            return self._solve(sv, self.gap, clock.cap(REPAIR_TIME_LIMIT))
        finally:
            sv.release()

    @staticmethod
    def _solve(sv: IntervalSolver, gap: float, limit: float | None) -> np.ndarray | None:
        sv.set_prices(np.zeros(len(sv.entry_names)), np.zeros(len(sv.exit_names)))
        r = sv.solve(gap=gap, time_limit=limit, allow_infeasible=True)
        if r.column is None:
            return None
        return sv.form.clip(sv.solver.values.copy())


def row_activity(solvers: list[IntervalSolver], coupling: Coupling,
                 xs: list[np.ndarray | None]) -> np.ndarray:
    """Each coupling row's left-hand side from the blocks' values (a block without
    values, None, adds nothing)."""
    activity = np.zeros(coupling.size)
    for sv, x in zip(solvers, xs, strict=True):
        if x is None:
            continue
        for r, a in coupling.coefficients(sv.k, np.zeros(0), x[sv.exit_cols]).items():
            activity[r] += a
    return activity


def check_plan(solvers: list[IntervalSolver], coupling: Coupling, xs: list[np.ndarray],
               claimed: float) -> None:
    """Raise :class:`CertificateError` unless every block's values satisfy its model and
    every coupling row holds: the whole model, by parts."""
    total = 0.0
    for sv, x in zip(solvers, xs, strict=True):
        chk = sv.form.check(x)
        chk.require(None, what=f"block {sv.k}'s part of the plan")
        total += chk.objective
    off = coupling.rhs - row_activity(solvers, coupling, xs)
    off = np.where(coupling.inequality, np.maximum(off, 0.0), np.abs(off))
    scale = np.maximum(1.0, np.abs(coupling.rhs))
    if len(off) and np.max(off / scale) > 1e-5:
        r = int(np.argmax(off / scale))
        raise CertificateError(f"the plan breaks coupling row {coupling.rows[r].name} by "
                               f"{off[r]:.3g}")
    if abs(total - claimed) > 1e-5 * max(1.0, abs(claimed)):
        raise CertificateError(f"the plan's cost recomputed is {total!r}, not {claimed!r}")


def _lp_phases(run: Run, solvers: list[IntervalSolver], coupling: Coupling, pricer,
               width: float, clock: Clock, tolerance: float, stabilisation: str,
               say) -> str:
    """The LP phase: first with each family's prices constant over ``SPAN`` steps (a
    master of few rows converges in few rounds), then every row with its own price from
    the coarse phase's best; each a trust region around a feasible start."""
    n = len(solvers)
    pool = ColumnPool(n)
    y = np.zeros(coupling.size)

    def phase(name: str, master: RestrictedMaster, span: int) -> Phase:
        master.add_many([c for cols in pool.columns for c in cols])
        stab = make_stabilisation(stabilisation, y.copy(), 0.5, width, trust_region=True,
                                  patience=2)
        return Phase(name, master, pool, stab, Pricing(pricer, 0.0), clock,
                     stop=[Converged(tolerance)], max_rounds=LP_ROUNDS,
                     local_bound=span > 1, span=span, say_every=10)

    _feasible_start(solvers, coupling, pricer, pool, clock, say)
    groups = coupling.groups(SPAN)
    if groups.max(initial=-1) + 1 < coupling.size:
        run_phase(run, phase("LP-aggregated", RestrictedMaster(n, coupling, width, groups),
                             SPAN), y)
        if run.best_y is not None:
            y = run.best_y.copy()
            say(f"LP phase, prices constant over {SPAN} steps: bound {run.best:.6g} "
                f"after {run.rounds} rounds")
    return run_phase(run, phase("LP", RestrictedMaster(n, coupling, width), 1), y)


def _feasible_start(solvers, coupling, pricer, pool, clock, say) -> None:
    """The LP phase's first columns: each block priced at zero prices, then the others
    held and the repair block re-solved; a master that is feasible from its first round
    lets its box act as a trust region."""
    zero = np.zeros(coupling.size)
    results = pricer.price([coupling.interval_prices(zero, k) for k in range(len(solvers))],
                           0.0, clock.deadline())
    if len(results) < len(solvers) or any(r.column is None for r in results):
        return
    start = NodePlans(solvers, coupling, pool, None, 0.0, say)
    start.plan([r.column for r in results], clock)


def solve_nodes(problem: NodeProblem, settings: DWSettings, progress=None) -> MethodResult:
    """Column generation over the blocks of ``problem`` to a certified gap: the LP phase
    (bound and prices of the LP relaxation), then MILP pricing with plans each round."""
    t0 = time.perf_counter()
    s = settings
    log, clock, say = Log(t0), Clock(t0, s.time_limit), progress or (lambda m: None)
    with PeakMemory() as mem:
        options = SolveOptions(solver=s.solve.solver, gap=s.pricing_gap, threads=1,
                               tolerance=TOLERANCE)
        solvers = [IntervalSolver(k, b, options) for k, b in enumerate(problem.blocks)]
        coupling = Coupling([sv.exit_names for sv in solvers], problem.rows)
        n, build_s = len(solvers), time.perf_counter() - t0
        pricer = ThreadPricer(solvers, s.workers) if s.workers > 1 else SerialPricer(solvers)
        width = BOX_WIDTH * cost_scale(solvers)
        say(f"node decomposition: {n} blocks ({', '.join(problem.names)}), "
            f"{coupling.size:,} coupling rows")
        # the LP phase: the blocks' relaxations from zero prices to convergence
        for sv in solvers:
            sv.relax(True)
        run = Run(coupling, n, log, say)
        lp_clock = Clock(t0, None if s.time_limit is None else LP_MASTER_SHARE * s.time_limit)
        clock.at("LP phase")
        lp_reason = _lp_phases(run, solvers, coupling, pricer, width, lp_clock,
                               max(1e-6, s.gap / 10), s.stabilisation, say)
        for sv in solvers:
            sv.relax(False)
        lp_bound = run.best if math.isfinite(run.best) else None
        y = run.best_y if run.best_y is not None else np.zeros(coupling.size)
        say(f"LP phase: bound {run.best:.6g} ({lp_reason}, {clock.elapsed():.1f} s)")
        # the integer phase around the LP phase's best prices
        pool, master = ColumnPool(n), RestrictedMaster(n, coupling, width)
        plans = NodePlans(solvers, coupling, pool, master, min(s.pricing_gap, s.gap / 2), say)
        run.incumbent = plans
        phase = Phase("integer", master, pool,
                      make_stabilisation(s.stabilisation, y.copy(), 0.5, width),
                      Pricing(pricer, s.pricing_gap, fill=True,
                              cap=lambda left: interval_time_cap(s.pricing_time_limit, left,
                                                                 s.workers, n)),
                      clock, stop=[GapMet(s.gap), Converged(1e-6)],
                      max_rounds=s.max_iterations, admit="improving", heuristics=plans)
        reason = run_phase(run, phase, y)
        clock.at("plan")
        plans.finish(clock)
        pricer.close()
        lower, ub = run.best, plans.upper()
        gap = relative_gap(ub, lower)  # LB > UB raises
        clock.at("plan check")
        if plans.x is not None:
            check_plan(solvers, coupling, plans.x, ub)
    seconds = time.perf_counter() - t0
    plan = None
    if plans.x is not None:
        series: dict[str, np.ndarray] = {}
        for sv, x in zip(solvers, plans.x, strict=True):
            series |= sv.series_values(x)
        plan = SeriesPlan(problem.blocks[0].start, problem.blocks[0].stop, series)
    return MethodResult(
        method="dw", status=certified_status(plans.x is not None, gap, s.gap), objective=ub,
        bound=lower if math.isfinite(lower) else None, gap=gap, seconds=seconds,
        build_seconds=build_s, solve_seconds=seconds - build_s, peak_rss_mb=mem.peak_mb,
        solver=f"pricing {solvers[0].solver.name}, master highs",
        plan=plan, log=log.rows,
        extra={"decomposition": "node", "blocks": problem.names, "lower_bound": lower,
               "upper_bound": ub, "lp_bound": lp_bound, "lp_phase": lp_reason,
               "stop_reason": reason, "iterations": len(log.rows), "columns": len(pool),
               "plans": plans.plans, "coupling_rows": coupling.size,
               "repair_block": problem.names[plans.hub], "time_limit_cut": clock.cut_step(),
               "overrun_seconds": None if s.time_limit is None
               else max(0.0, seconds - s.time_limit)})
