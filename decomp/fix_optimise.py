"""Fix-and-optimise on overlapping windows: a plan improved a few intervals at a time.

A window is ``width`` consecutive intervals glued by their linking rows, with its entry
states and exit states held at the plan's values and every binary free; its optimum
replaces the plan's hours when it is cheaper. Holding both ends keeps every linking row
and horizon condition of the plan satisfied, so the plan stays feasible and its cost never
rises. Windows slide by one interval, so every boundary is inside one; a sweep is
followed by the whole horizon re-solved with its binaries fixed (an LP: storage moved
across the whole horizon), and the two alternate until a sweep gains nothing.

After a sweep, the next one solves only the windows within a window's width of those that
improved (``neighbours``): on a one-node year every window that improved in a later
sweep lay there, while the others, 45-96 % of the windows, were solved
again for nothing. A neighbourhood sweep that gains too little is followed by a full one,
so the polish still stops only after a full sweep.

A lead sweep may go first: windows that re-decide only some named components' integers
(every other integer held at the plan's values), which are much smaller MILPs; windows
with every integer free go on from its plan.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import numpy as np

from decomp.linking import Linking
from decomp.matrix_form import label_component
from decomp.matrix_gurobi import MatrixGurobi
from decomp.matrix_highs import MatrixHighs
from decomp.pricing import IntervalSolver
from decomp.repair import Repairer, glue
from decomp.solvers import SolveOptions, choose_solver_for_size

_GUROBI_LOCK = threading.Lock()


@dataclass(frozen=True)
class Sweep:
    """One sweep: cost before and after, windows solved and improved, seconds."""

    before: float
    after: float
    windows: int
    improved: int
    seconds: float
    complete: bool
    #: first intervals of the windows that improved the plan
    changed: tuple[int, ...] = ()
    #: False when the sweep solved only the windows it was given (``only``)
    full: bool = True
    #: True when its windows re-decided only some integers (:meth:`WindowImprover.restricted`)
    restricted: bool = False
    #: seconds the longest window MILP took (its load included): one far past
    #: ``window_time_limit`` is a solver that did not stop at its limit
    slowest: float = 0.0


def neighbours(changed: Iterable[int], width: int, intervals: int) -> frozenset[int]:
    """First intervals of the windows of ``width`` intervals that share an interval or a
    boundary with a window in ``changed`` (their own included): the windows whose
    neighbourhood a sweep changed."""
    last = intervals - width
    return frozenset(k for j in changed for k in range(max(0, j - width),
                                                       min(last, j + width) + 1))


def load_matrix(form, options: SolveOptions):
    """The form in Gurobi where its licence takes the size, else in HiGHS."""
    m, n = form.shape
    if choose_solver_for_size(options.solver, n, m) == "gurobi":
        return MatrixGurobi(form, options)
    return MatrixHighs(form, options)


class WindowImprover:
    """Fix-and-optimise sweeps over windows of ``width`` intervals (built on the fly from
    the intervals' compiled forms, so no window model outlives its solve).

    Each window MILP starts from the plan's own values (a feasible start: the window's
    ends are held at them), so a window stopped by ``window_time_limit`` seconds or by its
    absolute gap (the sum of its intervals' own, :meth:`IntervalSolver.set_abs_gap`)
    still returns a plan no dearer; a window need only find a cheaper plan, not prove one
    optimal.

    With a :meth:`focus` (prices and each interval's proven bound at them, from a pricing
    round) a sweep knows what each window can gain at most: the sum over its intervals of
    the plan's priced cost less the interval's bound (with its ends held, a window's
    optimum is at least the sum of its intervals' bounds, and the price terms of its
    inner boundaries cancel). A window that cannot gain more than its own absolute gap is
    then skipped. ``workers`` > 1
    solves windows that share no interval side by side (each thread its own instance).
    ``lead``: model components whose integers :func:`improve` re-decides first, alone
    (:meth:`restricted`).
    """

    def __init__(self, solvers: list[IntervalSolver], options: SolveOptions,
                 width: int = 2, window_time_limit: float | None = None,
                 workers: int = 1, lead: Collection[str] = ()) -> None:
        if width < 2:
            raise ValueError(f"a fix-and-optimise window spans at least 2 intervals, not {width}")
        if window_time_limit is not None and not window_time_limit > 0:
            raise ValueError(f"window_time_limit must be positive, not {window_time_limit}")
        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.solvers = solvers
        self.options = options
        self.width = min(width, len(solvers))
        self.window_time_limit = window_time_limit
        self.workers = workers
        #: model components whose integers :func:`improve` re-decides first, alone
        self.lead = frozenset(lead)
        self._prices: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._bounds: np.ndarray | None = None
        #: per interval: its integer columns the windows may re-decide (None: all)
        self._free: list[np.ndarray] | None = None
        self._restricted: dict[frozenset[str], list[np.ndarray]] = {}

    def restricted(self, components: Collection[str]) -> WindowImprover:
        """The same improver whose windows re-decide only the integers of the named
        model components (every other integer held at the plan's values): far fewer free
        integers, so each window MILP is much cheaper; one such sweep goes before the
        full ones (:func:`improve`, with the improver's ``lead``)."""
        names = frozenset(components)
        if names not in self._restricted:
            # found once per improver: each polish of a run restricts to the same names
            self._restricted[names] = [_integers_of(s.form, names) for s in self.solvers]
        out = copy.copy(self)
        out.lead = frozenset()
        out._free = self._restricted[names]
        return out

    @property
    def restriction(self) -> bool:
        """True when the windows re-decide only some integers (:meth:`restricted`)."""
        return self._free is not None

    def focus(self, prices: list[tuple[np.ndarray, np.ndarray]], bounds) -> WindowImprover:
        """Each interval's (entry, exit) prices and its proven bound at them (a pricing
        round's): sweeps then solve the windows that can gain most first, and skip those
        that cannot gain more than their absolute gap. Returns the improver."""
        bounds = np.asarray(bounds, dtype=float)
        if len(prices) != len(self.solvers) or bounds.shape != (len(self.solvers),):
            raise ValueError(f"focus needs prices and bounds for all {len(self.solvers)} "
                             "intervals")
        if not np.all(np.isfinite(bounds)):
            raise ValueError("focus needs a proven (finite) bound for every interval")
        self._prices, self._bounds = prices, bounds
        return self

    def local_gaps(self, x: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
        """Per interval: plan ``x``'s priced cost less the interval's bound at the focus
        prices (what a window holding its ends can gain there at most); None without a
        focus."""
        if self._prices is None:
            return None
        out = np.empty(len(self.solvers))
        for k, sv in enumerate(self.solvers):
            xk = x[offsets[k]:offsets[k + 1]]
            p_entry, p_exit = self._prices[k]
            priced = (sv.form.objective(xk) + float(np.dot(p_entry, xk[sv.entry_cols]))
                      + float(np.dot(p_exit, xk[sv.exit_cols])))
            out[k] = priced - self._bounds[k]
        return out

    def _windows(self, x: np.ndarray, offsets: np.ndarray,
                 only: Collection[int] | None = None) -> list[int]:
        """First intervals of the windows to solve (those in ``only`` if given), in the
        order to solve them."""
        w = self.width
        ks = [k for k in range(len(self.solvers) - w + 1)
              if (only is None or k in only)
              and any(self._decides(q) for q in range(k, k + w))]
        gaps = self.local_gaps(x, offsets)
        if gaps is None:
            return ks
        keep = []
        for k in ks:
            own = [q.abs_gap for q in self.solvers[k:k + w]]
            floor = sum(own) if all(g is not None for g in own) else 0.0
            gain = float(gaps[k:k + w].sum())
            if gain > floor + 1e-9 * max(1.0, abs(float(self._bounds[k:k + w].sum()))):
                keep.append((gain, k))
        return [k for _, k in keep]

    def _decides(self, q: int) -> bool:
        """True when interval ``q`` has an integer a window may re-decide."""
        s = self.solvers[q]
        if self._free is None:
            return _free_integers(s)
        cols = self._free[q]
        return bool(np.any(s.form.ub[cols] > s.form.lb[cols]))

    def _solve_window(self, k: int, x: np.ndarray, offsets: np.ndarray, gap: float,
                      left: float | None) -> tuple[slice, np.ndarray | None, float]:
        """Window ``k``'s MILP with its ends held at ``x``: its values if cheaper, and
        the seconds it took."""
        sub = self.solvers[k:k + self.width]
        linking = Linking([s.entry_names for s in sub], [s.exit_names for s in sub], [])
        form, local = glue(sub, linking)
        m, n = form.shape
        gurobi = choose_solver_for_size(self.options.solver, n, m) == "gurobi"
        # models in Gurobi share one environment, which is not thread-safe
        with _GUROBI_LOCK if gurobi else nullcontext():
            t0 = time.perf_counter()
            seg, values = self._solve_loaded(k, load_matrix(form, self.options), form, local,
                                             x, offsets, gap, left)
            return seg, values, time.perf_counter() - t0

    def _solve_loaded(self, k: int, model, form, local: np.ndarray, x: np.ndarray,
                      offsets: np.ndarray, gap: float, left: float | None
                      ) -> tuple[slice, np.ndarray | None]:
        """Window ``k`` in its loaded ``model``: ends held, MIP-started from ``x``."""
        sub = self.solvers[k:k + self.width]
        seg = slice(int(offsets[k]), int(offsets[k + self.width]))
        current = x[seg]
        ends = np.r_[sub[0].entry_cols, local[-2] + sub[-1].exit_cols]
        start = form.clip(current)
        if self._free is not None:
            # every integer outside the restriction held at the plan's value
            held = form.integer.copy()
            for q in range(self.width):
                held[local[q] + self._free[k + q]] = False
            ends = np.union1d(ends, np.flatnonzero(held))
        model.set_bounds(ends, start[ends], start[ends])
        model.set_start(start)
        gaps = [q.abs_gap for q in sub]
        if all(g is not None for g in gaps):
            model.set_abs_gap(sum(gaps))
        if self.window_time_limit is not None:
            left = self.window_time_limit if left is None else min(left, self.window_time_limit)
        res = model.solve(time_limit=left, gap=gap)
        if res.has_solution and res.objective < form.objective(current) - 1e-9 * max(
                1.0, abs(res.objective)):
            return seg, model.values.copy()
        return seg, None

    def sweep(self, x: np.ndarray, offsets: np.ndarray, gap: float,
              deadline: float | None = None, only: Collection[int] | None = None
              ) -> tuple[np.ndarray, Sweep]:
        """One pass of windows over the horizon (``only``: just the windows starting at
        these intervals); returns the improved plan (a copy)."""
        t0 = time.perf_counter()
        x = x.copy()
        before = _cost(self.solvers, x, offsets)
        solved = 0
        changed: list[int] = []
        slowest = 0.0
        complete = True
        todo = self._windows(x, offsets, only)
        pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        try:
            while todo:
                left = None if deadline is None else deadline - time.perf_counter()
                if left is not None and left <= 0:
                    complete = False
                    break
                # the next windows in order that share no interval with each other
                batch: list[int] = []
                for k in todo:
                    if all(abs(k - j) >= self.width for j in batch):
                        batch.append(k)
                        if len(batch) == self.workers:
                            break
                todo = [k for k in todo if k not in batch]
                solve = partial(self._solve_window, x=x, offsets=offsets, gap=gap, left=left)
                results = (list(map(solve, batch)) if pool is None
                           else list(pool.map(solve, batch)))
                solved += len(batch)
                for k, (seg, values, seconds) in zip(batch, results, strict=True):
                    slowest = max(slowest, seconds)
                    if values is not None:
                        x[seg] = values
                        changed.append(k)
        finally:
            if pool is not None:
                pool.shutdown()
        after = _cost(self.solvers, x, offsets)
        return x, Sweep(before, after, solved, len(changed), time.perf_counter() - t0,
                        complete, tuple(sorted(changed)), only is None, self.restriction,
                        slowest)


def improve(repairer: Repairer, improver: WindowImprover, x: np.ndarray, gap: float,
            deadline: float | None = None, stop=None, say=None, tolerance: float = 1e-4,
            local: bool = True) -> tuple[np.ndarray, float, list[Sweep]]:
    """Alternate window sweeps (window MILPs solved to ``gap``) and the horizon LP with
    the sweep's binaries fixed, until a full sweep's round gains less than ``tolerance``
    (relative), the deadline passes or ``stop(cost)`` says the plan is good enough.
    Returns the best plan, its cost and the sweeps.

    ``local``: after a sweep that gained, the next solves only the :func:`neighbours` of
    the windows that improved; one that gains too little hands over to a full sweep.

    With the improver's ``lead`` components, one sweep first re-decides only their
    integers (:meth:`WindowImprover.restricted`, every other integer held), then sweeps
    with every integer free go on from its plan. One, not a stage of them: later lead
    sweeps gained little (a reference candidate: 8186.9 -> 7901.7 in 14 s, then 4.3 EUR
    in 20 s more, while one sweep with every unit free gained 88 EUR).

    A sweep only proposes binaries: the plan kept is always the horizon LP's (its feasible
    set holds the sweep's plan, so it is no dearer), whose values satisfy every row within
    the horizon solver's tolerances rather than the window solver's."""
    say = say or (lambda msg: None)
    best = x.copy()
    best_cost = repairer.form.objective(best)
    sweeps: list[Sweep] = []
    stages = [improver.restricted(improver.lead), improver] if improver.lead else [improver]
    for stage in stages:
        best, best_cost, done = _stage(repairer, stage, best, best_cost, gap, deadline,
                                       stop, say, tolerance, local, sweeps,
                                       1 if stage.restriction else None)
        if done:
            break
    return best, best_cost, sweeps


def _stage(repairer: Repairer, improver: WindowImprover, best: np.ndarray,
           best_cost: float, gap: float, deadline: float | None, stop, say,
           tolerance: float, local: bool, sweeps: list[Sweep], most: int | None = None
           ) -> tuple[np.ndarray, float, bool]:
    """:func:`improve`'s sweeps with one improver (at ``most`` this many); True when
    nothing more should run (time up or the plan good enough), False when its sweeps
    stopped gaining or reached ``most``."""
    only = None
    first = len(sweeps)
    label = "fix-and-optimise (lead units)" if improver.restriction else "fix-and-optimise"
    while deadline is None or time.perf_counter() < deadline:
        if most is not None and len(sweeps) - first >= most:
            return best, best_cost, False
        if stop is not None and stop(best_cost):
            # checked before each sweep: a plan already good enough gets none
            return best, best_cost, True
        start_cost = best_cost
        # the sweep leaves the horizon LP that follows it the time the last one took
        # (and half again), so a sweep cut by the deadline still becomes a plan
        reserve = 1.5 * repairer.fixed_lp_seconds
        proposal, sw = improver.sweep(best, repairer.offsets, gap,
                                      None if deadline is None else deadline - reserve, only)
        sweeps.append(sw)
        where = "" if sw.full else " near the last changes"
        if sw.improved == 0:
            # said too: such sweeps can take most of a run
            say(f"{label}: none of {sw.windows} windows{where} improved ({sw.seconds:.1f} s "
                f"sweep, slowest window {sw.slowest:.1f} s)")
            if not sw.complete:
                return best, best_cost, True
            if sw.full:
                return best, best_cost, False
            only = None
            continue
        left = None if deadline is None else max(0.05, deadline - time.perf_counter())
        rep = repairer.fixed_lp(proposal, left)
        if rep.solve.has_solution and rep.solve.objective < best_cost:
            best, best_cost = repairer.x.copy(), rep.solve.objective
        say(f"{label}: {sw.improved} of {sw.windows} windows{where} improved, "
            f"{start_cost:.6g} -> {best_cost:.6g} ({sw.seconds:.1f} s sweep, slowest "
            f"window {sw.slowest:.1f} s)")
        if not sw.complete:
            return best, best_cost, True
        small = start_cost - best_cost <= tolerance * max(1.0, abs(best_cost))
        if small and sw.full:
            return best, best_cost, False
        only = (None if small or not local
                else neighbours(sw.changed, improver.width, len(improver.solvers)))
    return best, best_cost, True


def _integers_of(form, names: frozenset[str]) -> np.ndarray:
    """The form's integer columns that belong to the named components."""
    cols = np.flatnonzero(form.integer)
    return np.array([j for j in cols if label_component(form.columns, int(j)) in names],
                    dtype=int)


def _free_integers(s: IntervalSolver) -> bool:
    """True when the interval has an integer column its bounds leave free."""
    f = s.form
    return bool(np.any(f.integer & (f.ub > f.lb)))


def _cost(solvers: list[IntervalSolver], x: np.ndarray, offsets: np.ndarray) -> float:
    return sum(s.form.objective(x[offsets[k]:offsets[k + 1]]) for k, s in enumerate(solvers))
