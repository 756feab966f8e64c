"""The LP relaxation's bound and prices by column generation over the intervals' LPs.

No whole-horizon model: each interval's pricing model is relaxed in place (its integers
made continuous), a rolling pass over these LPs gives one column per interval that fit
together (a feasible restricted master from the first round, so no artificial phase; if
the myopic pass finds no plan, the master's box slacks carry it until columns fit), and
stabilised column generation between the restricted master and LP pricing converges to
the horizon LP relaxation's value. Every round's Lagrangian value (the sum of the
intervals' LP optima at the round's prices plus the prices' constant) is a lower bound on
the LP relaxation, hence on the MILP, whatever the prices: the bound is valid by
construction at every round, not only at convergence.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from decomp.columns import Column, ColumnPool
from decomp.linking import Linking
from decomp.master import RestrictedMaster, price_groups
from decomp.pricing import TROUBLE, IntervalSolver, SerialPricer
from decomp.provider import BoundaryCondition
from decomp.rolling import rolling_horizon
from decomp.solvers import SolverError
from decomp.stabilisation import make_stabilisation


@dataclass(frozen=True)
class RelaxationSettings:
    """Column generation on the LP relaxation: when to stop, how to stabilise and how
    long an unused column stays. ``column_age``: a column unused by this many master
    solves in a row (not in the basis, reduced cost above zero) is pruned from the master
    and the pool, so the master stays small (pricing brings it back if it prices out
    again); None keeps every column. ``trust_shrink``: the factor the trust region's box
    takes after ``trust_patience`` rounds in a row that did not improve the bound (1:
    never narrowed).

    ``aggregate``: a first phase whose master sums each state's boundary rows
    ``aggregate`` boundaries at a time (:func:`~decomp.master.price_groups`), so that its
    prices are constant over those boundaries: far fewer prices to find, and a storage
    price that must change over months moves in a few rounds, not one box step per
    boundary and round. It ends when its own master has converged (or after
    ``aggregate_rounds``); its best prices are the centre of the next phase, its columns
    stay. A decreasing sequence of spans (e.g. ``(30, 7)``) runs one such phase per span,
    coarse to fine, before the full phase: on a year of ten homes a 30-day phase alone
    left the full phase to climb as slowly as without it, a 7-day phase between them
    did not (:func:`aggregate_spans`). None: no such phase. Every round's Lagrangian is a
    bound in every phase."""

    tolerance: float = 1e-5
    max_rounds: int = 1000
    stabilisation: str = "wentges"
    alpha: float = 0.5
    box_width: float = 0.01
    trust_region: bool = True
    trust_shrink: float = 0.5
    column_age: int | None = 10
    trust_patience: int = 1
    aggregate: int | tuple[int, ...] | None = None
    aggregate_rounds: int = 40

    def __post_init__(self) -> None:
        if not self.tolerance > 0:
            raise ValueError(f"tolerance must be positive, not {self.tolerance}")
        if self.max_rounds < 1:
            raise ValueError(f"max_rounds must be >= 1, not {self.max_rounds}")
        if not 0.0 < self.trust_shrink <= 1.0:
            raise ValueError(f"trust_shrink must be in (0, 1], not {self.trust_shrink}")
        if self.column_age is not None and self.column_age < 0:
            raise ValueError(f"column_age must be >= 0 or None, not {self.column_age}")
        if self.trust_patience < 1:
            raise ValueError(f"trust_patience must be >= 1, not {self.trust_patience}")
        aggregate_spans(self.aggregate)
        if self.aggregate_rounds < 1:
            raise ValueError(f"aggregate_rounds must be >= 1, not {self.aggregate_rounds}")


def aggregate_spans(aggregate: int | Sequence[int] | None, name: str = "aggregate"
                    ) -> tuple[int, ...]:
    """The spans of the aggregated phases, coarse to fine (empty: none); refuses a span
    below 2 or spans that do not decrease."""
    if aggregate is None:
        return ()
    spans = (aggregate,) if isinstance(aggregate, (int, np.integer)) else tuple(aggregate)
    if not spans or any(int(v) != v or v < 2 for v in spans):
        raise ValueError(f"{name} must be spans >= 2 or None, not {aggregate!r}")
    if any(a <= b for a, b in zip(spans, spans[1:], strict=False)):
        raise ValueError(f"{name} spans must decrease (coarse to fine), not {aggregate!r}")
    return tuple(int(v) for v in spans)


@dataclass
class RelaxationResult:
    """What the LP phase proved and found.

    ``bound``: the best Lagrangian value (a valid lower bound; ``-inf`` if no round was
    complete); ``y``: the prices that gave it; ``master_objective``: the restricted
    master's last value (the LP relaxation's value lies between the two); ``binaries``:
    the master's convex combination of the columns' integer variables, interval by
    interval (the LP relaxation's values of the integers, to guide a rolling pass).
    """

    bound: float
    y: np.ndarray
    master_objective: float | None
    binaries: np.ndarray | None
    rounds: int
    converged: bool
    seconds: float
    log: list[dict] = field(default_factory=list)


def solve_relaxation(
    solvers: list[IntervalSolver],
    linking: Linking,
    conditions: list[BoundaryCondition],
    cost_scale: float,
    settings: RelaxationSettings = RelaxationSettings(),
    y0: np.ndarray | None = None,
    deadline: float | None = None,
    say: Callable[[str], None] | None = None,
    pricer=None,
) -> RelaxationResult:
    """Converge the restricted master over interval LP columns to the LP relaxation.

    ``y0`` (e.g. a previous design's prices) is the first stability centre and values the
    rolling pass's exits; ``deadline`` (a ``time.perf_counter()`` instant) stops the loop,
    each LP included. The solvers are relaxed for the phase and given their integers back
    before this returns. ``pricer`` (a :class:`~decomp.pricing.ThreadPricer` over the same
    solvers, say) prices the rounds; by default one interval after the other.
    """
    s = settings
    t0 = time.perf_counter()
    say = say or (lambda msg: None)
    n = len(solvers)
    y = linking.valid(np.zeros(linking.size) if y0 is None else y0)
    pricer = pricer or SerialPricer(solvers)
    for sv in solvers:
        sv.relax(True)
    try:
        width = s.box_width * cost_scale
        pool = ColumnPool(n)
        values: list = []
        try:
            first = rolling_horizon(solvers, linking, conditions, y, 0.0, deadline=deadline,
                                    entry_values=values)
        except SolverError as exc:
            # a myopic pass can end where the next interval has no plan (a state carried
            # into hours that forbid it); the box's slacks then keep the master feasible
            # until priced columns fit together
            say(f"LP phase: rolling pass found no plan ({exc}); starting from pricing")
            first = []
        if y0 is None and len(values) == n:
            # what each state entering an interval is worth to it in the rolling pass:
            # a first centre with the right signs and orders of magnitude (from zero,
            # the first rounds' bounds are near 0 until the centre has moved)
            y = linking.valid(entry_prices(linking, values))
        first = [c for c in first if pool.add(c)]
        run = _Rounds(solvers, linking, pool, pricer, s, deadline, say, t0)
        # a trust region only while the master is feasible without its slacks (the
        # rolling pass gave columns that fit together); else the box must widen to let
        # the priced columns take over
        trust = s.trust_region and len(first) == n
        for span in aggregate_spans(s.aggregate):
            if n <= span or (deadline is not None and time.perf_counter() >= deadline):
                continue
            groups = price_groups(linking, span)
            master = RestrictedMaster(n, linking, width, groups)
            master.add_many(first)
            y = linking.valid(_group_mean(y, groups))
            stab = make_stabilisation(s.stabilisation, y.copy(), s.alpha, width, trust,
                                      s.trust_shrink, s.trust_patience)
            run.go(master, stab, y, s.aggregate_rounds, "lp-aggregated", span)
            if math.isfinite(run.best):
                say(f"LP phase, prices constant over {span} boundaries: bound "
                    f"{run.best:.6g} after {run.rounds} rounds")
                y = run.best_y.copy()
            first = [c for cols in pool.columns for c in cols]
        master = RestrictedMaster(n, linking, width)
        master.add_many(first)
        stab = make_stabilisation(s.stabilisation, y.copy(), s.alpha, width, trust,
                                  s.trust_shrink, s.trust_patience)
        run.go(master, stab, y, s.max_rounds, "lp")
        sol, best, rounds, converged = run.sol, run.best, run.rounds, run.converged
        # an aggregated master's value bounds nothing about the LP's: reported only
        # from the full phase
        value = None if sol is None or run.sol_phase != "lp" else sol.objective
        binaries = None
        if sol is not None:
            binaries = _combined_binaries(sol.weights, solvers)
        seconds = time.perf_counter() - t0
        say(f"LP relaxation by column generation: bound {best:.6g}, master "
            f"{value if value is not None else math.nan:.6g}, {rounds} rounds, "
            f"{len(pool)} columns ({seconds:.1f} s{'' if converged else ', not converged'})")
        return RelaxationResult(bound=best, y=run.best_y,
                                master_objective=value, binaries=binaries, rounds=rounds,
                                converged=converged, seconds=seconds, log=run.log)
    finally:
        for sv in solvers:
            sv.relax(False)


def _group_mean(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``y`` with each group's rows at the group's mean (rows outside groups unchanged)."""
    out = y.copy()
    kept = groups >= 0
    sums = np.bincount(groups[kept], weights=y[kept])
    counts = np.bincount(groups[kept])
    out[kept] = (sums / np.maximum(counts, 1))[groups[kept]]
    return out


class _Rounds:
    """Column generation rounds between one restricted master and the intervals' LPs;
    the bound, its prices, the log and the round count carry over from phase to phase."""

    def __init__(self, solvers, linking: Linking, pool: ColumnPool, pricer,
                 s: RelaxationSettings, deadline: float | None, say, t0: float) -> None:
        self.solvers, self.linking, self.pool, self.pricer = solvers, linking, pool, pricer
        self.s, self.deadline, self.say, self.t0 = s, deadline, say, t0
        self.best = -math.inf
        self.best_y = linking.valid(np.zeros(linking.size))
        self.sol = None
        self.sol_phase: str | None = None
        self.converged = False
        self.rounds = 0
        self.log: list[dict] = []

    def go(self, master: RestrictedMaster, stab, y: np.ndarray, max_rounds: int,
           phase: str, span: int = 1) -> None:
        """Up to ``max_rounds`` rounds from prices ``y``: until ``master`` has converged
        to the bound (``converged``), the deadline or a time limit within a round.
        ``span``: the boundaries each master row sums (logged)."""
        s, linking, pool, n = self.s, self.linking, self.pool, len(self.solvers)
        deadline, say = self.deadline, self.say
        if not math.isfinite(self.best):
            self.best_y = y.copy()
        sol, self.converged = None, False
        # the best Lagrangian at this phase's prices: in an aggregated phase it bounds the
        # summed rows' LP, which this phase's master approximates from above; a bound
        # from an earlier phase (other sums) need not lie below this master
        phase_best = -math.inf
        for _ in range(max_rounds):
            if deadline is not None and time.perf_counter() >= deadline:
                return
            self.rounds += 1
            rounds = self.rounds
            tp = time.perf_counter()
            prices = [linking.interval_prices(y, k) for k in range(n)]
            results = self.pricer.price(prices, 0.0, deadline)
            pricing_s = time.perf_counter() - tp
            complete = len(results) == n and all(math.isfinite(r.bound) for r in results)
            lagrangian = (sum(r.bound for r in results) + linking.constant(y)
                          if complete else None)
            improved = lagrangian is not None and lagrangian > self.best + 1e-12 * max(
                1.0, abs(lagrangian))
            if improved:
                self.best, self.best_y = lagrangian, y.copy()
            if lagrangian is not None:
                phase_best = max(phase_best, lagrangian)
            new = [r.column for r in results if r.column is not None and pool.add(r.column)]
            # a mis-pricing: no new column prices out at the master's own duals, so the
            # master cannot move; smoothing is then cut back (Wentges' rule)
            mispriced = sol is not None and not any(
                sol.reduced_cost(c, linking) < -1e-7 * max(1.0, abs(c.cost)) for c in new)
            tm = time.perf_counter()
            master.add_many(new)
            if master.missing():
                # a round cut short before every interval had a column: no master yet
                say(f"LP round {rounds}: time limit reached before every interval had a "
                    "column")
                return
            master.set_box(*stab.box())
            solved = master.solve(None if deadline is None else deadline - time.perf_counter())
            master_s = time.perf_counter() - tm
            if solved is None:
                say(f"LP round {rounds}: time limit reached in the master")
                return
            sol = self.sol = solved
            self.sol_phase = phase
            binding = master.box_binding(sol)
            pruned = []
            if s.column_age is not None:
                pruned = master.prune(s.column_age)
                pool.discard(pruned)
            best = self.best if phase == "lp" else phase_best
            self.log.append({"iteration": rounds, "lower_bound": self.best, "box_width": stab.width,
                             "lagrangian": lagrangian, "master_objective": sol.objective,
                             "columns_added": len(new), "columns": len(pool),
                             "columns_pruned": len(pruned),
                             "box_binding": binding, "alpha": stab.alpha,
                             "pricing_seconds": pricing_s, "master_seconds": master_s,
                             "elapsed": time.perf_counter() - self.t0, "phase": phase,
                             "span": span})
            if rounds % 10 == 0:
                say(f"LP round {rounds}: bound {self.best:.6g}, master {sol.objective:.6g}, "
                    f"{len(pool)} columns ({time.perf_counter() - self.t0:.1f} s)")
            if not complete:
                if len(results) < n or (deadline is not None
                                        and time.perf_counter() >= deadline):
                    say(f"LP round {rounds}: time limit reached while pricing")
                    return
                # an interval's solver ended without a verdict twice: this round gives
                # no bound, its other columns count, the rounds go on
                say(f"LP round {rounds}: no bound from this round (solver trouble on "
                    f"{sum(r.status == TROUBLE for r in results)} interval(s))")
                stab.update(y, False, mispriced, binding)
                y = linking.valid(stab.prices(sol.y))
                continue
            if not binding and best > sol.objective + 1e-6 * max(1.0, abs(sol.objective)):
                # the master without slack is a feasible point of this phase's LP (the
                # summed rows' LP in an aggregated phase): a bound at this phase's prices
                # above it is wrong
                raise RuntimeError(f"LP phase: Lagrangian bound {best:.10g} above the "
                                   f"restricted master's value {sol.objective:.10g}")
            if not binding and sol.objective - best <= s.tolerance * max(1.0, abs(sol.objective)):
                self.converged = True
                return
            stab.update(y, improved, mispriced, binding)
            y = linking.valid(stab.prices(sol.y))


def entry_prices(linking: Linking, values: list[np.ndarray | None]) -> np.ndarray:
    """Prices on the boundary rows from what each interval's entry states are worth to
    it (``values[k]``: minus the reduced costs of interval k's fixed entry states): the
    price at which the interval would not want to change its entry (``y = -value / a``
    for the row's coefficient ``a`` on that entry). Rows without a value stay at 0."""
    y = np.zeros(linking.size)
    for k, value in enumerate(values):
        if value is None:
            continue
        entry, _ = linking.terms(k)
        for r, i, a in entry:
            if linking.rows[r].kind == "link":
                y[r] = -value[i] / a
    return y


def _combined_binaries(weights: list[tuple[Column, float]],
                       solvers: list[IntervalSolver]) -> np.ndarray:
    """The master's convex combination of its columns' integer variables, in interval
    order (an interval without weight, which a feasible master never has, gets NaN)."""
    parts = [np.zeros(sv.n_binaries) for sv in solvers]
    total = np.zeros(len(solvers))
    for col, w in weights:
        parts[col.k] += w * col.binaries
        total[col.k] += w
    for k, part in enumerate(parts):
        if total[k] <= 0:
            part[:] = np.nan
        else:
            part /= total[k]
    return np.concatenate(parts) if parts else np.zeros(0)
