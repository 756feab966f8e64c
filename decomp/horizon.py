"""Whole-horizon models from a provider: the horizon built as one interval, and the cuts."""

from __future__ import annotations

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
