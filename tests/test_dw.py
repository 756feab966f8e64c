"""Dantzig-Wolfe decomposition: valid bounds, feasible plans, generic engine."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decomp.columns import Column, ColumnPool
from decomp.dw import DWSettings, solve_dw, solve_rolling
from decomp.horizon import build_horizon, interval_cuts
from decomp.linking import Linking
from decomp.methods import solve_direct
from decomp.pricing import IntervalSolver
from decomp.repair import EDGE_WEIGHTS, Repairer
from decomp.solvers import SolveOptions
from decomp.solvers import solve as solve_pyomo
from design.network.model import EnergyProvider
from design.network.operate import OperationSettings, operate
from design.network.operation_data import prepare
from tests.conftest import check_balances, interval_parts
from tests.test_operation import check_commitment
from tests.toy_provider import ToyProvider

EXACT = SolveOptions(solver="highs", gap=1e-9)


def assert_sandwich(lb: float, opt: float, ub: float) -> None:
    tol = 1e-6 * max(1.0, abs(opt))
    assert lb <= opt + tol, (lb, opt)
    assert opt <= ub + tol, (opt, ub)


@settings(max_examples=10, deadline=None)
@given(
    demand=st.lists(st.floats(0, 5), min_size=6, max_size=20),
    price=st.floats(0.5, 5),
    interval=st.integers(2, 7),
    pricing_gap=st.sampled_from([1e-6, 0.3]),
)
def test_toy_provider_bounds(demand, price, interval, pricing_gap):
    provider = ToyProvider(np.array(demand), np.full(len(demand), price))
    direct = solve_direct(provider, EXACT)
    dw = solve_dw(provider, DWSettings(interval=interval, gap=1e-6, max_iterations=8,
                                       pricing_gap=pricing_gap))
    assert dw.plan is not None
    assert_sandwich(dw.bound, direct.objective, dw.objective)
    # the UB is the cost of a real plan of the whole horizon
    assert pyo.value(dw.plan.cost) == pytest.approx(dw.objective, rel=1e-6, abs=1e-6)
    for row in dw.log:
        assert row["lower_bound"] <= direct.objective + 1e-6 * max(1, abs(direct.objective))
        if row["lagrangian"] is not None:
            assert row["lagrangian"] <= direct.objective + 1e-6 * max(1, abs(direct.objective))


@settings(max_examples=5, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hours=st.integers(10, 30),
    interval=st.integers(4, 12),
    weight=st.floats(0, 1),
    battery=st.floats(0, 40),
    fuel_cell=st.sampled_from([0.0, 1.0, 2.0]),
)
def test_energy_model_bounds_and_balances(small_case, hours, interval, weight, battery,
                                          fuel_cell):
    design = small_case.design({"battery": battery, "fuel_cell": fuel_cell})
    direct = operate(small_case, design,
                     OperationSettings(horizon=hours, weight=weight, solve=EXACT))
    dw = operate(small_case, design, OperationSettings(
        method="dw", horizon=hours, weight=weight,
        dw=DWSettings(interval=interval, gap=1e-6, max_iterations=4)))
    assert_sandwich(dw.result.bound, direct.result.objective, dw.result.objective)
    check_balances(dw.schedule, small_case, design)
    check_commitment(dw.schedule, small_case, design)


def test_tight_target_reaches_direct_optimum(small_case):
    design = small_case.design()
    direct = operate(small_case, design, OperationSettings(horizon=18, solve=EXACT))
    dw = operate(small_case, design, OperationSettings(
        method="dw", horizon=18, dw=DWSettings(interval=6, gap=1e-4, max_iterations=3)))
    opt = direct.result.objective
    assert dw.result.objective <= opt * (1 + 1e-4) + 1e-9
    assert dw.result.bound <= opt + 1e-9


def test_lp_duals_give_lp_bound_through_lagrangian(small_case):
    # With the LP relaxation's duals on the linking rows and relaxed interval models,
    # L(y) = sum_k min(cost_k - y.a_k) + b.y equals the LP optimum (strong duality): this
    # checks the sign and indexing of every dual.
    provider = EnergyProvider(prepare(small_case, small_case.design(), 30), 0.5)
    cuts = interval_cuts(30, 7)
    ims = [provider.build(a, b, relax=True) for a, b in cuts]
    linking = Linking([list(i.entry) for i in ims], [list(i.exit) for i in ims],
                      provider.boundary_conditions())
    integer = [IntervalSolver(k, provider.build(a, b), EXACT) for k, (a, b) in enumerate(cuts)]
    repairer = Repairer(integer, linking, EXACT)
    relaxation = repairer.lp_relaxation()
    lp, y = relaxation.bound, relaxation.y
    # the glued matrix relaxation is the Pyomo-built whole horizon's relaxation
    whole = solve_direct(provider, EXACT, relax=True)
    assert lp == pytest.approx(whole.objective, rel=1e-7)
    # the relaxation left the repair model's integer columns in their declared bounds
    np.testing.assert_array_equal(repairer.lb[repairer.bin_cols], repairer.lower)
    np.testing.assert_array_equal(repairer.ub[repairer.bin_cols], repairer.upper)
    solvers = [IntervalSolver(k, im, EXACT) for k, im in enumerate(ims)]
    total = linking.constant(y)
    for s in solvers:
        s.set_prices(*linking.interval_prices(y, s.k))
        total += s.solve().bound
    assert total == pytest.approx(lp, rel=1e-6, abs=1e-6)
    wrong = linking.constant(-y) + sum(
        (s.set_prices(*linking.interval_prices(-y, s.k)), s.solve().bound)[1] for s in solvers)
    assert wrong < lp - 1e-6 * max(1, abs(lp))


def test_unequal_intervals_and_state_at_bounds(small_case):
    # 17 h in 6 h intervals (last one 5 h); a tiny battery sits at its bounds at boundaries
    design = small_case.design({"battery": 0.5, "tank_flats": 0.05})
    direct = operate(small_case, design, OperationSettings(horizon=17, solve=EXACT))
    dw = operate(small_case, design, OperationSettings(
        method="dw", horizon=17, dw=DWSettings(interval=6, gap=1e-6, max_iterations=5)))
    assert dw.result.extra["intervals"] == 3
    assert_sandwich(dw.result.bound, direct.result.objective, dw.result.objective)
    check_balances(dw.schedule, small_case, design)


def test_min_up_time_across_boundaries(small_case):
    # the flats' heat pump has 3 h minimum up and down times; 2 h intervals put many runs
    # across boundaries, carried by the started/stopped-k-hours-ago states
    design = small_case.design()
    dw = operate(small_case, design, OperationSettings(
        method="dw", horizon=20, dw=DWSettings(interval=2, gap=1e-6, max_iterations=3)))
    check_commitment(dw.schedule, small_case, design)
    direct = operate(small_case, design, OperationSettings(horizon=20, solve=EXACT))
    assert_sandwich(dw.result.bound, direct.result.objective, dw.result.objective)


def test_rolling_method_is_feasible_and_bounded(small_case):
    design = small_case.design()
    direct = operate(small_case, design, OperationSettings(horizon=24, solve=EXACT))
    roll = operate(small_case, design, OperationSettings(
        method="rolling", horizon=24, dw=DWSettings(interval=6)))
    assert_sandwich(roll.result.bound, direct.result.objective, roll.result.objective)
    check_balances(roll.schedule, small_case, design)


def test_log_and_summary_keys(small_case):
    dw = operate(small_case, small_case.design(), OperationSettings(
        method="dw", horizon=12, dw=DWSettings(interval=4, max_iterations=2)))
    s = dw.summary()
    for key in ("lower_bound", "upper_bound", "gap", "iterations", "columns", "seconds",
                "peak_rss_mb"):
        assert key in s
    row = dw.result.log[0]
    for key in ("iteration", "lower_bound", "master_objective", "upper_bound", "gap",
                "columns_added", "pricing_seconds", "master_seconds"):
        assert key in row


def test_column_pool_rejects_duplicates():
    pool = ColumnPool(2)
    col = Column(0, 1.0, np.array([0.5]), np.array([1.0]), np.array([1.0, 0.0]))
    assert pool.add(col)
    assert not pool.add(Column(0, 1.0, np.array([0.5]), np.array([1.0]), np.array([1.0, 0.0])))
    assert pool.add(Column(1, 1.0, np.array([0.5]), np.array([1.0]), np.array([1.0, 0.0])))
    assert len(pool) == 2


def test_rolling_on_toy_is_a_feasible_plan():
    provider = ToyProvider(np.array([1, 3, 0, 2, 4, 1, 0, 3.0]), np.full(8, 2.0))
    direct = solve_direct(provider, EXACT)
    roll = solve_rolling(provider, DWSettings(interval=3))
    assert_sandwich(roll.bound, direct.objective, roll.objective)
    whole = build_horizon(provider)
    assert set(whole.binaries) == set(range(8))


def test_bad_dw_settings_rejected():
    with pytest.raises(ValueError, match="interval"):
        DWSettings(interval=0)
    with pytest.raises(ValueError, match="stabilisation"):
        DWSettings(stabilisation="magic")


def test_parallel_pricing_matches_serial():
    provider = ToyProvider(np.array([1, 3, 0, 2, 4, 1, 0, 3, 2, 2, 0, 1.0]), np.full(12, 2.0))
    serial = solve_dw(provider, DWSettings(interval=3, max_iterations=3, gap=1e-6))
    parallel = solve_dw(provider, DWSettings(interval=3, max_iterations=3, gap=1e-6,
                                             workers=2))
    assert parallel.bound == pytest.approx(serial.bound, rel=1e-9, abs=1e-9)
    assert parallel.objective == pytest.approx(serial.objective, rel=1e-9, abs=1e-9)


def test_master_duals_never_reprice_a_master_column():
    # with the master's own duals (no smoothing), a column already in the master has a
    # non-negative reduced cost; one coming back with a negative one means stale duals
    provider = ToyProvider(np.array([2, 0, 3, 1, 0, 4, 2, 1, 0, 3.0]), np.full(10, 3.0))
    res = solve_dw(provider, DWSettings(interval=2, max_iterations=6, gap=1e-9,
                                        stabilisation="none",
                                        heuristics=("pass", "windows")))
    rows = [r for r in res.log if r.get("repeated_columns") is not None]
    assert len(rows) >= 2
    assert all(r["repeated_columns"] == 0 for r in rows)


def test_master_with_artificials_is_solvable():
    # columns that do not fit together: the master stays feasible through its artificial
    # columns (HiGHS gives no dual ray for an infeasible LP) and returns finite duals
    from decomp.master import RestrictedMaster
    from decomp.provider import BoundaryCondition

    linking = Linking([["s"], ["s"]], [["s"], ["s"]], [BoundaryCondition("s", "fixed", 0.0)])
    master = RestrictedMaster(2, linking, artificial_cost=1e3)
    master.add(Column(0, 1.0, np.array([0.0]), np.array([1.0]), np.array([])))
    master.add(Column(1, 1.0, np.array([0.0]), np.array([0.0]), np.array([])))
    sol = master.solve()
    assert sol.artificial == pytest.approx(1.0)
    assert np.isfinite(sol.y).all() and abs(sol.y).max() == pytest.approx(1e3)


@pytest.mark.parametrize("method", ["dw", "rolling"])
def test_design_without_any_state_has_no_linking_rows(small_case, method):
    # nothing installed: no storage, no units, so intervals share no state at all
    design = {name: 0.0 for name in small_case.design()}
    direct = operate(small_case, design, OperationSettings(method="direct", horizon=24))
    res = operate(small_case, design, OperationSettings(
        method=method, horizon=24, dw=DWSettings(interval=6, gap=1e-6)))
    assert res.result.status in ("optimal", "feasible")
    assert_sandwich(res.result.bound, direct.result.objective, res.result.objective)
    assert res.result.objective == pytest.approx(direct.result.objective, rel=1e-6)
    check_balances(res.schedule, small_case, design)


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_matrix_pricing_gurobi_and_highs_agree(small_case, weight):
    """The interval models compiled to matrices price the same in gurobipy and in highspy,
    and as the Pyomo model solved through Pyomo's own HiGHS interface: same optimum,
    columns whose cost is the model's cost, bound changes honoured and released."""
    from decomp.solvers import gurobi_can_take

    if not gurobi_can_take(1, 1):
        pytest.skip("no Gurobi licence here")
    provider = EnergyProvider(prepare(small_case, small_case.design(), 48), weight)
    rng = np.random.default_rng(3)
    for a, b in interval_cuts(48, 24):
        grb = IntervalSolver(0, provider.build(a, b), SolveOptions(solver="gurobi"))
        hig = IntervalSolver(0, provider.build(a, b), SolveOptions(solver="highs"))
        assert grb.solver.name == "gurobi" and hig.solver.name == "highs"
        pe = rng.uniform(-0.2, 0.2, len(grb.entry_names))
        px = rng.uniform(-0.2, 0.2, len(grb.exit_names))
        im = provider.build(a, b)
        im.model.objective = pyo.Objective(expr=im.cost + sum(
            p * im.entry[n] for p, n in zip(pe, grb.entry_names, strict=True)) + sum(
            p * im.exit[n] for p, n in zip(px, grb.exit_names, strict=True)))
        reference = solve_pyomo(im.model, SolveOptions(solver="highs", gap=1e-6))
        entry = {n: hig.entry_lower_bound(n) for n in grb.entry_names}
        for s in (grb, hig):
            s.set_prices(pe, px)
        results = []
        for fixed in (False, True, False):
            pair = []
            for s in (grb, hig):
                if fixed:
                    s.fix_entry(entry)
                r = s.solve(gap=1e-6)
                pair.append(r)
                s.release()
            results.append(pair)
        assert results[0][1].objective == pytest.approx(reference.objective, rel=1e-5,
                                                        abs=1e-6)
        for rg, rh in results:
            assert rg.objective == pytest.approx(rh.objective, rel=1e-5, abs=1e-6)
            assert rg.bound <= rg.objective + 1e-6
            col = rg.column
            priced = col.cost + pe @ col.entry + px @ col.exit
            assert priced == pytest.approx(rg.objective, rel=1e-6, abs=1e-6)
        # holding the entry states at their lower bounds is honoured, then released
        fixed_col = results[1][0].column
        np.testing.assert_allclose(fixed_col.entry, [entry[n] for n in grb.entry_names],
                                   atol=1e-6)
        assert results[2][0].objective == pytest.approx(results[0][0].objective, rel=1e-6)


