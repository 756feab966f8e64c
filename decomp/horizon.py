"""Whole-horizon models from a provider: one build, or intervals glued by linking rows."""

from __future__ import annotations

from dataclasses import dataclass

import pyomo.environ as pyo

from decomp.provider import BoundaryCondition, IntervalModel, IntervalProvider


def interval_cuts(horizon: int, interval: int) -> list[tuple[int, int]]:
    """Split ``0..horizon-1`` into consecutive ranges of ``interval`` steps (last may be short)."""
    if horizon <= 0:
        raise ValueError(f"horizon must be positive, not {horizon}")
    if interval <= 0:
        raise ValueError(f"interval must be positive, not {interval}")
    return [(a, min(a + interval, horizon)) for a in range(0, horizon, interval)]


def add_boundary_conditions(
    model: pyo.Block,
    first: IntervalModel,
    last: IntervalModel,
    conditions: list[BoundaryCondition],
) -> None:
    """Add the horizon's edge conditions as constraints ``boundary_<i>`` on ``model``."""
    for i, bc in enumerate(conditions):
        entry = first.entry[bc.state]
        if bc.kind == "fixed":
            con = pyo.Constraint(expr=(bc.value, entry, bc.value))
        else:
            upper = 0.0 if bc.sense == "==" else None
            con = pyo.Constraint(expr=(0.0, last.exit[bc.state] - entry, upper))
        model.add_component(f"boundary_{i}", con)


def build_horizon(provider: IntervalProvider, relax: bool = False) -> IntervalModel:
    """The whole horizon in one build, with edge conditions and ``objective`` = cost."""
    im = provider.build(0, provider.horizon, relax=relax)
    add_boundary_conditions(im.model, im, im, provider.boundary_conditions())
    im.model.objective = pyo.Objective(expr=im.cost, sense=pyo.minimize)
    return im


@dataclass
class GluedModel:
    """Intervals built separately and joined by ``exit_k == entry_(k+1)`` linking rows."""

    model: pyo.ConcreteModel
    intervals: list[IntervalModel]
    links: dict[tuple[int, str], pyo.Constraint]
    boundary: list[pyo.Constraint]

    def as_interval_model(self) -> IntervalModel:
        """The glued horizon seen as one interval model (its parts are the intervals)."""
        first, last = self.intervals[0], self.intervals[-1]
        binaries = {t: v for im in self.intervals for t, v in im.binaries.items()}
        return IntervalModel(first.start, last.stop, self.model, self.model.objective.expr,
                             first.entry, last.exit, binaries, parts=self.intervals)


def build_glued(
    provider: IntervalProvider, cuts: list[tuple[int, int]], relax: bool = False
) -> GluedModel:
    """Build each interval on its own and link consecutive ones state by state.

    Its optimum equals that of :func:`build_horizon`; the duals of ``links`` are the
    prices of the states at the interval boundaries.
    """
    if not cuts or cuts[0][0] != 0 or cuts[-1][1] != provider.horizon:
        raise ValueError(f"cuts must cover 0..{provider.horizon}: {cuts[:1]}..{cuts[-1:]}")
    parent = pyo.ConcreteModel()
    intervals = []
    for k, (a, b) in enumerate(cuts):
        im = provider.build(a, b, relax=relax)
        parent.add_component(f"interval_{k}", im.model)
        intervals.append(im)
    links: dict[tuple[int, str], pyo.Constraint] = {}
    parent.links = pyo.ConstraintList()
    for k in range(len(intervals) - 1):
        left, right = intervals[k], intervals[k + 1]
        if set(left.exit) != set(right.entry):
            missing = sorted(set(left.exit) ^ set(right.entry))
            raise ValueError(f"boundary {right.start}: exit/entry states differ: {missing}")
        for name in left.exit:
            links[(k, name)] = parent.links.add((0.0, left.exit[name] - right.entry[name], 0.0))
    conditions = provider.boundary_conditions()
    add_boundary_conditions(parent, intervals[0], intervals[-1], conditions)
    parent.objective = pyo.Objective(expr=sum(im.cost for im in intervals), sense=pyo.minimize)
    boundary = [parent.component(f"boundary_{i}") for i in range(len(conditions))]
    return GluedModel(parent, intervals, links, boundary)
