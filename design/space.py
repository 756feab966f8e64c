"""The design search space: one variable per sizable component plus the weight W."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymoo.core.sampling import Sampling
from pymoo.core.variable import Choice, Real

from design.case import Case

SNAP_FRACTION = 0.05
WEIGHT = "W"


@dataclass(frozen=True)
class DesignSpace:
    """Variables of the search: candidate grids become ``Choice``, ranges ``Real``.

    A range that starts at 0 is semi-continuous: a size below ``SNAP_FRACTION`` of its
    maximum means "not installed" (0), so the search can switch a component off.
    """

    names: tuple[str, ...]
    grids: dict[str, tuple[float, ...]]
    ranges: dict[str, tuple[float, float]]
    fixed: dict[str, float]

    @classmethod
    def from_case(cls, case: Case) -> DesignSpace:
        """Variables from the case's design space; other components keep their default."""
        grids, ranges = {}, {}
        for name, rng in case.spec.design_space.items():
            if rng.values is not None:
                grids[name] = tuple(sorted(set(float(v) for v in rng.values)))
            else:
                ranges[name] = (float(rng.min), float(rng.max))
        default = case.design()
        fixed = {k: v for k, v in default.items() if k not in grids and k not in ranges}
        return cls(tuple(case.spec.design_space), grids, ranges, fixed)

    def pymoo_vars(self) -> dict:
        """pymoo mixed variables, W last."""
        out = {}
        for name in self.names:
            if name in self.grids:
                out[name] = Choice(options=list(self.grids[name]))
            else:
                out[name] = Real(bounds=self.ranges[name])
        out[WEIGHT] = Real(bounds=(0.0, 1.0))
        return out

    def decode(self, x: dict) -> tuple[dict[str, float], float]:
        """A pymoo individual as (design, W), sizes snapped and rounded for caching."""
        design = dict(self.fixed)
        for name in self.names:
            value = float(x[name])
            if name in self.ranges:
                lo, hi = self.ranges[name]
                if lo == 0.0 and value < SNAP_FRACTION * hi:
                    value = 0.0
                value = min(max(value, lo), hi)
            design[name] = round(value, 4)
        return design, round(min(max(float(x[WEIGHT]), 0.0), 1.0), 4)


class SpreadSampling(Sampling):
    """First population that spans the design space instead of clustering in its middle.

    Two anchors - every size at its smallest with W = 1 (the cheap end of the front) and
    every size at its largest with W = 0 (the autonomous end: hydrogen chain installed) -
    then a Latin hypercube over the sizes and W (each variable's range cut into equal
    strata, one sample per stratum, strata shuffled per variable).
    """

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        rng = random_state if random_state is not None else np.random.default_rng()
        names = list(problem.vars)
        lowest, largest = {}, {}
        for name, var in problem.vars.items():
            if isinstance(var, Choice):
                lowest[name], largest[name] = min(var.options), max(var.options)
            else:
                lowest[name], largest[name] = var.bounds
        lowest[WEIGHT], largest[WEIGHT] = 1.0, 0.0
        anchors = [lowest, largest][:n_samples]
        m = n_samples - len(anchors)
        out = list(anchors)
        if m:
            u = {n: (rng.permutation(m) + rng.uniform(size=m)) / m for n in names}
            for k in range(m):
                x = {}
                for name, var in problem.vars.items():
                    if isinstance(var, Choice):
                        opts = list(var.options)
                        x[name] = opts[min(int(u[name][k] * len(opts)), len(opts) - 1)]
                    else:
                        lo, hi = var.bounds
                        x[name] = lo + u[name][k] * (hi - lo)
                out.append(x)
        return out