def test_lp_edge_weights_change_the_path_not_the_lp(small_case):
    """Every dual simplex pricing rule reaches the same horizon LP relaxation (its value and
    a dual that prices the linking rows); a name HiGHS does not know is refused."""
    provider = EnergyProvider(prepare(small_case, small_case.design(), 72), 0.3)
    cuts, _, linking, solvers = interval_parts(provider, DWSettings(interval=24))
    values = []
    for rule in EDGE_WEIGHTS:
        rep = Repairer(solvers, linking, SolveOptions(solver="highs"), rule)
        lp = rep.lp_relaxation()
        values.append(lp.bound)
        assert lp.y.shape == (linking.size,)
    assert max(values) - min(values) <= 1e-7 * max(1.0, abs(values[0]))
    with pytest.raises(ValueError, match="lp_edge_weights"):
        Repairer(solvers, linking, SolveOptions(solver="highs"), "fastest")


def test_absolute_pricing_gap_keeps_bounds_valid_and_resets_on_refresh():
    from decomp.solvers import SolveOptions
    from decomp.workspace import Workspace

    provider = ToyProvider(np.array([1, 3, 0, 2, 4, 1, 0, 3, 2.0]), np.full(9, 2.0), units=2)
    ws = Workspace()
    iv = ws.intervals(provider, 3, SolveOptions(solver="highs", threads=1))
    sv = iv.solvers[1]
    sv.set_prices(np.full(len(sv.entry_names), -1.0), np.full(len(sv.exit_names), 0.5))
    exact = sv.solve(gap=0.0)
    sv.set_abs_gap(1e9)  # any plan is close enough: the bound must still be a bound
    loose = sv.solve(gap=0.0)
    assert loose.bound <= exact.objective + 1e-9 <= loose.objective + 2e-9
    assert sv.abs_gap == 1e9
    # a kept model given the next problem starts from the solver's default again
    ws.intervals(provider, 3, SolveOptions(solver="highs", threads=1))
    assert sv.abs_gap is None
    sv.set_prices(np.full(len(sv.entry_names), -1.0), np.full(len(sv.exit_names), 0.5))
    again = sv.solve(gap=0.0)
    assert again.objective == pytest.approx(exact.objective, abs=1e-6)


