"""The operation model: balances, known optima, unit commitment, weights, interval gluing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decomp.horizon import add_boundary_conditions, build_horizon, interval_cuts
from decomp.solvers import PersistentSolver, SolveOptions
from design.network.model import TIE_BREAK, EnergyProvider
from design.network.operate import OperationSettings, operate
from design.network.operation_data import prepare
from tests.conftest import TOL, check_balances

HIGHS = SolveOptions(solver="highs", gap=1e-9)


def build_glued(provider, cuts, relax: bool = False):
    """Each interval built on its own, consecutive ones linked state by state: its optimum
    must equal the horizon's built whole."""
    parent = pyo.ConcreteModel()
    intervals = []
    for k, (a, b) in enumerate(cuts):
        im = provider.build(a, b, relax=relax)
        parent.add_component(f"interval_{k}", im.model)
        intervals.append(im)
    parent.links = pyo.ConstraintList()
    for left, right in zip(intervals, intervals[1:], strict=False):
        assert set(left.exit) == set(right.entry)
        for name in left.exit:
            parent.links.add((0.0, left.exit[name] - right.entry[name], 0.0))
    add_boundary_conditions(parent, intervals[0], intervals[-1], provider.boundary_conditions())
    parent.objective = pyo.Objective(expr=sum(im.cost for im in intervals), sense=pyo.minimize)
    return parent


def check_commitment(schedule: pd.DataFrame, case, design) -> None:
    """On/off states are binary; part load, minimum up/down times and starts hold."""
    for c in case.spec.components:
        cm = getattr(c, "commitment", None)
        if cm is None or design.get(c.name, 0) <= 0:
            continue
        cap = design[c.name]
        on = schedule[f"{c.name}.on"].to_numpy()
        assert np.all((np.abs(on) < TOL) | (np.abs(on - 1) < TOL)), c.name
        on = np.round(on).astype(int)
        output = {"heat_pump": "heat", "electrolyser": "h2"}.get(c.kind, "power")
        out = schedule[f"{c.name}.{output}"]
        assert np.all(out <= cap * on + TOL)
        assert np.all(out >= cm.min_part_load * cap * on - TOL)
        prev = np.r_[0, on[:-1]]
        starts = np.flatnonzero((on == 1) & (prev == 0))
        stops = np.flatnonzero((on == 0) & (prev == 1))
        for t in starts:
            window = on[t : t + cm.min_up]
            assert window.all() or t + cm.min_up > len(on) and window.all(), (c.name, t)
        for t in stops:
            window = on[t : t + cm.min_down]
            assert not window.any(), (c.name, t)
        if f"{c.name}.start" in schedule:
            assert int(round(schedule[f"{c.name}.start"].sum())) == len(starts)


def test_tiny_battery_known_optimum(tiny_battery_case):
    # Charge in the two cheap hours, discharge in the two dear ones. Discharging 2 kWh
    # needs 2 / 0.81 kWh charged: C_op = 0.1 * (2 + 2/0.81) + backup heat 4 * 0.09/0.9.
    case = tiny_battery_case
    o = operate(case, case.design(), OperationSettings(weight=1.0, solve=HIGHS))
    expected = 0.1 * (2 + 2 / 0.81) + 4 * 0.1
    assert o.result.objective == pytest.approx(expected, rel=1e-7)
    assert o.parts.c_op == pytest.approx(expected, rel=1e-7)
    no_battery = operate(case, case.design({"bat": 0.0}), OperationSettings(weight=1.0))
    assert no_battery.result.objective == pytest.approx(0.1 * 2 + 0.5 * 2 + 0.4, rel=1e-7)
    check_balances(o.schedule, case, case.design())


@pytest.mark.parametrize("hours", [24, 36])
def test_small_case_balances_and_commitment(small_case, hours):
    design = small_case.design()
    o = operate(small_case, design, OperationSettings(horizon=hours, solve=HIGHS))
    assert o.result.status == "optimal"
    check_balances(o.schedule, small_case, design)
    check_commitment(o.schedule, small_case, design)
    assert o.parts.autonomy >= 0
    # the objective the solver reports equals the one recomputed from the schedule
    w = o.weight
    assert o.result.objective == pytest.approx(
        w * o.parts.c_op + (1 - w) * o.parts.autonomy - TIE_BREAK * o.parts.sales_revenue,
        rel=1e-6, abs=1e-6)


def test_lp_bounds_direct(small_case):
    design = small_case.design()
    lp = operate(small_case, design, OperationSettings(method="lp", horizon=24, solve=HIGHS))
    direct = operate(small_case, design, OperationSettings(horizon=24, solve=HIGHS))
    assert lp.result.objective <= direct.result.objective + 1e-9
    assert lp.result.gap == 0.0


