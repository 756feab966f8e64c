"""Relax-and-fix by family over the whole horizon: one unit's commitments re-decided where
the LP says they should change, every other integer held at the plan's values.

Time windows (:mod:`decomp.fix_optimise`) hold each window's end states, so they cannot
run a unit on many summer days to store for the winter; a horizon MILP with a whole
family free (:mod:`decomp.families`) can, but on a year of ten homes it did not leave its
root in 458 s. Here each family is first *relaxed* in the horizon LP (every
other integer fixed at the plan's): an LP that moves storage across the horizon and says,
hour by hour, where the family's integers would rather differ from the plan, and whose
value bounds what any re-decision of that family alone can gain. Only those hours (and
``widen`` hours either side, so that minimum up and down times can be met) are then
freed in a horizon MILP, MIP-started from the plan: a relaxation-induced neighbourhood
(RINS), small where the plan is mostly right. Both solves leave the fixed integer columns
out (:meth:`~decomp.repair.Repairer.partial`). A heuristic for the upper bound only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import numpy as np

from decomp.families import integer_families
from decomp.matrix_form import label_component
from decomp.repair import Repairer

#: what the family's integers outside the freed hours are held at
ANCHORS = ("plan", "lp")
#: an integer whose relaxed value is this far from the plan's differs
DIFFER = 1e-6


@dataclass(frozen=True)
class RelaxFixStep:
    """One family's step: its name, its relaxed LP's value (None: not solved in time), the
    integers the MILP freed (0: none differed or the LP gains nothing), the plan's cost
    before and after, the MILP's status and the seconds of each solve."""

    family: str
    integers: int
    lp_value: float | None
    freed: int
    before: float
    after: float
    status: str
    lp_seconds: float
    milp_seconds: float


def freed_hours(differ: np.ndarray, family: np.ndarray, hours: np.ndarray,
                widen: int) -> np.ndarray:
    """Integers of ``family`` whose hour lies within ``widen`` hours of an hour where some
    integer of the family ``differ``s (all three masks over the horizon's integers;
    ``hours``: each integer's hour)."""
    marked = np.unique(hours[differ & family])
    if len(marked) == 0:
        return np.zeros(len(family), dtype=bool)
    span = np.arange(-widen, widen + 1)
    near = np.unique((marked[:, None] + span[None, :]).ravel())
    return family & np.isin(hours, near)


def lead_families(repairer: Repairer, lead: Collection[str]) -> list[tuple[str, np.ndarray]]:
    """The families (:func:`~decomp.families.integer_families`) holding an integer of a
    ``lead`` component, each named after its first component and given as a mask over
    ``repairer.bin_cols``: one unit each in the energy model (a unit's on/off, starts and
    stops share its transition rows)."""
    if not lead:
        return []
    form, cols = repairer.form, repairer.bin_cols
    out = []
    for positions in integer_families(form, cols):
        names = {label_component(form.columns, int(cols[p])) for p in positions}
        if names & set(lead):
            mask = np.zeros(len(cols), dtype=bool)
            mask[positions] = True
            out.append((min(names), mask))
    return out


