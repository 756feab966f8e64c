"""Primal heuristics of the integer phase: feasible plans, the upper bound.

An ordered list, each named in :data:`~decomp.settings.HEURISTICS` and switched by
``DWSettings.heuristics``:

- ``pass``: the round's columns (those that proved the bound, else the column-choice
  MILP's) made into a plan interval by interval, binaries fixed away from the boundaries,
  then the horizon LP with every binary fixed (:class:`SequentialPass`). Always on: it
  needs no horizon MILP, so a run out of time still ends with a plan.
- ``windows``: fix-and-optimise on overlapping windows of intervals
  (:mod:`decomp.fix_optimise`).
- ``escalate``: once column generation has stopped short of the gap, the whole horizon's
  MILP started from the best plan, where the horizon is small (``WHOLE_MILP_NONZEROS``):
  its proven bound counts too. A run with no plan yet frees the binaries around the
  boundaries in windows doubling up to the whole horizon (whether or not it is listed).

Every plan is offered to one :class:`Incumbent`; its intervals enter the master as
columns.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from decomp.columns import Column, ColumnPool
from decomp.fix_optimise import WindowImprover, improve
from decomp.linking import Linking
from decomp.loop import Clock, Log, Round
from decomp.master import RestrictedMaster, choose_columns
from decomp.prices import (
    LOOKAHEAD_SHARE,
    PASS_GRACE,
    TIEBREAK,
    continuous_states,
    cost_scale,
    interval_share,
    lookahead_prices,
    pass_abs_gap,
    tiebreak_prices,
)
from decomp.provider import BoundaryCondition
from decomp.repair import Repairer
from decomp.rolling import rolling_horizon
from decomp.settings import DWSettings
from decomp.solvers import SolverError, relative_gap

#: a round whose columns did not prove a new bound still makes a plan every this many
#: rounds (the column choice over the pool)
REPAIR_EVERY = 5
#: seconds one horizon MILP of a heuristic may take at most
REPAIR_TIME_LIMIT = 120.0
#: seconds the column-choice MILP may take
CHOICE_TIME_LIMIT = 30.0
#: ``escalate`` solves the whole horizon's MILP when its matrix has at most this many
#: nonzeros (a few days of a district): there a MILP solver proves the gap sooner than
#: more rounds, and its memory stays far below the blocks'; a larger horizon would need
#: the direct solve's memory
WHOLE_MILP_NONZEROS = 100_000
#: the hours at the start of an interval whose integers a pass frees where the interval
#: cannot keep its guide (its entry states, e.g. a unit's start history, did not fit)
ENTRY_HOURS = 3


class Incumbent:
    """The best plan so far: its cost (the upper bound), its column values in the glued
    horizon and the columns it was made from; its intervals enter the master."""

    def __init__(self, repairer: Repairer, pool: ColumnPool, master: RestrictedMaster
                 ) -> None:
        self.repairer, self.pool, self.master = repairer, pool, master
        self.ub = math.inf
        self.x: np.ndarray | None = None
        self.columns: list[Column] | None = None

    def offer(self, rep, columns) -> bool:
        """Keep a repair's plan if it is cheaper."""
        if rep is None or rep.solve.objective is None:
            return False
        return self.offer_plan(self.repairer.x, rep.solve.objective, columns)

    def offer_plan(self, x, cost: float, columns) -> bool:
        """Keep plan ``x`` of cost ``cost`` if it is cheaper."""
        if cost >= self.ub:
            return False
        self.ub, self.x, self.columns = cost, x.copy(), columns
        new = [c for c in self.repairer.columns(self.x) if self.pool.add(c)]
        self.master.add_many(new)
        return True

    def upper(self) -> float | None:
        """The upper bound, None while no plan is known."""
        return self.ub if math.isfinite(self.ub) else None


@dataclass
class Horizon:
    """What the heuristics work on: the blocks' solvers, the linking rows (all of them,
    priced or not), the horizon conditions and the interval starts."""

    solvers: list
    linking: Linking
    conditions: list[BoundaryCondition]
    starts: list[int]
    repairer: Repairer
    improver: WindowImprover


