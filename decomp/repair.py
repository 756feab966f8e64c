"""Final decision repair: the whole horizon with the chosen columns' binaries fixed, except
within a window of hours around each interval boundary; continuous variables all free.

The result is a feasible plan of the original MILP, hence an upper bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from decomp.certificate import PlanCheck
from decomp.columns import Column
from decomp.horizon import build_glued
from decomp.provider import IntervalModel, IntervalProvider
from decomp.solvers import PersistentSolver, SolveOptions, SolveResult


@dataclass(frozen=True)
class RepairResult:
    """Outcome of one repair: the solve, the window used and the binaries left free."""

    solve: SolveResult
    window: int
    free_binaries: int
    seconds: float


class Repairer:
    """Holds the horizon MILP (intervals glued) loaded in its solver; a repair only moves
    bounds, and its plan splits back into one column per interval."""

    def __init__(self, provider: IntervalProvider, cuts: list[tuple[int, int]],
                 options: SolveOptions) -> None:
        self.glued = build_glued(provider, cuts)
        self.plan: IntervalModel = self.glued.as_interval_model()
        ims = self.glued.intervals
        self.vars = [v for im in ims for t in sorted(im.binaries) for v in im.binaries[t]]
        continuous = [v.name for v in self.vars if not v.is_integer()]
        if continuous:
            raise ValueError(f"IntervalModel.binaries must list integer variables only; "
                             f"{len(continuous)} are continuous, e.g. {continuous[0]}")
        # each integer variable's own bounds, as its provider declared them: restored when
        # it is freed, never replaced by [0, 1]
        self.bounds = [(v.lower, v.upper) for v in self.vars]
        self.lower = np.array([_value(v.lb, -np.inf) for v in self.vars])
        self.upper = np.array([_value(v.ub, np.inf) for v in self.vars])
        self.var_hour = np.array([t for im in ims for t in sorted(im.binaries)
                                  for _ in im.binaries[t]])
        self.solver = PersistentSolver(self.plan.model, options, fast_updates=True)

    def columns(self) -> list[Column]:
        """The loaded plan as one column per interval (they fit together in the master)."""
        out = []
        for k, im in enumerate(self.glued.intervals):
            out.append(Column(
                k=k,
                cost=float(pyo.value(im.cost)),
                entry=np.array([pyo.value(v) for v in im.entry.values()], dtype=float),
                exit=np.array([pyo.value(v) for v in im.exit.values()], dtype=float),
                binaries=np.round(np.array([pyo.value(v) for t in sorted(im.binaries)
                                            for v in im.binaries[t]], dtype=float)),
                origin="repair",
            ))
        return out

    def repair(
        self,
        columns: list[Column],
        starts: list[int],
        window: int,
        gap: float,
        time_limit: float | None = None,
    ) -> RepairResult:
        """Fix binaries to ``columns`` outside ``window`` hours of every boundary and solve."""
        values = np.concatenate([c.binaries for c in columns])
        return self.repair_values(values, self.window_mask(starts, window), gap, time_limit,
                                  window)

    def window_mask(self, starts: list[int], window: int) -> np.ndarray:
        """Binaries within ``window`` hours of an interval boundary."""
        free = np.zeros(len(self.vars), dtype=bool)
        for b in starts[1:]:
            free |= (self.var_hour >= b - window) & (self.var_hour < b + window)
        return free

    def repair_values(
        self,
        values: np.ndarray,
        free: np.ndarray,
        gap: float,
        time_limit: float | None = None,
        window: int = 0,
    ) -> RepairResult:
        """Fix every binary to ``values`` except where ``free`` is set, then solve."""
        t0 = time.perf_counter()
        if len(values) != len(self.vars):
            raise ValueError(f"{len(values)} binary values given, horizon has {len(self.vars)}")
        fixed = np.clip(np.round(values), self.lower, self.upper)
        for v, (lo, up), val, f in zip(self.vars, self.bounds, fixed, free, strict=True):
            if f:
                v.setlb(lo)
                v.setub(up)
            else:
                v.setlb(float(val))
                v.setub(float(val))
        res = self.solver.solve(gap=gap, time_limit=time_limit)
        return RepairResult(res, window, int(free.sum()), time.perf_counter() - t0)

    def restore_bounds(self) -> None:
        """Give every integer variable its declared bounds back (after repairs fixed them)."""
        for v, (lo, up) in zip(self.vars, self.bounds, strict=True):
            v.setlb(lo)
            v.setub(up)

    def check(self, claimed: float | None) -> PlanCheck:
        """Check the plan now in the model against the whole glued horizon with every
        variable's declared bounds; raises :class:`~decomp.certificate.CertificateError`
        when a row, a bound or integrality is violated or its cost is not ``claimed``."""
        self.restore_bounds()
        result = self.solver.check_plan()
        result.require(claimed, what="the final plan")
        return result


def _value(x, default: float) -> float:
    return default if x is None else float(x)
