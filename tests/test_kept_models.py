"""The energy model kept across designs: sizes and W as mutable Params (design.network)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decomp.dw import DWSettings
from decomp.matrix_form import compile_form
from decomp.solvers import SolveOptions
from decomp.workspace import Workspace
from design.network.model import EnergyProvider
from design.network.operate import OperationSettings, operate
from design.network.operation_data import prepare
from design.search.evaluate import Candidate
from design.search.executors import SerialExecutor
from tests.conftest import check_balances

HIGHS = SolveOptions(solver="highs", gap=1e-9)
SIZES = {"pv": st.sampled_from([20.0, 40.0, 60.0, 80.0, 100.0]),
         "battery": st.floats(1.0, 40.0), "electrolyser": st.floats(0.2, 2.0),
         "mh_tank": st.floats(1.0, 50.0), "fuel_cell": st.floats(0.2, 2.0),
         "heat_pump_house": st.floats(1.0, 10.0), "heat_pump_flats": st.floats(1.0, 15.0),
         "tank_flats": st.floats(0.1, 2.0)}


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.fixed_dictionaries(SIZES), weight=st.floats(0.0, 1.0))
def test_a_kept_model_given_another_design_is_that_designs_model(small_case, sizes, weight):
    """Every number of the compiled matrices (rows, sides, bounds, costs) equals a build of
    the other design: nothing of the first design stays behind."""
    first = EnergyProvider(prepare(small_case, small_case.design(), 30), 0.5)
    other = EnergyProvider(prepare(small_case, small_case.design(sizes), 30), weight)
    assert first.structure() == other.structure()
    im = first.build(6, 30)
    other.assign(im)
    got = compile_form(im.model, im.cost)
    fresh_im = other.build(6, 30)
    want = compile_form(fresh_im.model, fresh_im.cost)
    assert got.A.shape == want.A.shape and abs(got.A - want.A).max() == 0.0
    for a, b in [(got.lb, want.lb), (got.ub, want.ub), (got.cost, want.cost),
                 (got.row_lower, want.row_lower), (got.row_upper, want.row_upper)]:
        assert np.array_equal(a, b)


def test_structure_changes_with_installed_components_and_data(small_case):
    base = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5)
    no_fc = EnergyProvider(prepare(small_case, small_case.design({"fuel_cell": 0.0}), 24), 0.5)
    longer = EnergyProvider(prepare(small_case, small_case.design(), 48), 0.5)
    sized = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5,
                           sized=frozenset({"battery"}))
    keys = {p.structure() for p in (base, no_fc, longer, sized)}
    assert len(keys) == 4
    bigger = EnergyProvider(prepare(small_case, small_case.design({"battery": 35.0}), 24), 0.9)
    assert bigger.structure() == base.structure()


def test_operate_on_kept_models_gives_the_fresh_result(small_case):
    s = OperationSettings(method="dw", horizon=12, dw=DWSettings(interval=4, gap=1e-3,
                                                                   solve=HIGHS))
    ws = Workspace()
    designs = [small_case.design(), small_case.design({"battery": 35.0, "pv": 100.0}),
               small_case.design({"heat_pump_flats": 12.0, "mh_tank": 5.0})]
    for i, d in enumerate(designs):
        kept = operate(small_case, d, s, workspace=ws)
        fresh = operate(small_case, d, s)
        assert kept.result.extra["models_kept"] == (i > 0)
        # both certified within 0.1 %: the same optimum to that tolerance
        assert kept.result.gap <= 1e-3 and fresh.result.gap <= 1e-3
        assert kept.result.objective == pytest.approx(fresh.result.objective, rel=2e-3)
        assert kept.result.bound <= fresh.result.objective + 1e-6
        assert fresh.result.bound <= kept.result.objective + 1e-6
        # the schedule read back from the kept models balances with this design's data
        check_balances(kept.schedule, small_case, d)
    assert ws.stats.built == 1 and ws.stats.reused == 2


def test_serial_executor_keeps_models_between_candidates(small_case):
    op = OperationSettings(method="dw", horizon=12, dw=DWSettings(interval=6, gap=1e-3,
                                                                    solve=HIGHS))
    cands = [Candidate(small_case.design({"battery": b}), w)
             for b, w in [(10.0, 0.5), (30.0, 0.2), (20.0, 0.9)]]
    kept = SerialExecutor(small_case, op).map(cands)
    fresh = SerialExecutor(small_case, op, keep_models=False).map(cands)
    assert [e.models_kept for e in kept] == [False, True, True]
    assert not any(e.models_kept for e in fresh)
    for a, b in zip(kept, fresh, strict=True):
        assert a.ok and b.ok
        assert a.gap <= 1e-3 and b.gap <= 1e-3
        assert a.annual_total_cost == pytest.approx(b.annual_total_cost, rel=1e-3)
