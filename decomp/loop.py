"""The column-generation loop: one loop for every phase, its parts passed in.

A round: prices -> pricing (one subproblem per block) -> Lagrangian bound -> columns into
the pool and the restricted master -> master duals -> primal heuristics -> stopping rules
-> stabilised prices. What differs between the LP phases and the integer phase is not a
fork of this loop but the :class:`Phase` it is given: its master (rows summed or not),
pricing (LPs or MILPs, their caps), stabilisation, which columns it admits, its stopping
rules and its heuristics (none in the LP phases).

The loop knows blocks only through :class:`BlockLinking`: prices per block, the constant
of the Lagrangian and the projection of prices onto their valid signs. Time intervals
(:class:`~decomp.linking.Linking`) are one such layout; blocks that are not time
intervals (buildings of a network) need only another.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from decomp.certificate import GAP_MET, OPTIMAL
from decomp.columns import Column, ColumnPool
from decomp.master import MasterSolution, RestrictedMaster
from decomp.pricing import TROUBLE, PricingResult
from decomp.solvers import relative_gap
from decomp.stabilisation import Stabilisation


class BlockLinking(Protocol):
    """What the loop needs of the rows that link the blocks."""

    size: int

    def interval_prices(self, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``k``'s objective terms at row prices ``y``."""

    def constant(self, y: np.ndarray) -> float:
        """The Lagrangian's constant term ``b . y``."""

    def valid(self, y: np.ndarray) -> np.ndarray:
        """``y`` with the sign each row's sense demands."""


class Clock:
    """Elapsed time against an optional limit; caps each step's own limit."""

    def __init__(self, t0: float, limit: float | None) -> None:
        self.t0 = t0
        self.total = limit
        self.steps: list[tuple[float, str]] = []

    def at(self, step: str) -> None:
        """Mark the start of ``step`` (what :meth:`cut_step` names)."""
        self.steps.append((self.elapsed(), step))

    def cut_step(self) -> str | None:
        """The step that was running when the limit passed, None within the limit."""
        if self.total is None or self.elapsed() <= self.total:
            return None
        running = [name for t, name in self.steps if t <= self.total]
        return running[-1] if running else "start"

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self) -> float | None:
        """Seconds to the limit (None without one)."""
        return None if self.total is None else self.total - self.elapsed()

    def expired(self) -> bool:
        return self.total is not None and self.elapsed() > self.total

    def cap(self, step_limit: float | None, floor: float = 0.05) -> float | None:
        """The step's limit, shortened to the time left (at least ``floor`` seconds)."""
        if self.total is None:
            return step_limit
        left = max(floor, self.total - self.elapsed())
        return left if step_limit is None else min(step_limit, left)

    def deadline(self, grace: float = 0.0) -> float | None:
        """The limit as a ``time.perf_counter()`` instant, ``grace`` (a share of the
        limit) past it."""
        return None if self.total is None else self.t0 + self.total * (1.0 + grace)


class Log:
    """The run's rows, one per round or heuristic step, each with its elapsed time and
    every key of :data:`ROW` (a step that is not a round has no Lagrangian, say)."""

    ROW = {"iteration": None, "lower_bound": None, "phase": None, "lagrangian": None,
           "master_objective": None, "upper_bound": None, "gap": None,
           "columns_added": 0, "columns": 0, "pricing_seconds": 0.0, "master_seconds": 0.0,
           "repair_seconds": 0.0}

    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.rows: list[dict] = []

    def add(self, **row) -> None:
        self.rows.append(self.ROW | row | {"elapsed": time.perf_counter() - self.t0})


@dataclass
class Pricing:
    """How a phase prices: the blocks' ``pricer``, the MILP ``gap``, ``fill`` (a block
    cut short counts its LP value, solved within the run's limit), ``cap`` (seconds each
    block may take, given the seconds left) and ``reserve`` (seconds before the deadline
    the round leaves to the heuristics)."""

    pricer: object
    gap: float = 0.0
    fill: bool = False
    cap: Callable[[float | None], float | None] = lambda left: None
    reserve: Callable[[float | None], float] = lambda left: 0.0

    def price(self, prices: list, clock: Clock) -> tuple[list[PricingResult], float | None]:
        """The round's results and the per-block cap it ran with."""
        left, end = clock.left(), clock.deadline()
        cap = self.cap(left)
        deadline = None if end is None else end - self.reserve(left)
        fill = (math.inf if end is None else end) if self.fill else None
        return self.pricer.price(prices, self.gap, deadline, fill=fill,
                                 interval_limit=cap), cap