def test_weights_move_plan_as_expected(small_case):
    design = small_case.design({"pv": 100.0})
    cost = operate(small_case, design, OperationSettings(weight=1.0, horizon=24, solve=HIGHS))
    auto = operate(small_case, design, OperationSettings(weight=0.0, horizon=24, solve=HIGHS))
    assert cost.parts.c_op <= auto.parts.c_op + 1e-6
    assert auto.parts.autonomy <= cost.parts.autonomy + 1e-6
    # W = 1 sells PV surplus (sale price > 0); W = 0 counts sales against autonomy: none
    assert cost.parts.sales_revenue > 0.01
    assert auto.parts.sales_revenue == pytest.approx(0.0, abs=1e-6)


def test_min_up_time_binds(small_case):
    # a fuel cell with a 3-hour minimum up time and a start cost: starts are counted and
    # every run lasts at least 3 hours
    design = small_case.design({"fuel_cell": 2.0, "mh_tank": 50.0})
    o = operate(small_case, design, OperationSettings(weight=0.0, horizon=48, solve=HIGHS))
    check_commitment(o.schedule, small_case, design)
    assert o.parts.start_cost == pytest.approx(
        sum(c.commitment.start_cost * o.schedule[f"{c.name}.start"].sum()
            for c in small_case.spec.components
            if hasattr(c, "commitment") and design[c.name] > 0), rel=1e-9)


@pytest.mark.parametrize("interval", [7, 12, 24])
def test_glued_intervals_equal_whole_horizon(small_case, interval):
    data = prepare(small_case, small_case.design(), 24)
    provider = EnergyProvider(data, 0.5)
    whole = build_horizon(provider)
    r_whole = PersistentSolver(whole.model, HIGHS).solve()
    glued = build_glued(provider, interval_cuts(24, interval))
    r_glued = PersistentSolver(glued, HIGHS).solve()
    assert r_whole.status == r_glued.status == "optimal"
    assert r_glued.objective == pytest.approx(r_whole.objective, rel=1e-6, abs=1e-7)
    lp_whole = PersistentSolver(build_horizon(provider, relax=True).model, HIGHS).solve()
    lp_glued = PersistentSolver(
        build_glued(provider, interval_cuts(24, interval), relax=True), HIGHS).solve()
    assert lp_glued.objective == pytest.approx(lp_whole.objective, rel=1e-7, abs=1e-7)


def test_interval_states_match_at_boundaries(small_case):
    provider = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5)
    left, right = provider.build(0, 10), provider.build(10, 24)
    assert set(left.exit) == set(right.entry)
    assert "fuel_cell.started_2h_ago" in right.entry
    assert "heat_pump_flats.stopped_2h_ago" in right.entry
    assert "battery.level" in right.entry
    assert {bc.state for bc in provider.boundary_conditions()} >= set(right.entry)


def test_time_limit_returns_plan_not_exception(small_case):
    o = operate(small_case, small_case.design(),
                OperationSettings(horizon=96, solve=SolveOptions(solver="highs", time_limit=1.0)))
    assert o.result.status in ("optimal", "gap met", "feasible", "no plan")
    if o.result.status == "feasible":
        assert o.result.bound <= o.result.objective + 1e-9
        assert o.result.gap is not None and o.result.gap >= 0


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    pv=st.sampled_from([0.0, 20.0, 60.0, 100.0]),
    battery=st.floats(0, 40),
    electrolyser=st.sampled_from([0.0, 0.5, 2.0]),
    mh_tank=st.sampled_from([0.0, 10.0, 50.0]),
    fuel_cell=st.sampled_from([0.0, 0.5, 2.0]),
    hp=st.floats(0, 10),
    weight=st.floats(0, 1),
    hours=st.integers(6, 20),
)
def test_random_designs_balance(small_case, pv, battery, electrolyser, mh_tank, fuel_cell, hp,
                                weight, hours):
    design = small_case.design({"pv": pv, "battery": battery, "electrolyser": electrolyser,
                                "mh_tank": mh_tank, "fuel_cell": fuel_cell,
                                "heat_pump_house": hp})
    o = operate(small_case, design, OperationSettings(weight=weight, horizon=hours, solve=HIGHS))
    assert o.result.status == "optimal"
    check_balances(o.schedule, small_case, design)
    check_commitment(o.schedule, small_case, design)
    lp = operate(small_case, design,
                 OperationSettings(method="lp", weight=weight, horizon=hours, solve=HIGHS))
    assert lp.result.objective <= o.result.objective + 1e-7 * max(1, abs(o.result.objective))


def test_cyclic_storage_ends_at_least_as_full(small_case):
    design = small_case.design()
    o = operate(small_case, design, OperationSettings(horizon=24, solve=HIGHS))
    provider_plan = o.result.plan
    for name in ("battery", "mh_tank", "tank_flats"):
        start = pyo.value(provider_plan.entry[f"{name}.level"])
        end = o.schedule[f"{name}.level"].iloc[-1]
        assert end >= start - TOL
