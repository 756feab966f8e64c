"""The design search space: per component an "installed" switch and a size, plus W.

Encoding (what NSGA-II varies), per entry of the case's ``design_space``:

* a candidate grid becomes an ordered ``Integer`` index into the sorted candidates, so
  crossover and mutation move to neighbouring sizes (index 0 is "not installed" when the
  grid holds 0);
* a range ``[lo, hi]`` becomes a ``Real`` size in ``[smallest, hi]``; a range that starts
  at 0 also gets a ``Binary`` switch ``<name>.on`` (off = not installed), and its smallest
  real size is ``SNAP_FRACTION * hi`` (the design MILP uses the same minimum), so a
  component is switched off half of the time in the first population, not 5 %.

A case's ``design_groups`` replace their members' variables by one factor per group
(``Real``, with a switch when the factor's range starts at 0): member ``i`` gets
``factor * scale_i`` (the factor's range is cut to what every member's range allows),
so the search does not grow with the number of buildings. A design is encoded into a
group's factor by the mean of its members' ``size / scale``.

Two individuals are the same candidate when their decoded (snapped, rounded) designs and W
are equal: :class:`DecodedDuplicateElimination` removes them before they are evaluated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pymoo.core.duplicate import ElementwiseDuplicateElimination
from pymoo.core.sampling import Sampling
from pymoo.core.variable import Binary, Integer, Real

from design.network.case import Case

SNAP_FRACTION = 0.05
WEIGHT = "W"
SWITCH = ".on"


@dataclass(frozen=True)
class DesignSpace:
    """Sizable components of a case (grids and ranges), the rest held at their default."""

    names: tuple[str, ...]
    grids: dict[str, tuple[float, ...]]
    ranges: dict[str, tuple[float, float]]
    fixed: dict[str, float]
    #: per design group, each member's scale (what the group's factor multiplies)
    groups: dict[str, dict[str, float]] = field(default_factory=dict)
    #: per design group, the factor's range
    group_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def from_case(cls, case: Case) -> DesignSpace:
        """Variables from the case's design space and groups; other components keep
        their default."""
        grids, ranges = {}, {}
        for name, rng in case.spec.design_space.items():
            if rng.values is not None:
                grids[name] = tuple(sorted(set(float(v) for v in rng.values)))
            else:
                ranges[name] = (float(rng.min), float(rng.max))
        default = case.design()
        fixed = {k: v for k, v in default.items() if k not in grids and k not in ranges}
        groups = case.group_scales()
        # a factor no larger than every member's range allows
        bounds = {g: (float(spec.min), min([float(spec.max)] + [
                      ranges[m][1] / scale for m, scale in groups[g].items() if scale > 0]))
                  for g, spec in case.spec.design_groups.items()}
        return cls(tuple(case.spec.design_space), grids, ranges, fixed, groups, bounds)

    @property
    def search_names(self) -> tuple[str, ...]:
        """What the search varies: components outside groups, then the groups."""
        grouped = {m for members in self.groups.values() for m in members}
        return tuple(n for n in self.names if n not in grouped) + tuple(self.groups)

    def member_sizes(self, group: str, factor: float) -> dict[str, float]:
        """The members' sizes at ``factor``: ``factor * scale`` (the factor's range keeps
        each within its member's range, its smallest installed value each installed
        member at least at its smallest installed size)."""
        return {member: round(factor * scale, 4)
                for member, scale in self.groups[group].items()}

    def _bounds(self, name: str) -> tuple[float, float]:
        return self.group_ranges[name] if name in self.groups else self.ranges[name]

    def largest(self) -> dict[str, float]:
        """Every sizable component at its largest candidate."""
        return {n: max(self.grids[n]) if n in self.grids else self.ranges[n][1]
                for n in self.names}

    def can_be_off(self, name: str) -> bool:
        """True if "not installed" is a candidate of this component (or group)."""
        if name in self.grids:
            return self.grids[name][0] == 0.0
        return self._bounds(name)[0] == 0.0

    def smallest_installed(self, name: str) -> float:
        """Smallest size that counts as installed (a range from 0: ``SNAP_FRACTION * hi``);
        for a group, its smallest factor."""
        if name in self.grids:
            positive = [v for v in self.grids[name] if v > 0]
            return positive[0] if positive else 0.0
        lo, hi = self._bounds(name)
        smallest = lo if lo > 0 else SNAP_FRACTION * hi
        if name in self.groups:  # every member at least at its own smallest size
            smallest = max([smallest] + [self.smallest_installed(m) / scale for m, scale
                                         in self.groups[name].items() if scale > 0])
        return min(smallest, hi)

    def pymoo_vars(self) -> dict:
        """pymoo mixed variables (grid index, size, switch), W last."""
        out: dict = {}
        for name in self.search_names:
            if name in self.grids:
                out[name] = Integer(bounds=(0, len(self.grids[name]) - 1))
                continue
            lo, hi = self._bounds(name)
            if lo == 0.0 and hi > 0.0:
                out[name + SWITCH] = Binary()
            out[name] = Real(bounds=(self.smallest_installed(name), hi))
        out[WEIGHT] = Real(bounds=(0.0, 1.0))
        return out

    def size_of(self, name: str, x: dict) -> float:
        """The size an individual gives a component (snapped to a candidate, rounded)."""
        if name in self.grids:
            options = self.grids[name]
            return options[min(max(int(round(float(x[name]))), 0), len(options) - 1)]
        if name + SWITCH in x and not bool(x[name + SWITCH]):
            return 0.0
        lo, hi = self._bounds(name)
        value = min(max(float(x[name]), self.smallest_installed(name)), hi)
        return round(value, 4)

    def decode(self, x: dict) -> tuple[dict[str, float], float]:
        """A pymoo individual as (design, W), sizes snapped and rounded for caching."""
        design = dict(self.fixed)
        for name in self.search_names:
            if name in self.groups:
                design |= self.member_sizes(name, self.size_of(name, x))
            else:
                design[name] = self.size_of(name, x)
        return design, round(min(max(float(x[WEIGHT]), 0.0), 1.0), 4)

    def factor_of(self, group: str, design: dict[str, float]) -> float:
        """The group's factor that stands for ``design``: the mean of its members'
        ``size / scale`` (0 when no member is installed)."""
        ratios = [float(design.get(m, 0.0)) / scale
                  for m, scale in self.groups[group].items() if scale > 0]
        return float(np.mean(ratios)) if ratios else 0.0

    def encode(self, design: dict[str, float], weight: float) -> dict:
        """The individual that decodes to ``design`` (sizes snapped to the space) and W."""
        x: dict = {}
        for name in self.search_names:
            size = (self.factor_of(name, design) if name in self.groups
                    else float(design.get(name, 0.0)))
            if name in self.grids:
                options = np.array(self.grids[name])
                x[name] = int(np.argmin(np.abs(options - size)))
                continue
            lo, hi = self._bounds(name)
            if lo == 0.0 and hi > 0.0:
                x[name + SWITCH] = bool(size > 0)
            small = self.smallest_installed(name)
            x[name] = min(max(size, small), hi) if size > 0 else small
        x[WEIGHT] = min(max(float(weight), 0.0), 1.0)
        return x


class DecodedDuplicateElimination(ElementwiseDuplicateElimination):
    """Two individuals are duplicates when they decode to the same design and W."""

    def __init__(self, space: DesignSpace) -> None:
        super().__init__()
        self.space = space

    def is_equal(self, a, b) -> bool:
        return self.space.decode(a.X) == self.space.decode(b.X)


class SpreadSampling(Sampling):
    """First population: anchors, seeds, then a stratified sample of the space.

    Anchors: nothing installed with W = 1 (the cheap end) and every size at its largest
    with W = 0 (the autonomous end). Seeds (encoded individuals, e.g. the reduced-horizon
    design MILP's designs) come next. The rest is a Latin hypercube over sizes and W (each
    variable's range cut into equal strata, one sample per stratum) whose switches are on
    with probability 1/2, so designs with several components off are proposed too. The
    population may be larger than ``n_samples`` when there are many seeds: every seed is
    evaluated, NSGA-II's survival then keeps the best.
    """

    def __init__(self, space: DesignSpace, seeds: list[dict] | None = None) -> None:
        super().__init__()
        self.space = space
        self.seeds = list(seeds or [])

    def anchors(self) -> list[dict]:
        """The cheap and the autonomous end of the space."""
        s = self.space
        nothing = s.encode({n: 0.0 if s.can_be_off(n) else s.smallest_installed(n)
                            for n in s.names}, 1.0)
        return [nothing, s.encode(s.largest(), 0.0)]

    def _do(self, problem, n_samples, *args, random_state=None, **kwargs):
        rng = random_state if random_state is not None else np.random.default_rng()
        out = self.anchors()[:n_samples] + list(self.seeds)
        m = max(0, n_samples - len(out))
        if m:
            strata = {n: (rng.permutation(m) + rng.uniform(size=m)) / m for n in problem.vars}
            for k in range(m):
                x = {}
                for name, var in problem.vars.items():
                    u = strata[name][k]
                    if isinstance(var, Binary):
                        x[name] = bool(u >= 0.5)
                    elif isinstance(var, Integer):
                        lo, hi = var.bounds
                        x[name] = int(min(lo + int(u * (hi - lo + 1)), hi))
                    else:
                        lo, hi = var.bounds
                        x[name] = lo + u * (hi - lo)
                out.append(x)
        return out