@dataclass
class Round:
    """What one round found: what stopping rules and heuristics read."""

    number: int
    y: np.ndarray
    prices: list
    results: list[PricingResult]
    lagrangian: float | None
    improved: bool
    sol: MasterSolution
    binding: bool
    reference: float
    center: np.ndarray
    last: bool = False


class StopRule(Protocol):
    """Says why the loop stops after a round, or None."""

    def __call__(self, rnd: Round, run: Run) -> str | None: ...


@dataclass
class Converged:
    """The master without slack within ``tolerance`` of the phase's bound."""

    tolerance: float

    def __call__(self, rnd: Round, run: Run) -> str | None:
        value = rnd.sol.objective
        if not rnd.binding and value - rnd.reference <= self.tolerance * max(1.0, abs(value)):
            return "converged"
        return None


@dataclass
class GapMet:
    """The incumbent within ``gap`` of the best bound."""

    gap: float

    def __call__(self, rnd: Round, run: Run) -> str | None:
        gap = relative_gap(run.upper(), run.best)
        return "gap" if gap is not None and gap <= self.gap else None


@dataclass
class Stalled:
    """Neither the master's value fell nor the bound rose by 1e-4 of the master's value
    in ``rounds`` rounds (a master held by its box counts as progress)."""

    rounds: int
    mark: tuple[float, float, int] = (math.inf, -math.inf, 0)

    def __call__(self, rnd: Round, run: Run) -> str | None:
        value, scale = rnd.sol.objective, 1e-4 * max(1.0, abs(rnd.sol.objective))
        if value < self.mark[0] - scale or run.best > self.mark[1] + scale or rnd.binding:
            self.mark = (value, run.best, rnd.number)
            return None
        return "stalled" if rnd.number - self.mark[2] >= self.rounds else None


class Heuristics(Protocol):
    """Primal heuristics run inside a phase's rounds."""

    def upper(self) -> float | None: ...

    def on_results(self, results: list[PricingResult]) -> None: ...

    def on_bound(self, rnd: Round) -> None: ...

    def after_round(self, rnd: Round, clock: Clock) -> None: ...


@dataclass
class Phase:
    """One phase of column generation: the loop's parts.

    ``admit``: ``new`` puts every column new to the pool into the master, ``improving``
    only those that price out at the last master's duals. ``column_age``: a column
    unused by this many master solves in a row leaves the master and the pool.
    ``local_bound``: the phase's master sums rows (an aggregated phase), so its
    convergence and its consistency check use the bound of its own prices only.
    ``check``: a bound above the master without slack is an error (it must not be)."""

    name: str
    master: RestrictedMaster
    pool: ColumnPool
    stabilisation: Stabilisation
    pricing: Pricing
    clock: Clock
    stop: Sequence[StopRule]
    max_rounds: int
    admit: str = "new"
    column_age: int | None = None
    local_bound: bool = False
    check: bool = False
    heuristics: Heuristics | None = None
    span: int = 1
    say_every: int = 1
    last_sol: MasterSolution | None = field(default=None, init=False)
    #: the pool's columns when the master was last solved
    solved_keys: frozenset[str] = field(default=frozenset(), init=False)


class Run:
    """What the phases of one solve share: the linking rows, the best bound and its
    prices, the round count, the log and the progress messages."""

    def __init__(self, linking: BlockLinking, n: int, log: Log, say: Callable[[str], None],
                 incumbent: Heuristics | None = None) -> None:
        self.linking, self.n, self.log, self.say = linking, n, log, say
        self.best = -math.inf
        self.best_y: np.ndarray | None = None
        self.rounds = 0
        self.incumbent = incumbent

    def upper(self) -> float | None:
        return None if self.incumbent is None else self.incumbent.upper()

    def offer_bound(self, bound: float, y: np.ndarray, tolerance: float) -> bool:
        """Keep ``bound`` if it improves the best by more than ``tolerance`` (relative)."""
        if math.isfinite(self.best) and bound <= self.best + tolerance * max(1.0, abs(bound)):
            return False
        self.best, self.best_y = bound, y.copy()
        return True


