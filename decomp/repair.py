"""Final decision repair: the whole horizon with the chosen columns' binaries fixed, except
within a window of hours around each interval boundary; continuous variables all free.

The result is a feasible plan of the original MILP, hence an upper bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from decomp.columns import Column
from decomp.horizon import build_horizon
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
    """Holds the whole-horizon MILP loaded in its solver; each repair only moves bounds."""

    def __init__(self, provider: IntervalProvider, options: SolveOptions) -> None:
        self.plan: IntervalModel = build_horizon(provider)
        self.hours = sorted(self.plan.binaries)
        self.vars = [v for t in self.hours for v in self.plan.binaries[t]]
        self.var_hour = np.array([t for t in self.hours for _ in self.plan.binaries[t]])
        self.solver = PersistentSolver(self.plan.model, options, fast_updates=True)

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
        for v, val, f in zip(self.vars, values, free, strict=True):
            if f:
                v.setlb(0)
                v.setub(1)
            else:
                v.setlb(float(round(val)))
                v.setub(float(round(val)))
        res = self.solver.solve(gap=gap, time_limit=time_limit)
        return RepairResult(res, window, int(free.sum()), time.perf_counter() - t0)