class PrimalHeuristics:
    """The integer phase's heuristics, run after each round (see the module)."""

    def __init__(self, h: Horizon, s: DWSettings, incumbent: Incumbent, log: Log,
                 say, focus: bool) -> None:
        self.h, self.s, self.best, self.log, self.say = h, s, incumbent, log, say
        self.focus = focus
        self.lower = -math.inf
        self.center: np.ndarray | None = None
        self.repaired: set[bytes] = set()
        self.latest: list[Column | None] = [None] * len(h.solvers)
        self.last_picked: list[Column] | None = None
        self.escalated = False

    def upper(self) -> float | None:
        return self.best.upper()

    def met(self, cost: float | None) -> bool:
        gap = relative_gap(cost, self.lower)
        return gap is not None and gap <= self.s.gap

    def on_results(self, results) -> None:
        """Each interval's column from the latest round that gave it one (also a round
        whose other intervals have none yet: the last resort starts from them)."""
        for r in results:
            if r.column is not None:
                self.latest[r.k] = r.column

    def on_bound(self, rnd: Round) -> None:
        """A new bound: the windows learn what each can gain at most (the plan's priced
        cost less these proven interval bounds)."""
        if self.focus:
            self.h.improver.focus(rnd.prices, [r.bound for r in rnd.results])

    def after_round(self, rnd: Round, clock: Clock) -> None:
        """A plan from this round's columns: those that proved a new bound, else every
        ``REPAIR_EVERY`` rounds (and in the last) the column choice."""
        self.lower = max(self.lower, rnd.reference)
        self.center = rnd.center
        priced = [r.column for r in rnd.results]
        fresh = (rnd.improved or rnd.number == 1) and all(c is not None for c in priced)
        if self.met(self.best.upper()) or clock.expired() or not (
                fresh or rnd.number % REPAIR_EVERY == 0 or rnd.last):
            return
        picked = priced if fresh else self._choose(rnd, clock)
        key = np.concatenate([np.asarray(c.binaries, dtype=float) for c in picked]).tobytes()
        if key in self.repaired:
            self.say("repair skipped: these columns' commitments were repaired before")
            return
        self.repaired.add(key)
        x, fitted = self.sequential(picked, clock, rnd.center)
        self.last_picked = fitted or picked
        if x is not None:
            self.polish(x, fitted, clock)

    def finish(self, clock: Clock, lower: float, center: np.ndarray,
               lp_binaries: np.ndarray | None, lp_bound: float | None) -> float:
        """After the rounds: a plan if none was made, then the escalation; returns the
        bound (a whole-horizon MILP's proven bound counts).
        ``center``: the prices the pass values exits at when no round set them."""
        self.lower = lower
        if self.center is None:
            self.center = center
        if self.best.x is None:
            self.last_resort(clock, lp_binaries, lp_bound)
        return self.escalate(clock)

    def _choose(self, rnd: Round, clock: Clock) -> list[Column]:
        """One column per interval: the column-choice MILP, else the heaviest master
        columns."""
        pool = self.best.pool
        clock.at("column choice")
        penalty = np.abs(rnd.center) + 1e-3
        chosen = choose_columns(pool.columns, self.h.linking, penalty,
                                clock.cap(CHOICE_TIME_LIMIT))
        if chosen is None:
            heaviest: dict[int, tuple[float, Column]] = {}
            for col, w in rnd.sol.weights:
                if col.k not in heaviest or w > heaviest[col.k][0]:
                    heaviest[col.k] = (w, col)
            chosen = [heaviest[k][1] if k in heaviest else pool.columns[k][0]
                      for k in range(len(pool.columns))]
            self.say("column choice MILP found nothing; using the heaviest master columns")
        return chosen

    def sequential(self, chosen: list[Column | None], clock: Clock, y: np.ndarray,
                   window: int | None = None, guide: np.ndarray | None = None,
                   gap: float | None = None, abs_gap: float | None = None
                   ) -> tuple[np.ndarray | None, list | None]:
        """The chosen columns made into a plan without a horizon MILP (the ``pass``):
        the intervals in order, each starting where the last ended, with the columns'
        binaries fixed except within ``window`` hours of a boundary (default
        ``boundary_window``; an interval without a column takes ``guide``'s integral
        values, or all free without one; one that cannot keep them frees its first
        ``ENTRY_HOURS`` hours, then those near both ends, then all) and exits valued at
        ``y`` (:func:`~decomp.prices.tiebreak_prices`, :func:`~decomp.prices.lookahead_prices`
        on the ``master`` path). The pass's plan is offered, then the horizon's LP with
        every binary fixed moves storage across the whole horizon within the time left.
        Returns the better plan and the pass's columns, or (None, None)."""
        h, s = self.h, self.s
        if abs_gap is None and math.isfinite(self.lower):
            abs_gap = pass_abs_gap(s, self.lower, len(h.solvers))
        sizes = [sv.n_binaries for sv in h.solvers]
        ends = np.cumsum([0] + sizes)
        parts = [c.binaries.astype(float) if c is not None
                 else np.full(sv.n_binaries, np.nan) if guide is None
                 else np.asarray(guide[ends[k]:ends[k + 1]], dtype=float)
                 for k, (c, sv) in enumerate(zip(chosen, h.solvers, strict=True))]
        values = np.concatenate(parts)
        window = s.boundary_window if window is None else window
        own = np.repeat([c is not None for c in chosen], sizes)
        fixed = np.where(h.repairer.window_mask(h.starts, window) & own, np.nan, values)
        first = h.repairer.entry_mask(h.starts, ENTRY_HOURS)
        w = s.boundary_window
        near = first | h.repairer.near([*h.starts, h.solvers[-1].stop], w, w)
        fallback, freed = [], np.isnan(fixed)
        for mask in (first, near):
            wider = freed | mask
            if (wider & ~freed).any():
                fallback.append(np.where(wider, np.nan, values))
                freed = wider
        exits = self.exit_prices(y)
        clock.at("pass")
        plan: list[np.ndarray] = []
        made: list[int] = []
        t_pass = time.perf_counter()
        try:
            columns = rolling_horizon(h.solvers, h.linking, h.conditions, exits,
                                      s.pricing_gap if gap is None else gap, guide=fixed,
                                      abs_gap=abs_gap, deadline=clock.deadline(PASS_GRACE),
                                      plan=plan,
                                      fallback=fallback, made=made)
        except SolverError as exc:
            self.say(f"sequential repair found no plan ({exc})")
            return None, None
        x = h.repairer.form.clip(np.concatenate(plan))
        cost = h.repairer.form.objective(x)
        passed = (f"pass {cost:.6g} in {time.perf_counter() - t_pass:.1f} s "
                  f"({pass_counts(made, len(fallback))})")
        self.best.offer_plan(x, cost, columns)
        if clock.expired():
            self.say(f"sequential repair: {passed}; no time left for the horizon LP")
            return x, columns
        t_lp = time.perf_counter()
        clock.at("horizon LP")
        rep = h.repairer.fixed_lp(x, clock.cap(REPAIR_TIME_LIMIT))
        if rep.solve.has_solution and rep.solve.objective < cost:
            x, cost = h.repairer.x.copy(), rep.solve.objective
            self.best.offer(rep, columns)
        self.say(f"sequential repair: {passed}, plan {cost:.6g} (horizon LP "
                 f"{rep.solve.status}, {time.perf_counter() - t_lp:.1f} s)")
        return x, columns

    def exit_prices(self, y: np.ndarray) -> np.ndarray:
        """What an interval of the pass is paid for the states it leaves: ``y``; on the
        ``master`` path (degenerate column-generation prices) a state priced 0 is worth
        part of its next positive price and storage kept is worth a little."""
        h = self.h
        if self.s.first_prices != "master":
            return y
        cyclic = {bc.state for bc in h.conditions if bc.kind == "cyclic"}
        ahead = lookahead_prices(y, h.linking, continuous_states(h.solvers), cyclic,
                                 LOOKAHEAD_SHARE)
        return tiebreak_prices(ahead, h.linking, h.solvers,
                               TIEBREAK * cost_scale(h.solvers))

    def polish(self, x: np.ndarray, columns, clock: Clock) -> None:
        """Fix-and-optimise (``windows``) on plan ``x`` until a round gains less than a
        twentieth of the plan's gap to the bound, the gap is met or time is up."""
        if not self.s.uses("windows") or clock.expired():
            return
        start = self.h.repairer.form.objective(x)
        clock.at("windows")
        gap = relative_gap(start, self.lower) if math.isfinite(self.lower) else None
        tolerance = max(1e-4, 0.05 * gap) if gap is not None else 1e-4
        x, cost, _ = improve(self.h.repairer, self.h.improver, x, self.s.pricing_gap,
                             clock.deadline(), stop=self.met, say=self.say,
                             tolerance=tolerance)
        self.best.offer_plan(x, cost, columns)

    def last_resort(self, clock: Clock, lp_binaries: np.ndarray | None,
                    lp_bound: float | None) -> None:
        """A plan for a run that has none: the pricing rounds' latest columns (None where
        none came: those take the LP relaxation's integral values) in a pass. Under a
        time limit the columns' binaries are kept near the boundaries too and each
        interval stops at the target gap: a run gets here under a limit only when time
        ran short."""
        short = self.s.time_limit is not None
        scale = abs(lp_bound) if lp_bound is not None and math.isfinite(lp_bound) else None
        self.sequential(self.latest, clock, self.center, window=0 if short else None,
                        guide=lp_binaries, gap=self.s.gap if short else None,
                        abs_gap=interval_share(self.s.gap, scale, len(self.h.solvers))
                        if short and scale is not None else None)
        how = ("pricing columns" if any(c is not None for c in self.latest)
               else "rolling pass")
        self.say(f"last-resort plan ({how}): UB {self.best.ub:.6g}")

    def escalate(self, clock: Clock) -> float:
        """Column generation stopped short of the target: on a small horizon
        (``WHOLE_MILP_NONZEROS``) the whole horizon's MILP started from the best plan,
        whose proven bound is a valid lower bound too; with no plan yet, the binaries
        around the boundaries freed in windows doubling up to the whole horizon."""
        h, s, best, lower = self.h, self.s, self.best, self.lower
        chosen = best.columns or self.last_picked or (
            self.latest if all(c is not None for c in self.latest) else None)
        horizon = h.solvers[-1].stop
        small = h.repairer.form.A.nnz <= WHOLE_MILP_NONZEROS
        window = s.boundary_window
        while (((s.uses("escalate") and small) or best.x is None) and chosen is not None
               and not self.met(best.upper()) and not clock.expired()):
            window = horizon if small else max(1, 2 * window)
            clock.at("escalate")
            full = window >= horizon
            t0 = time.perf_counter()
            values = np.concatenate([c.binaries for c in chosen])
            free = (np.ones(len(values), dtype=bool) if full
                    else h.repairer.window_mask(h.starts, window))
            rep = h.repairer.repair_values(values, free,
                                           min(s.repair_gap, s.gap / 2) if full
                                           else s.repair_gap, clock.cap(None), window,
                                           start=best.x)
            best.offer(rep, best.columns)
            if full and rep.solve.bound is not None:
                lower = max(lower, rep.solve.bound)
                self.lower = lower
            gap = relative_gap(best.upper(), lower)
            seconds = time.perf_counter() - t0
            self.log.add(iteration=len(self.log.rows) + 1, phase="escalate",
                         lower_bound=lower, upper_bound=best.upper(), gap=gap,
                         repair_seconds=seconds, repair_window=window)
            self.say(f"repair window {window} h: UB {best.ub:.6g}  LB {lower:.6g}  "
                     f"gap {gap if gap is not None else float('nan'):.3%}  {seconds:.1f}s")
            self.escalated = True
            if full:
                break
        return lower


def pass_counts(made: list[int], fallbacks: int) -> str:
    """How many intervals of a pass kept their guide, needed each fallback guide, or
    every integer free (``made`` from :func:`~decomp.rolling.rolling_horizon`)."""
    counts = np.bincount(np.asarray(made, dtype=int), minlength=fallbacks + 2)
    names = ["guide kept"] + [f"fallback {j}" for j in range(1, fallbacks + 1)] + ["all free"]
    return ", ".join(f"{c} {name}" for c, name in zip(counts, names, strict=True) if c)
