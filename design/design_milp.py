"""The conventional approach: one monolithic design MILP per weight W.

Capacities are decision variables next to the hourly operation (products of a capacity
with an on/off binary are linearised exactly, see ``model._Builder._unit``). Objective:
``W * (annualised capex + C_op) + (1 - W) * A`` with the operation terms scaled to a year,
which is the weighted sum of the design search's two objectives f1 and f2. Grid entries
of the design space become one binary per candidate, ranges a continuous size (a range
from 0 gets an "installed" binary, so a fixed cost is paid only when the size is > 0, and
sizes below the search's snap fraction are ruled out as the search rules them out).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pyomo.environ as pyo

from decomp.horizon import add_boundary_conditions
from decomp.provider import BoundaryCondition
from decomp.solvers import PersistentSolver, SolveOptions
from design.case import Case, CaseError
from design.model import EnergyProvider
from design.operation_data import prepare
from design.results import annual_cost_factor, annualised_capex
from design.space import SNAP_FRACTION, DesignSpace


@dataclass(frozen=True)
class DesignMILPResult:
    """One weight's design MILP: the design found (if any) and its objectives."""

    weight: float
    status: str
    feasible: bool
    design: dict[str, float] | None
    annual_total_cost: float | None
    autonomy: float | None
    capex: float | None
    c_op: float | None
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str

    def row(self) -> dict:
        """Flat record for tables (capacities as columns)."""
        out = {k: v for k, v in self.__dict__.items() if k != "design"}
        return {**(self.design or {}), **out}


def _capex_factor(case: Case, name: str) -> tuple[float, float]:
    """Annual cost per size unit and annual fixed cost if installed."""
    c = next(c for c in case.spec.components if c.name == name)
    f = annual_cost_factor(case, c)
    return c.cost.unit_cost * f, c.cost.fixed_cost * f


def build_design_milp(
    case: Case, weight: float, horizon: int | None = None,
    fixed: dict[str, float] | None = None,
) -> tuple[pyo.ConcreteModel, EnergyProvider, float]:
    """The design MILP of one weight; ``fixed`` holds some sizes at given values (e.g. to
    compare with the operation of one design). Returns the model, its provider and the
    factor that scales the horizon's operation terms to a year."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight W must be in [0, 1], not {weight}")
    space = DesignSpace.from_case(case)
    fixed = dict(fixed or {})
    for name, value in fixed.items():
        if name not in space.names:
            raise CaseError(f"{case.path or case.name}: design_space has no {name!r} to fix")
        if not case.spec.design_space[name].contains(value):
            raise CaseError(f"{case.path or case.name}: design_space.{name}: {value} is not "
                            f"a candidate")
    largest = {n: max(space.grids[n]) if n in space.grids else space.ranges[n][1]
               for n in space.names}
    data = prepare(case, {**space.fixed, **largest}, horizon)
    sized = frozenset(n for n in space.names if largest[n] > 0)
    provider = EnergyProvider(data, weight, sized=sized)
    im = provider.build(0, provider.horizon)
    m = im.model
    year = 8760.0 / provider.horizon
    capex = annualised_capex(case, space.fixed)
    m.installed = pyo.Var(sorted(sized), domain=pyo.Binary)
    m.pick = pyo.ConstraintList()
    for n in sorted(sized):
        per_unit, fixed_cost = _capex_factor(case, n)
        size, inst = m.size[n], m.installed[n]
        if n in space.grids:
            options = space.grids[n]
            choice = pyo.Var(range(len(options)), domain=pyo.Binary)
            m.add_component(f"choice__{n}", choice)
            m.pick.add(sum(choice.values()) == 1)
            m.pick.add(size == sum(v * choice[i] for i, v in enumerate(options)))
            m.pick.add(inst == sum(choice[i] for i, v in enumerate(options) if v > 0))
        else:
            lo, hi = space.ranges[n]
            if lo > 0:
                m.pick.add(inst == 1)
                m.pick.add(size >= lo)
            else:
                m.pick.add(size <= hi * inst)
                m.pick.add(size >= SNAP_FRACTION * hi * inst)
        if n in fixed:
            size.setlb(fixed[n])
            size.setub(fixed[n])
            inst.fix(1 if fixed[n] > 0 else 0)
        capex = capex + per_unit * size + fixed_cost * inst
    m.capex = pyo.Expression(expr=capex)
    _boundary(m, im, provider, sized)
    m.objective = pyo.Objective(expr=m.W * m.capex + year * m.cost, sense=pyo.minimize)
    return m, provider, year


def _boundary(m, im, provider: EnergyProvider, sized: frozenset[str]) -> None:
    """The horizon's edge conditions; a fixed initial storage level scales with the size."""
    plain: list[BoundaryCondition] = []
    m.initial_level = pyo.ConstraintList()
    for bc in provider.boundary_conditions():
        comp = bc.state.removesuffix(".level")
        if bc.kind == "fixed" and bc.state.endswith(".level") and comp in sized:
            ratio = provider.storage_capacity(comp) / provider.data.capacity[comp]
            share = provider.data.initial_storage
            m.initial_level.add(im.entry[bc.state] == share * ratio * m.size[comp])
        else:
            plain.append(bc)
    holder = pyo.Block()
    m.add_component("edge", holder)
    add_boundary_conditions(holder, im, im, plain)


def solve_design_milp(
    case: Case, weight: float, horizon: int | None = None, options: SolveOptions | None = None,
    fixed: dict[str, float] | None = None,
) -> DesignMILPResult:
    """Build and solve one weight's design MILP; a run without a plan is reported as
    infeasible within its limit (``feasible`` False), not raised."""
    t0 = time.perf_counter()
    options = options or SolveOptions()
    m, provider, year = build_design_milp(case, weight, horizon, fixed)
    res = PersistentSolver(m, options).solve()
    seconds = time.perf_counter() - t0
    if not res.has_solution:
        return DesignMILPResult(weight, res.status, False, None, None, None, None, None,
                                None, res.bound, None, seconds, res.solver)
    space = DesignSpace.from_case(case)
    design = dict(space.fixed)
    for n in space.names:
        value = pyo.value(m.size[n]) if n in provider.sized else 0.0
        design[n] = round(value, 4) if value > 0 else 0.0
    c_op = year * pyo.value(m.c_op)
    capex = annualised_capex(case, design)
    return DesignMILPResult(
        weight=weight, status=res.status, feasible=True, design=design,
        annual_total_cost=capex + c_op, autonomy=year * pyo.value(m.autonomy), capex=capex,
        c_op=c_op, objective=res.objective, bound=res.bound, gap=res.gap, seconds=seconds,
        solver=res.solver,
    )
