"""Interval models dropped after compiling: the same answers, plans read as series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.certificate import CertificateError
from decomp.dw import DWSettings, solve_dw
from decomp.matrix_form import Labels
from decomp.methods import solve_direct
from decomp.provider import SeriesPlan
from decomp.repair import Repairer
from decomp.solvers import SolveOptions, SolverError
from decomp.workspace import build_intervals
from design.network.builtin import resolve_case
from design.network.operate import OperationSettings, operate
from tests.conftest import check_balances
from tests.toy_provider import ToyProvider

EXACT = SolveOptions(solver="highs", gap=1e-9)
PRICING = SolveOptions(solver="highs", gap=1e-6, threads=1)


# demands on a 0.1 grid: at 4.00001 against a unit of 4 HiGHS plans run the unit at
# 2e-6 while it is off (within its feasibility tolerance) and undercut the optimum by
# 1e-5, which the certificate (1e-6) then rightly calls a contradiction: a tolerance
# question of its own, not what this test is about
@settings(max_examples=8, deadline=None)
@given(demand=st.lists(st.integers(0, 50).map(lambda v: v / 10), min_size=6, max_size=16),
       price=st.floats(0.5, 5), interval=st.integers(2, 6))
def test_dropped_models_same_bounds_and_a_plan_that_balances(demand, price, interval):
    provider = ToyProvider(np.array(demand), np.full(len(demand), price), series=True)
    s = DWSettings(interval=interval, gap=1e-6, max_iterations=6)
    kept = solve_dw(provider, s)
    dropped = solve_dw(provider, DWSettings(**{**s.__dict__, "models": "drop"}))
    direct = solve_direct(provider, EXACT)
    assert not kept.extra["models_dropped"] and dropped.extra["models_dropped"]
    # the same computation on the same matrices: the same bounds
    assert dropped.objective == pytest.approx(kept.objective, rel=1e-9, abs=1e-9)
    assert dropped.bound == pytest.approx(kept.bound, rel=1e-9, abs=1e-9)
    tol = 1e-6 * max(1.0, abs(direct.objective))
    assert dropped.bound <= direct.objective + tol <= dropped.objective + 2 * tol
    plan = dropped.plan
    assert isinstance(plan, SeriesPlan) and (plan.start, plan.stop) == (0, len(demand))
    v = plan.series
    # the series are a real plan: the store balances every hour, units respect min load
    # and output limits, and its cost is the reported upper bound
    inflow = v["p"] + v["buy"] - np.array(demand)
    np.testing.assert_allclose(v["lvl"][1:], v["lvl"][:-1] + inflow[1:], atol=1e-6)
    # the level before the first hour is within the store and no higher than at the end
    first = v["lvl"][0] - inflow[0]
    assert -1e-6 <= first <= min(5.0, v["lvl"][-1]) + 1e-6
    assert np.all(v["p"] >= 1.5 * v["u"] - 1e-6) and np.all(v["p"] <= 4.0 * v["u"] + 1e-6)
    cost = (v["p"] + 0.3 * v["u"] + 2.0 * v["st"] + price * v["buy"]).sum()
    assert cost == pytest.approx(dropped.objective, rel=1e-6, abs=1e-6)


def test_dropped_models_keep_labels_and_checks():
    provider = ToyProvider(np.array([1.0, 3, 0, 4, 2, 5, 1, 0]), np.full(8, 2.0),
                           series=True)
    kept = build_intervals(provider, 4, PRICING)
    dropped = build_intervals(provider, 4, PRICING, models="drop")
    assert all(sv.im is None for sv in dropped.solvers)
    assert isinstance(dropped.solvers[0].form.columns, Labels)
    a = Repairer(kept.solvers, kept.linking, EXACT)
    b = Repairer(dropped.solvers, dropped.linking, EXACT)
    # the labels name what the variables were called
    names = [v.name for v in a.form.columns]
    assert [b.form.columns.name(j) for j in range(len(names))] == names
    # a plan that breaks a row is refused, the row named by its label
    x = np.zeros(b.form.shape[1])
    with pytest.raises(CertificateError, match=r"row bal\[0\]|row link"):
        b.check(0.0, x)
    # a dropped model cannot take new values
    with pytest.raises(SolverError, match="dropped"):
        dropped.solvers[0].refresh()


def test_drop_needs_series_and_a_known_mode():
    provider = ToyProvider(np.ones(6), np.ones(6))
    with pytest.raises(ValueError, match="declare series"):
        build_intervals(provider, 3, PRICING, models="drop")
    with pytest.raises(ValueError, match="models must be one of"):
        build_intervals(provider, 3, PRICING, models="forget")
    with pytest.raises(ValueError, match="models must be one of"):
        DWSettings(models="forget")
    # auto keeps small models (and any without series)
    auto = build_intervals(ToyProvider(np.ones(6), np.ones(6), series=True), 3, PRICING,
                           models="auto")
    assert all(sv.im is not None for sv in auto.solvers)
    tiny = build_intervals(ToyProvider(np.ones(6), np.ones(6), series=True), 3, PRICING,
                           models="auto", max_nonzeros=10)
    assert all(sv.im is None for sv in tiny.solvers)


def test_energy_schedule_same_with_models_dropped():
    case = resolve_case("small")
    design = dict(case.spec.default_design)
    out = {}
    for models in ("keep", "drop"):
        o = operate(case, design, OperationSettings(
            method="dw", horizon=48, dw=DWSettings(
                gap=0.05, models=models, max_iterations=1, heuristics=("pass",))))
        assert o.result.extra["models_dropped"] == (models == "drop")
        out[models] = o
    a, b = out["keep"].schedule, out["drop"].schedule
    assert sorted(a.columns) == sorted(b.columns)
    np.testing.assert_allclose(a[b.columns].to_numpy(), b.to_numpy(), atol=1e-9)
    check_balances(b, case, design)
    assert out["drop"].parts == out["keep"].parts
