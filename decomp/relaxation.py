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
from decomp.loop import Clock, Converged, Log, Phase, Pricing, Run, run_phase
from decomp.master import RestrictedMaster, price_groups
from decomp.pricing import IntervalSolver, SerialPricer
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
    coarse to fine, before the full phase (:func:`aggregate_spans`). None: no such
    phase. Every round's Lagrangian is a
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
        first, y = _first_columns(solvers, linking, conditions, y, y0, deadline, say)
        first = [c for c in first if pool.add(c)]
        run = Run(linking, n, Log(t0), say)
        clock = Clock(t0, None if deadline is None else deadline - t0)
        pricing = Pricing(pricer, gap=0.0)
        # a trust region only while the master is feasible without its slacks (the
        # rolling pass gave columns that fit together); else the box must widen to let
        # the priced columns take over
        trust = s.trust_region and len(first) == n

        def phase(name: str, master: RestrictedMaster, y: np.ndarray, rounds: int,
                  span: int = 1) -> Phase:
            stab = make_stabilisation(s.stabilisation, y.copy(), s.alpha, width, trust,
                                      s.trust_shrink, s.trust_patience)
            return Phase(name, master, pool, stab, pricing, clock,
                         stop=[Converged(s.tolerance)], max_rounds=rounds,
                         column_age=s.column_age, local_bound=span > 1, check=True,
                         span=span, say_every=10)

        sol = None
        for span in aggregate_spans(s.aggregate):
            if n <= span or clock.expired():
                continue
            groups = price_groups(linking, span)
            master = RestrictedMaster(n, linking, width, groups)
            master.add_many(first)
            y = linking.valid(_group_mean(y, groups))
            coarse = phase("lp-aggregated", master, y, s.aggregate_rounds, span)
            run_phase(run, coarse, y)
            sol = coarse.last_sol or sol
            if math.isfinite(run.best):
                say(f"LP phase, prices constant over {span} boundaries: bound "
                    f"{run.best:.6g} after {run.rounds} rounds")
                y = run.best_y.copy()
            first = [c for cols in pool.columns for c in cols]
        master = RestrictedMaster(n, linking, width)
        master.add_many(first)
        full = phase("lp", master, y, s.max_rounds)
        converged = run_phase(run, full, y) == "converged"
        # an aggregated master's value bounds nothing about the LP's: reported only
        # from the full phase
        value = None if full.last_sol is None else full.last_sol.objective
        sol = full.last_sol or sol
        binaries = None if sol is None else _combined_binaries(sol.weights, solvers)
        best_y = run.best_y if run.best_y is not None else y
        seconds = time.perf_counter() - t0
        say(f"LP relaxation by column generation: bound {run.best:.6g}, master "
            f"{value if value is not None else math.nan:.6g}, {run.rounds} rounds, "
            f"{len(pool)} columns ({seconds:.1f} s{'' if converged else ', not converged'})")
        return RelaxationResult(bound=run.best, y=best_y, master_objective=value,
                                binaries=binaries, rounds=run.rounds, converged=converged,
                                seconds=seconds, log=run.log.rows)
    finally:
        for sv in solvers:
            sv.relax(False)


def _first_columns(solvers, linking: Linking, conditions, y: np.ndarray,
                   y0: np.ndarray | None, deadline: float | None, say):
    """The LP phase's first columns (a rolling pass over the intervals' LPs: they fit
    together) and its first prices (unless ``y0`` gives them)."""
    n = len(solvers)
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
    return first, y


def _group_mean(y: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``y`` with each group's rows at the group's mean (rows outside groups unchanged)."""
    out = y.copy()
    kept = groups >= 0
    sums = np.bincount(groups[kept], weights=y[kept])
    counts = np.bincount(groups[kept])
    out[kept] = (sums / np.maximum(counts, 1))[groups[kept]]
    return out


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