def test_dw_with_and_without_the_absolute_pricing_gap_sandwich_the_optimum():
    rng = np.random.default_rng(5)
    for _ in range(3):
        p = ToyProvider(rng.uniform(0, 5, 12), rng.uniform(0.5, 5, 12), units=2)
        opt = solve_direct(p, EXACT).objective
        r = solve_dw(p, DWSettings(interval=3, solve=EXACT, gap=1e-9, max_iterations=3,
                                   pricing_gap=0.05,
                                   heuristics=("pass", "windows")))
        assert_sandwich(r.bound, opt, r.objective)


def test_the_same_commitments_are_repaired_once_per_run(monkeypatch):
    """A toy whose gap stalls: later rounds pick columns with the commitments of an
    earlier repair; the pass and the window sweeps are not repeated for them, and the
    result is still a certified sandwich of the direct optimum."""
    from decomp.heuristics import PrimalHeuristics

    rng = np.random.default_rng(7)
    provider = ToyProvider(rng.uniform(0, 5, 14), rng.uniform(0.5, 5, 14),
                           store=float(rng.uniform(1, 8)), size=float(rng.uniform(3, 6)),
                           units=2, maintenance=(1,))
    keys: list[bytes] = []
    real = PrimalHeuristics.sequential

    def spy(self, chosen, *args, **kw):
        keys.append(np.concatenate([np.asarray(c.binaries) for c in chosen]).tobytes())
        return real(self, chosen, *args, **kw)

    monkeypatch.setattr(PrimalHeuristics, "sequential", spy)
    said: list[str] = []
    r = solve_dw(provider, DWSettings(interval=3, solve=EXACT, first_prices="master"),
                 progress=said.append)
    skipped = sum("repair skipped" in m for m in said)
    assert skipped >= 1 and len(keys) == len(set(keys))
    assert_sandwich(r.bound, solve_direct(provider, EXACT).objective, r.objective)