def lagrangian(results: list[PricingResult], n: int, linking: BlockLinking,
               y: np.ndarray) -> float | None:
    """The Lagrangian value of a round, None unless every block proved a bound."""
    if len(results) < n or not all(math.isfinite(r.bound) for r in results):
        return None
    return sum(r.bound for r in results) + linking.constant(y)


def admit(phase: Phase, results: list[PricingResult], linking: BlockLinking
          ) -> tuple[int, bool, int]:
    """Put the round's columns into the pool and the master; returns how many entered,
    whether the round mis-priced (none prices out at the last master's duals) and how
    many priced out though already in the pool (at the master's own duals none can: a
    count above 0 means stale or mis-indexed duals)."""
    sol, new, repeated = phase.last_sol, [], 0
    for r in results:
        col = r.column
        if col is None:
            continue
        out = sol is not None and _prices_out(sol, col, linking)
        if phase.admit == "improving" and sol is not None and not out:
            continue
        if phase.pool.add(col):
            new.append(col)
        elif out and col.key in phase.solved_keys:
            repeated += 1
    phase.master.add_many(new)
    mispriced = sol is not None and not any(_prices_out(sol, c, linking) for c in new)
    return len(new), mispriced, repeated


def _prices_out(sol: MasterSolution, col: Column, linking: BlockLinking) -> bool:
    return sol.reduced_cost(col, linking) < -1e-7 * max(1.0, abs(col.cost))


def run_phase(run: Run, phase: Phase, y: np.ndarray) -> str:
    """Column generation rounds from prices ``y`` until a stopping rule fires, the
    phase's clock runs out or ``max_rounds``; returns why it stopped."""
    linking, n, say, stab = run.linking, run.n, run.say, phase.stabilisation
    phase_best = -math.inf
    if run.best_y is None:
        run.best_y = y.copy()
    for _ in range(phase.max_rounds):
        if phase.clock.expired():
            return "time_limit"
        run.rounds += 1
        it, tp = run.rounds, time.perf_counter()
        prices = [linking.interval_prices(y, k) for k in range(n)]
        phase.clock.at(f"{phase.name} pricing")
        results, cap = phase.pricing.price(prices, phase.clock)
        pricing_s = time.perf_counter() - tp
        value = lagrangian(results, n, linking, y)
        trouble = (value is None and len(results) == n and not phase.clock.expired()
                   and any(r.status == TROUBLE for r in results))
        if value is None and not trouble:
            admit(phase, results, linking)
            say(f"{phase.name} round {it}: time limit reached while pricing "
                f"({sum(math.isfinite(r.bound) for r in results)} of {n} blocks priced)")
            return "time_limit"
        improved = value is not None and run.offer_bound(value, y, 1e-9)
        if value is not None:
            phase_best = max(phase_best, value)
        added, mispriced, repeated = admit(phase, results, linking)
        if value is not None and phase.heuristics is not None:
            phase.heuristics.on_results(results)
        if phase.master.missing():
            run.log.add(iteration=it, phase=phase.name, lower_bound=run.best,
                        lagrangian=value, upper_bound=run.upper(), columns_added=added,
                        columns=len(phase.pool), pricing_seconds=pricing_s,
                        interval_cap=cap, intervals_capped=_capped(results))
            say(f"{phase.name} round {it}: {len(phase.master.missing())} of {n} blocks have "
                "no column yet (their subproblems were cut short): no master")
            return "time_limit" if phase.clock.expired() else "no_columns"
        tm = time.perf_counter()
        phase.clock.at(f"{phase.name} master")
        phase.master.set_box(*stab.box())
        sol = phase.master.solve(phase.clock.cap(None))
        master_s = time.perf_counter() - tm
        if sol is None:
            say(f"{phase.name} round {it}: time limit reached in the master")
            return "time_limit"
        phase.last_sol, phase.solved_keys = sol, phase.pool.keys()
        binding = phase.master.box_binding(sol)
        pruned = []
        if phase.column_age is not None:
            pruned = phase.master.prune(phase.column_age)
            phase.pool.discard(pruned)
        reference = phase_best if phase.local_bound else run.best
        rnd = Round(it, y, prices, results, value, improved, sol, binding, reference,
                    stab.center)
        if value is not None:
            _check_order(phase, rnd)
            if improved and phase.heuristics is not None:
                phase.heuristics.on_bound(rnd)
        # the rules that do not read the incumbent first: the heuristics run differently
        # in a round that is the last
        early = ([rule(rnd, run) for rule in phase.stop if not isinstance(rule, GapMet)]
                 if value is not None else [])
        rnd.last = ("converged" in early or phase.clock.expired()
                    or it == phase.max_rounds)
        th = time.perf_counter()
        if phase.heuristics is not None and value is not None:
            phase.heuristics.after_round(rnd, phase.clock)
        _report(run, phase, rnd, (added, len(pruned), repeated), cap, pricing_s, master_s,
                time.perf_counter() - th, trouble)
        late = ([rule(rnd, run) for rule in phase.stop if isinstance(rule, GapMet)]
                if value is not None else [])
        reason = next((r for r in late + early if r), None)
        if reason is not None:
            return reason
        stab.update(y, improved, mispriced, binding)
        y = linking.valid(stab.prices(sol.y))
    return "max_iterations"


