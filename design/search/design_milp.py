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

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.common.collections import ComponentMap

from decomp.horizon import add_boundary_conditions
from decomp.matrix_form import compile_form
from decomp.matrix_highs import MatrixHighs
from decomp.provider import BoundaryCondition
from decomp.solvers import PersistentSolver, SolveOptions
from design.network.case import Case, CaseError
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from design.network.results import annual_cost_factor, annualised_capex
from design.search.space import DesignSpace
from design.search.typical import ScenarioPeriods, TypicalPeriods


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
    sales_revenue: float | None = None

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
    space, provider = _sized_provider(case, weight, horizon, fixed)
    im = provider.build(0, provider.horizon)
    m = im.model
    year = 8760.0 / provider.horizon
    _add_design_choice(m, m.size, case, space, provider.sized, fixed)
    _boundary(m, im, provider, provider.sized)
    m.objective = pyo.Objective(expr=m.W * m.capex + year * m.cost, sense=pyo.minimize)
    return m, provider, year


def _sized_provider(
    case: Case, weight: float, horizon: int | None, fixed: dict[str, float] | None
) -> tuple[DesignSpace, EnergyProvider]:
    """The operation provider with every sizable component at its largest size as the
    bound of its size variable; ``fixed`` sizes are checked against the design space."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight W must be in [0, 1], not {weight}")
    space = DesignSpace.from_case(case)
    for name, value in (fixed or {}).items():
        if name not in space.names:
            raise CaseError(f"{case.path or case.name}: design_space has no {name!r} to fix")
        if not case.spec.design_space[name].contains(value):
            raise CaseError(f"{case.path or case.name}: design_space.{name}: {value} is not "
                            f"a candidate")
    largest = space.largest()
    data = prepare(case, {**space.fixed, **largest}, horizon)
    sized = frozenset(n for n in space.names if largest[n] > 0)
    return space, EnergyProvider(data, weight, sized=sized)


def _add_design_choice(
    m: pyo.Block, size, case: Case, space: DesignSpace, sized: frozenset[str],
    fixed: dict[str, float] | None,
) -> None:
    """Installed binaries, the choice among grid candidates, the smallest installed size
    of a range, ``fixed`` sizes and the annualised capital cost ``m.capex``."""
    fixed = dict(fixed or {})
    capex = annualised_capex(case, space.fixed)
    m.installed = pyo.Var(sorted(sized), domain=pyo.Binary)
    m.pick = pyo.ConstraintList()
    for n in sorted(sized):
        per_unit, fixed_cost = _capex_factor(case, n)
        inst = m.installed[n]
        if n in space.grids:
            options = space.grids[n]
            choice = pyo.Var(range(len(options)), domain=pyo.Binary)
            m.add_component(f"choice__{n}", choice)
            m.pick.add(sum(choice.values()) == 1)
            m.pick.add(size[n] == sum(v * choice[i] for i, v in enumerate(options)))
            m.pick.add(inst == sum(choice[i] for i, v in enumerate(options) if v > 0))
        else:
            lo, hi = space.ranges[n]
            if lo > 0:
                m.pick.add(inst == 1)
                m.pick.add(size[n] >= lo)
            else:
                m.pick.add(size[n] <= hi * inst)
                m.pick.add(size[n] >= space.smallest_installed(n) * inst)
        if n in fixed:
            size[n].setlb(fixed[n])
            size[n].setub(fixed[n])
            inst.setlb(1 if fixed[n] > 0 else 0)
            inst.setub(1 if fixed[n] > 0 else 0)
        capex = capex + per_unit * size[n] + fixed_cost * inst
    # a design group's members are sized by one factor, as the search sizes them
    groups = {g: {n: v for n, v in members.items() if n in sized}
              for g, members in space.groups.items()}
    groups = {g: members for g, members in groups.items() if members}
    m.factor = pyo.Var(sorted(groups), domain=pyo.NonNegativeReals,
                       bounds=lambda _, g: space.group_ranges[g])
    m.grouped = pyo.ConstraintList()
    for g, members in groups.items():
        for n, scale in members.items():
            m.grouped.add(size[n] == scale * m.factor[g])
    m.capex = pyo.Expression(expr=capex)


NO_CAP = 1e12

LEVEL_LIMITS = {
    "battery": lambda c: (c.soc_min, c.soc_max),
    "mh_tank": lambda c: (c.level_min, 1.0),
    "hot_water_tank": lambda c: (0.0, c.kwh_per_m3),
}


def build_reduced_design_milp(
    case: Case, weight: float, periods: TypicalPeriods | ScenarioPeriods,
    fixed: dict[str, float] | None = None,
) -> tuple[pyo.ConcreteModel, EnergyProvider, float]:
    """The design MILP on typical periods that stand for the whole year.

    One operation block per typical period (a real period of the year, so built from the
    case's series), all sharing the sizes ``m.size``; each block's cost counts as often as
    its period occurs. Storage levels are chained over the year's sequence of periods
    (``m.part[i].chain[s, p]``: the level when period p begins; it grows by the level
    change of p's typical period), bounded by the sized level limits and cyclic over the
    year, so a tank can fill in summer and empty in winter. Unit on/off states are cyclic
    within a typical period that stands for several. With one typical period per period
    the model is the full-horizon design MILP. With :class:`ScenarioPeriods` each scenario
    is one such part with its own series and chain, all sharing the sizes, and the
    operation's cost is the expectation over the scenarios (a two-stage design MILP).
    Returns the model, the first part's provider and the factor that scales the model's
    operation figures to a year (1: they are annual already)."""
    parts = periods.parts if isinstance(periods, ScenarioPeriods) else ((case, periods, 1.0),)
    space, provider = _sized_provider(parts[0][0], weight, parts[0][1].represented_hours,
                                      fixed)
    sized = provider.sized
    m = pyo.ConcreteModel(name="reduced_design_milp")
    m.W = pyo.Param(mutable=True, initialize=weight, within=pyo.UnitInterval)
    m.size = pyo.Var(sorted(sized), domain=pyo.NonNegativeReals,
                     bounds=lambda _, n: (0.0, provider.data.capacity[n]))
    _add_design_choice(m, m.size, case, space, sized, fixed)
    m.blocks = pyo.Block(range(sum(len(per.medoids) for _, per, _ in parts)))
    m.part = pyo.Block(range(len(parts)))
    m.share_size = pyo.ConstraintList()
    weighted = []  # (annual weight, block) of every typical period of every part
    offset = 0
    for i, (case_i, per, probability) in enumerate(parts):
        prov = provider if i == 0 else _sized_provider(case_i, weight, per.represented_hours,
                                                       fixed)[1]
        blocks = []
        for k in range(len(per.medoids)):
            start = per.start(k)
            im = prov.build(start, start + per.length)
            m.blocks[offset + k].transfer_attributes_from(im.model)
            for n in sorted(sized):
                m.share_size.add(m.blocks[offset + k].size[n] == m.size[n])
            blocks.append(im)
            weighted.append((probability * 8760.0 / per.represented_hours
                             * float(per.counts[k]), m.blocks[offset + k], im))
        _chain_storage(m.part[i], m.size, case_i, prov, per, blocks)
        _link_unit_states(m.part[i], prov, per, blocks)
        offset += len(per.medoids)
    m.cost = pyo.Expression(expr=sum(a * im.cost for a, _, im in weighted))
    m.c_op = pyo.Expression(expr=sum(a * b.c_op for a, b, _ in weighted))
    m.autonomy = pyo.Expression(expr=sum(a * b.autonomy for a, b, _ in weighted))
    m.sales = pyo.Expression(expr=sum(a * b.sales for a, b, _ in weighted))
    m.objective = pyo.Objective(expr=m.W * m.capex + m.cost, sense=pyo.minimize)
    # an epsilon constraint on the annual autonomy A (off while the cap is huge)
    m.max_autonomy = pyo.Param(mutable=True, initialize=NO_CAP)
    m.autonomy_cap = pyo.Constraint(expr=m.autonomy <= m.max_autonomy)
    return m, provider, 1.0


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


def _chain_storage(m, size, case: Case, provider: EnergyProvider, periods: TypicalPeriods,
                   blocks: list) -> None:
    """Storage levels over the year's sequence of periods: ``chain[s, p]`` is the level
    when period p begins and grows by the level change of p's typical period; bounded by
    the sized level limits, cyclic (or fixed at the start) as the case says. A typical
    period that stands for one period only begins exactly at its chain level."""
    sized = provider.sized
    storages = sorted(s for s in blocks[0].entry if s.endswith(".level"))
    n_periods = len(periods.order)
    counts = periods.counts
    m.chain = pyo.Var(storages, range(n_periods + 1), domain=pyo.NonNegativeReals)
    m.chain_rows = pyo.ConstraintList()
    for s in storages:
        comp = case.component(s.removesuffix(".level"))
        lo, hi = LEVEL_LIMITS[comp.kind](comp)
        cap = size[comp.name] if comp.name in sized else provider.data.capacity[comp.name]
        for p in range(n_periods + 1):
            m.chain_rows.add(m.chain[s, p] <= hi * cap)
            m.chain_rows.add(m.chain[s, p] >= lo * cap)
        for p, k in enumerate(periods.order):
            im = blocks[k]
            m.chain_rows.add(m.chain[s, p + 1] == m.chain[s, p] + im.exit[s] - im.entry[s])
            if counts[k] == 1:
                m.chain_rows.add(im.entry[s] == m.chain[s, p])
        m.chain_rows.add(m.chain[s, n_periods] >= m.chain[s, 0])
        if provider.data.storage_boundary == "fixed":
            m.chain_rows.add(m.chain[s, 0] == provider.data.initial_storage * hi * cap)


def _link_unit_states(m, provider: EnergyProvider, periods: TypicalPeriods,
                      blocks: list) -> None:
    """On/off states (and starts/stops inside minimum-time windows) of units: glued where
    consecutive periods each have a typical period of their own, the horizon's start
    condition on the first period, cyclic within the period elsewhere."""
    counts = periods.counts
    start_values = {bc.state: bc.value for bc in provider.boundary_conditions()
                    if bc.kind == "fixed" and not bc.state.endswith(".level")}
    m.unit_states = pyo.ConstraintList()
    order = periods.order
    for k, im in enumerate(blocks):
        p = order.index(k)
        glued = counts[k] == 1 and (p == 0 or counts[order[p - 1]] == 1)
        for state, var in im.entry.items():
            if state.endswith(".level"):
                continue
            if not glued:
                m.unit_states.add(var == im.exit[state])
            elif p == 0:
                m.unit_states.add(var == start_values.get(state, 0.0))
            else:
                m.unit_states.add(var == blocks[order[p - 1]].exit[state])


def solve_design_milp(
    case: Case, weight: float, horizon: int | None = None, options: SolveOptions | None = None,
    fixed: dict[str, float] | None = None, start: dict[str, float] | None = None,
) -> DesignMILPResult:
    """Build and solve one weight's design MILP; a run without a plan is reported as
    infeasible within its limit (``feasible`` False), not raised. ``start``: a partial MIP
    start by variable name (``"size[pv]"``, ``"installed[pv]"``, ...) that the solver
    completes (for a complete start from a design's whole plan see
    :func:`solve_started_design_milp`)."""
    t0 = time.perf_counter()
    options = options or SolveOptions()
    m, provider, year = build_design_milp(case, weight, horizon, fixed)
    solver = PersistentSolver(m, options)
    values = _by_name(m, start or {})
    if len(values):
        solver.set_start(values)
    res = solver.solve()
    space = DesignSpace.from_case(case)
    return _result(case, space, m, provider, year, weight, res, time.perf_counter() - t0)


def _set_weight(m: pyo.ConcreteModel, weight: float) -> None:
    """W of the reduced design MILP and of each of its typical-period blocks."""
    m.W.set_value(weight)
    for k in m.blocks:
        m.blocks[k].W.set_value(weight)


def _largest_plan(m: pyo.ConcreteModel, space: DesignSpace, provider: EnergyProvider,
                  solver: PersistentSolver, weight: float, options: SolveOptions,
                  deadline: float | None) -> ComponentMap:
    """A complete start at the largest design: its operation solved with every size held
    at its largest (HiGHS cannot complete a start of that many on/off units itself), in
    at most half a solve's time limit. Only the sizes when no plan is found in time."""
    largest = space.largest()
    sized = sorted(provider.sized)
    start = ComponentMap([(m.size[n], largest[n]) for n in sized]
                         + [(m.installed[n], 1.0) for n in sized])
    saved = [(v, v.lb, v.ub) for n in sized for v in (m.size[n], m.installed[n])]
    for n in sized:
        m.size[n].setlb(largest[n])
        m.size[n].setub(largest[n])
        m.installed[n].setlb(1.0)
    limit = None if options.time_limit is None else options.time_limit / 2
    if deadline is not None:
        left = max(1.0, deadline - time.monotonic())
        limit = left if limit is None else min(limit, left)
    try:
        _set_weight(m, weight)
        res = solver.solve(time_limit=limit)
    finally:
        for v, lo, up in saved:
            v.setlb(lo)
            v.setub(up)
    if res.has_solution:
        start = ComponentMap((v, v.value) for v in m.component_data_objects(pyo.Var)
                             if v.value is not None)
    return start


def _by_name(m: pyo.ConcreteModel, values: dict[str, float]) -> ComponentMap:
    """Variables of ``m`` named as in ``values`` (names not in ``m`` are left out)."""
    out = ComponentMap()
    for name, value in values.items():
        var = m.find_component(name)
        if var is not None:
            out[var] = value
    return out


def _plan_values(m: pyo.ConcreteModel, schedule: pd.DataFrame) -> ComponentMap:
    """Values of the model's hourly variables from a schedule (columns of unit factor)."""
    out = ComponentMap()
    for name, col in m._columns.items():
        if name not in schedule or not isinstance(col.factor, float) or col.factor != 1.0:
            continue
        series = schedule[name]
        for t in m.T:
            if t in series.index:
                out[col.var[t]] = float(series.loc[t])
    return out


def _result(case: Case, space: DesignSpace, m: pyo.ConcreteModel, provider: EnergyProvider,
            year: float, weight: float, res, seconds: float) -> DesignMILPResult:
    """The design and objectives of a solved design MILP (full or reduced horizon)."""
    if not res.has_solution:
        return DesignMILPResult(weight, res.status, False, None, None, None, None, None,
                                None, res.bound, None, seconds, res.solver)
    design = dict(space.fixed)
    for n in space.names:
        value = pyo.value(m.size[n]) if n in provider.sized else 0.0
        design[n] = round(value, 4) if value > 1e-6 else 0.0
    c_op = year * pyo.value(m.c_op)
    capex = annualised_capex(case, design)
    return DesignMILPResult(
        weight=weight, status=res.status, feasible=True, design=design,
        annual_total_cost=capex + c_op, autonomy=year * pyo.value(m.autonomy), capex=capex,
        c_op=c_op, objective=res.objective, bound=res.bound, gap=res.gap, seconds=seconds,
        solver=res.solver, sales_revenue=year * pyo.value(m.sales),
    )


def reduced_sweep(
    case: Case, periods: TypicalPeriods, weights: tuple[float, ...],
    options: SolveOptions, deadline: float | None = None, progress=None,
    caps: tuple[float | None, ...] | None = None,
    start: str = "empty",
    designs: tuple[dict[str, float] | None, ...] | None = None,
) -> list[DesignMILPResult]:
    """Solve the reduced-horizon design MILP for each weight in turn on one persistent
    model: the first solve starts from an always-feasible design (``start``: ``empty``,
    every size that may be 0 at 0, or ``largest``, every size at its largest; HiGHS
    completes the rest), each later one from the previous plan, which is feasible for
    every weight, unless ``designs[i]`` gives weight i's starting sizes (e.g. a design
    known to meet its cap). ``caps[i]`` (EUR/a, None = none) bounds the
    annual autonomy A of weight i's design (an epsilon constraint: it finds designs
    between those a weight alone finds). Each solve is capped by ``options`` and by
    ``deadline`` (``time.monotonic()``); weights not reached by then are left out."""
    if not weights:
        return []
    caps = tuple(caps) if caps is not None else (None,) * len(weights)
    if len(caps) != len(weights):
        raise ValueError(f"{len(caps)} autonomy caps for {len(weights)} weights")
    space = DesignSpace.from_case(case)
    m, provider, year = build_reduced_design_milp(case, weights[0], periods)
    solver = PersistentSolver(m, options)
    if start == "empty":
        first = ComponentMap((v[n], 0.0) for v in (m.size, m.installed)
                             for n in provider.sized if space.can_be_off(n))
    elif start == "largest":
        first = _largest_plan(m, space, provider, solver, weights[0], options, deadline)
    else:
        raise ValueError(f"start must be empty or largest, not {start!r}")
    hint = first
    designs = tuple(designs) if designs is not None else (None,) * len(weights)
    out = []
    for w, cap, design in zip(weights, caps, designs, strict=True):
        if design is not None:
            hint = ComponentMap([(m.size[n], design.get(n, 0.0)) for n in provider.sized]
                                + [(m.installed[n], float(design.get(n, 0.0) > 0))
                                   for n in provider.sized])
        t0 = time.perf_counter()
        limit = options.time_limit
        if deadline is not None:
            left = deadline - time.monotonic()
            if left < 1.0:
                break
            limit = left if limit is None else min(limit, left)
        _set_weight(m, w)
        m.max_autonomy.set_value(NO_CAP if cap is None else cap)
        solver.set_start(hint)
        res = solver.solve(time_limit=limit)
        r = _result(case, space, m, provider, year, w, res, time.perf_counter() - t0)
        out.append(r)
        if res.has_solution:
            hint = ComponentMap((v, v.value) for v in m.component_data_objects(pyo.Var)
                                if v.value is not None)
        if progress is not None:
            progress(r)
    return out


@dataclass(frozen=True)
class StartedMILP:
    """A full-horizon design MILP solved from a complete start: the result and where its
    time went (``build``, ``start``: completing the start, ``solve``: the MILP itself)."""

    result: DesignMILPResult
    start_objective: float | None
    start_accepted: bool
    build_seconds: float
    start_seconds: float
    solve_seconds: float
    lp_solver: str


def solve_started_design_milp(
    case: Case, weight: float, design: dict[str, float], schedule: pd.DataFrame,
    horizon: int | None, time_limit: float, lp_solver: str = "choose",
) -> StartedMILP:
    """The design MILP of one weight on the case's horizon, MIP-started from ``design``
    and its hourly plan ``schedule`` made complete: every variable the plan does not give
    (start/stop flags, entry levels, linearised products) is solved for with the sizes
    and the plan's integers fixed, so HiGHS gets a feasible solution of the whole model,
    not a partial one it may fail to complete. The model goes to highspy as matrices
    (``lp_solver``: HiGHS' ``mip_lp_solver``, e.g. ``ipm`` for a root LP that the dual
    simplex does not finish); the plan found is checked against every row."""
    t0 = time.perf_counter()
    space = DesignSpace.from_case(case)
    m, provider, year = build_design_milp(case, weight, horizon)
    form = compile_form(m, m.objective.expr)
    index = form.index()
    x0 = np.full(form.shape[1], np.nan)
    values = _by_name(m, _design_start(space, design))
    fixed = [index[id(v)] for v in values if id(v) in index]
    values.update(_plan_values(m, schedule))
    for var, value in values.items():
        j = index.get(id(var))
        if j is not None:
            x0[j] = value
    known = ~np.isnan(x0)
    x0[known] = form.clip(x0[known], np.flatnonzero(known))
    hold = np.zeros(form.shape[1], dtype=bool)
    hold[fixed] = True
    hold |= known & form.integer
    lb, ub = form.lb.copy(), form.ub.copy()
    lb[hold], ub[hold] = x0[hold], x0[hold]
    build_s = time.perf_counter() - t0
    options = SolveOptions(solver="highs", gap=1e-4, threads=1)
    t1 = time.perf_counter()
    completer = MatrixHighs(form, options, lb, ub)
    done = completer.solve(time_limit=time_limit)
    start = completer.values.copy() if done.has_solution else None
    del completer
    start_s = time.perf_counter() - t1
    t2 = time.perf_counter()
    solver = MatrixHighs(form, options)
    solver.set_option("mip_lp_solver", lp_solver)
    if start is not None:
        solver.set_start(start)
    res = solver.solve(time_limit=time_limit)
    solve_s = time.perf_counter() - t2
    # HiGHS kept the start (or bettered it) if its plan is no dearer than the start
    accepted = (start is not None and res.has_solution
                and res.objective <= done.objective + 1e-6 * max(1.0, abs(done.objective)))
    if res.has_solution:
        form.check(solver.values).require(res.objective,
                                          what=f"the design MILP's plan (W {weight})")
        form.write_values(solver.values)
    result = _result(case, space, m, provider, year, weight, res,
                     time.perf_counter() - t0)
    return StartedMILP(result, done.objective if start is not None else None, accepted,
                       build_s, start_s, solve_s, lp_solver)


def _design_start(space: DesignSpace, design: dict[str, float]) -> dict[str, float]:
    """A design's sizes, installed switches and grid choices by variable name."""
    start = {f"size[{n}]": design[n] for n in space.names}
    start |= {f"installed[{n}]": float(design[n] > 0) for n in space.names}
    for n, options in space.grids.items():
        for i, v in enumerate(options):
            start[f"choice__{n}[{i}]"] = float(v == design[n])
    return start