def test_escalation_solves_a_small_horizon_whole_and_its_bound_counts(monkeypatch):
    """Column generation stopped short of the gap on a small horizon: ``escalate`` solves
    the whole horizon's MILP from the best plan, and its proven bound certifies the gap;
    above ``WHOLE_MILP_NONZEROS`` a run that has a plan leaves it out."""
    import decomp.heuristics as heuristics

    rng = np.random.default_rng(11)
    provider = ToyProvider(rng.uniform(0, 6, 24), rng.uniform(1, 8, 24), units=2,
                           store=4.0)
    direct = solve_direct(provider, EXACT).objective
    settings_ = DWSettings(interval=4, gap=1e-6, max_iterations=1, solve=EXACT,
                           heuristics=("pass", "windows", "escalate"))
    r = solve_dw(provider, settings_)
    steps = [row for row in r.log if row["phase"] == "escalate"]
    assert [row["repair_window"] for row in steps] == [24]
    assert_sandwich(r.bound, direct, r.objective)
    assert r.objective - r.bound <= 1e-6 * abs(r.objective) + 1e-9
    assert r.extra["stop_reason"] == "escalated"
    monkeypatch.setattr(heuristics, "WHOLE_MILP_NONZEROS", 0)
    large = solve_dw(provider, settings_)
    assert not any(row["phase"] == "escalate" for row in large.log)
    assert_sandwich(large.bound, direct, large.objective)