def _check_order(phase: Phase, rnd: Round) -> None:
    """The phase's bound at its own prices must not lie above its master without
    slack (a feasible point of the problem the master restricts)."""
    value = rnd.sol.objective
    if (phase.check and not rnd.binding
            and rnd.reference > value + 1e-6 * max(1.0, abs(value))):
        raise RuntimeError(f"{phase.name} phase: Lagrangian bound {rnd.reference:.10g} above "
                           f"the restricted master's value {value:.10g}")


def _capped(results: list[PricingResult]) -> int:
    """Blocks stopped before their solver proved its gap (their bound counts, weaker)."""
    return sum(r.status not in (OPTIMAL, GAP_MET) for r in results)


def _report(run: Run, phase: Phase, rnd: Round, counts: tuple[int, int, int],
            cap: float | None, pricing_s: float, master_s: float, heuristics_s: float,
            trouble: bool) -> None:
    added, pruned, repeated = counts
    capped = _capped(rnd.results)
    gap = relative_gap(run.upper(), run.best)
    run.log.add(iteration=rnd.number, phase=phase.name, span=phase.span,
                lower_bound=run.best, lagrangian=rnd.lagrangian,
                master_objective=rnd.sol.objective, upper_bound=run.upper(), gap=gap,
                columns_added=added, columns=len(phase.pool), columns_pruned=pruned,
                repeated_columns=repeated,
                box_width=phase.stabilisation.width, box_binding=rnd.binding,
                alpha=phase.stabilisation.alpha, pricing_seconds=pricing_s,
                master_seconds=master_s, repair_seconds=heuristics_s, interval_cap=cap,
                intervals_capped=capped)
    if trouble:
        run.say(f"{phase.name} round {rnd.number}: no bound from this round (solver trouble "
                f"on {sum(r.status == TROUBLE for r in rnd.results)} block(s))")
        return
    if rnd.number % phase.say_every:
        return
    held = " (box slacks in use)" if rnd.binding else ""
    run.say(f"{phase.name} round {rnd.number}: LB {run.best:.6g}  master "
            f"{rnd.sol.objective:.6g}{held}"
            + (f"  UB {run.upper():.6g}  gap {gap:.3%}" if gap is not None else "")
            + f"  +{added} cols ({len(phase.pool)})  pricing {pricing_s:.1f}s master "
            f"{master_s:.2f}s" + (f" heuristics {heuristics_s:.1f}s" if heuristics_s > 0.05
                                  else "")
            + (f"  ({capped} of {run.n} blocks stopped at their cap"
               + (f" {cap:.3g}s" if cap is not None else "") + ")" if capped else ""))