def relax_and_fix(repairer: Repairer, x: np.ndarray, families: Sequence[tuple[str, np.ndarray]],
                  gap: float, deadline: float | None, widen: int = 3,
                  gain_share: float = 0.1, anchor: str = "plan", max_free: int | None = None,
                  stop: Callable[[float], bool] | None = None,
                  say: Callable[[str], None] | None = None,
                  ) -> tuple[np.ndarray, float, list[RelaxFixStep]]:
    """Each family (name, mask over ``repairer.bin_cols``) in turn on the best plan so
    far: relaxed in the horizon LP, then its integers within ``widen`` hours of those
    the LP moves freed in a horizon MILP stopped at ``gap`` or within ``gain_share`` of
    the gain the LP allows, whichever is tighter. ``anchor``: ``plan`` holds the
    family's other integers at the plan's values and frees those the LP moves (the plan
    is the MILP's start); ``lp`` holds those the LP leaves integral at the LP's values
    and frees its fractional ones (a smaller MILP without a start). ``max_free``: the
    freed integers split, in hour order, into MILPs of at most this many each, one after
    another on the best plan so far (a year's electrolyser freed whole, ~8000 integers,
    found no plan in 250 s). A family whose LP gains
    nothing (within 1e-6 of the plan's cost) gets no MILP. Each solve gets the time left
    before ``deadline`` shared among the solves still to come; ``stop(cost)`` ends the
    steps early. Returns the best plan, its cost and the steps."""
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {', '.join(ANCHORS)}, not {anchor!r}")
    say = say or (lambda msg: None)
    best = x.copy()
    cost = repairer.form.objective(best)
    steps: list[RelaxFixStep] = []
    for i, (name, family) in enumerate(families):
        if stop is not None and stop(cost):
            break
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left <= 0.5:
            break
        # this family's share of what is left: its LP may take all of it, its MILP then
        # gets the rest (at least half of it)
        budget = None if left is None else left / (len(families) - i)
        t0 = time.perf_counter()
        lp, values = repairer.partial(best, family, relaxed=True, time_limit=budget)
        lp_s = time.perf_counter() - t0
        lp_value = lp.objective if lp.status == "optimal" else None
        before = cost
        tol = 1e-6 * max(1.0, abs(cost))
        if values is None or lp_value is None or lp_value >= cost - tol:
            steps.append(RelaxFixStep(name, int(family.sum()), lp_value, 0, before, cost,
                                      "LP gains nothing" if lp_value is not None
                                      else f"LP {lp.status}", lp_s, 0.0))
            say(f"relax-and-fix {name}: LP {_fmt(lp_value)} against {cost:.6g}, no MILP "
                f"({lp_s:.1f} s)")
            continue
        relaxed = values[repairer.bin_cols]
        anchored = best
        if anchor == "plan":
            differ = family & (np.abs(relaxed - best[repairer.bin_cols]) > DIFFER)
        else:
            # the family's integers the LP left integral are held at the LP's values
            # (the plan is then no MIP start), its fractional ones freed
            differ = family & (np.abs(relaxed - np.round(relaxed)) > DIFFER)
            anchored = best.copy()
            anchored[repairer.bin_cols[family]] = np.round(relaxed[family])
        free = freed_hours(differ, family, repairer.var_hour, widen)
        t1 = time.perf_counter()
        left = None if deadline is None else deadline - t1
        if left is not None and left <= 0.5:
            steps.append(RelaxFixStep(name, int(family.sum()), lp_value, 0, before, cost,
                                      "no time for the MILP", lp_s, 0.0))
            break
        limit = None if left is None else min(left, max(budget - lp_s, budget / 2))
        # stopped within ``gain_share`` of what the LP says re-deciding the family can
        # gain, or at ``gap``: a gap relative to the whole plan's cost (the certificate's
        # share) would stop it at its start, already that close to the LP
        stop_at = min(gap, gain_share * (cost - lp_value) / max(1.0, abs(cost)))
        chunks = _chunks(free, repairer.var_hour, max_free)
        statuses = []
        for j, part in enumerate(chunks):
            now = time.perf_counter()
            share = None if limit is None else (t1 + limit - now) / (len(chunks) - j)
            if share is not None and share <= 0.5:
                statuses.append("no time")
                break
            res, plan = repairer.partial(anchored, part, relaxed=False, gap=stop_at,
                                         time_limit=share)
            statuses.append(res.status)
            if plan is not None:
                after = repairer.form.objective(plan)
                if after < cost - tol:
                    best, cost = plan, after
            if anchor == "plan":
                anchored = best
        milp_s = time.perf_counter() - t1
        status = statuses[0] if len(statuses) == 1 else (
            f"{len(statuses)} of {len(chunks)} MILPs: " + ", ".join(statuses))
        steps.append(RelaxFixStep(name, int(family.sum()), lp_value, int(free.sum()), before,
                                  cost, status, lp_s, milp_s))
        say(f"relax-and-fix {name}: LP {lp_value:.6g}, {int(free.sum())} of "
            f"{int(family.sum())} integers freed, {before:.6g} -> {cost:.6g} "
            f"({status}; LP {lp_s:.1f} s, MILP {milp_s:.1f} s)")
    return best, cost, steps


def _chunks(free: np.ndarray, hours: np.ndarray, most: int | None) -> list[np.ndarray]:
    """``free`` split, in hour order, into masks of at most ``most`` integers each (one
    mask when ``most`` is None or not exceeded)."""
    positions = np.flatnonzero(free)
    if most is None or len(positions) <= most:
        return [free]
    positions = positions[np.argsort(hours[positions], kind="stable")]
    out = []
    for a in range(0, len(positions), most):
        mask = np.zeros(len(free), dtype=bool)
        mask[positions[a:a + most]] = True
        out.append(mask)
    return out


def _fmt(value: float | None) -> str:
    return "unsolved" if value is None or not math.isfinite(value) else f"{value:.6g}"
