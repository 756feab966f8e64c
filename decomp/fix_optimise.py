"""Fix-and-optimise on overlapping windows: a plan improved a few intervals at a time.

A window is ``width`` consecutive intervals glued by their linking rows, with its entry
states and exit states held at the plan's values and every binary free; its optimum
replaces the plan's hours when it is cheaper. Holding both ends keeps every linking row
and horizon condition of the plan satisfied, so the plan stays feasible and its cost never
rises. Windows slide by one interval, so every boundary is inside one; a sweep is
followed by the whole horizon re-solved with its binaries fixed (an LP: storage moved
across the whole horizon), and the two alternate until a sweep gains nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from decomp.linking import Linking
from decomp.matrix_gurobi import MatrixGurobi
from decomp.matrix_highs import MatrixHighs
from decomp.pricing import IntervalSolver
from decomp.repair import Repairer, glue
from decomp.solvers import SolveOptions, choose_solver_for_size


@dataclass(frozen=True)
class Sweep:
    """One sweep: cost before and after, windows solved and improved, seconds."""

    before: float
    after: float
    windows: int
    improved: int
    seconds: float
    complete: bool


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
    optimal."""

    def __init__(self, solvers: list[IntervalSolver], options: SolveOptions,
                 width: int = 2, window_time_limit: float | None = None) -> None:
        if width < 2:
            raise ValueError(f"a fix-and-optimise window spans at least 2 intervals, not {width}")
        if window_time_limit is not None and not window_time_limit > 0:
            raise ValueError(f"window_time_limit must be positive, not {window_time_limit}")
        self.solvers = solvers
        self.options = options
        self.width = min(width, len(solvers))
        self.window_time_limit = window_time_limit

    def sweep(self, x: np.ndarray, offsets: np.ndarray, gap: float,
              deadline: float | None = None) -> tuple[np.ndarray, Sweep]:
        """One pass of windows over the horizon; returns the improved plan (a copy)."""
        t0 = time.perf_counter()
        x = x.copy()
        n = len(self.solvers)
        before = _cost(self.solvers, x, offsets)
        solved = improved = 0
        complete = True
        for k in range(0, n - self.width + 1):
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                complete = False
                break
            sub = self.solvers[k:k + self.width]
            if not any(_free_integers(s) for s in sub):
                # nothing to re-decide: the horizon LP already optimises its flows
                continue
            linking = Linking([s.entry_names for s in sub], [s.exit_names for s in sub], [])
            form, local = glue(sub, linking)
            model = load_matrix(form, self.options)
            seg = slice(int(offsets[k]), int(offsets[k + self.width]))
            current = x[seg]
            ends = np.r_[sub[0].entry_cols, local[-2] + sub[-1].exit_cols]
            start = form.clip(current)
            model.set_bounds(ends, start[ends], start[ends])
            model.set_start(start)
            gaps = [q.abs_gap for q in sub]
            if all(g is not None for g in gaps):
                model.set_abs_gap(sum(gaps))
            if self.window_time_limit is not None:
                left = (self.window_time_limit if left is None
                        else min(left, self.window_time_limit))
            res = model.solve(time_limit=left, gap=gap)
            solved += 1
            if res.has_solution and res.objective < form.objective(current) - 1e-9 * max(
                    1.0, abs(res.objective)):
                x[seg] = model.values
                improved += 1
        after = _cost(self.solvers, x, offsets)
        return x, Sweep(before, after, solved, improved, time.perf_counter() - t0, complete)


def improve(repairer: Repairer, improver: WindowImprover, x: np.ndarray, gap: float,
            deadline: float | None = None, stop=None, say=None, tolerance: float = 1e-4
            ) -> tuple[np.ndarray, float, list[Sweep]]:
    """Alternate window sweeps (window MILPs solved to ``gap``) and the horizon LP with
    the sweep's binaries fixed, until a round gains less than ``tolerance`` (relative),
    the deadline passes or ``stop(cost)`` says the plan is good enough. Returns the best
    plan, its cost and the sweeps.

    A sweep only proposes binaries: the plan kept is always the horizon LP's (its feasible
    set holds the sweep's plan, so it is no dearer), whose values satisfy every row within
    the horizon solver's tolerances rather than the window solver's."""
    say = say or (lambda msg: None)
    best = x.copy()
    best_cost = repairer.form.objective(best)
    sweeps = []
    while deadline is None or time.perf_counter() < deadline:
        start_cost = best_cost
        # the sweep leaves the horizon LP that follows it the time the last one took
        # (and half again), so a sweep cut by the deadline still becomes a plan
        reserve = 1.5 * repairer.fixed_lp_seconds
        proposal, sw = improver.sweep(best, repairer.offsets, gap,
                                      None if deadline is None else deadline - reserve)
        sweeps.append(sw)
        if sw.improved == 0:
            break
        left = None if deadline is None else max(0.05, deadline - time.perf_counter())
        rep = repairer.repair_values(proposal[repairer.bin_cols],
                                     np.zeros(len(repairer.bin_cols), dtype=bool), gap, left)
        if rep.solve.has_solution and rep.solve.objective < best_cost:
            best, best_cost = repairer.x.copy(), rep.solve.objective
        say(f"fix-and-optimise: {sw.improved} of {sw.windows} windows improved, "
            f"{start_cost:.6g} -> {best_cost:.6g} ({sw.seconds:.1f} s sweep)")
        if not sw.complete or start_cost - best_cost <= tolerance * max(1.0, abs(best_cost)):
            break
        if stop is not None and stop(best_cost):
            break
    return best, best_cost, sweeps


def _free_integers(s: IntervalSolver) -> bool:
    """True when the interval has an integer column its bounds leave free."""
    f = s.form
    return bool(np.any(f.integer & (f.ub > f.lb)))


def _cost(solvers: list[IntervalSolver], x: np.ndarray, offsets: np.ndarray) -> float:
    return sum(s.form.objective(x[offsets[k]:offsets[k + 1]]) for k, s in enumerate(solvers))
