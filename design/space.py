"""The design search space: one variable per sizable component plus the weight W."""

from __future__ import annotations

from dataclasses import dataclass

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
