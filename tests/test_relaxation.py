"""The LP relaxation by column generation over interval LPs (no whole-horizon model)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.prices import cost_scale
from decomp.relaxation import RelaxationSettings, solve_relaxation
from decomp.repair import Repairer
from decomp.solvers import SolveOptions
from tests.conftest import interval_parts
from tests.test_dw import EXACT, assert_sandwich
from tests.toy_provider import ToyProvider

toy = st.builds(
    lambda demand, price, units, maintenance: ToyProvider(
        np.array(demand), np.array(price[: len(demand)] * 8)[: len(demand)], units=units,
        maintenance=tuple(h for h in maintenance if h < len(demand))),
    demand=st.lists(st.floats(0, 5), min_size=6, max_size=18),
    price=st.lists(st.floats(0.5, 5), min_size=3, max_size=6),
    units=st.sampled_from([1, 2]),
    maintenance=st.lists(st.integers(0, 17), max_size=3),
)


def _relaxation(provider, interval: int):
    s = DWSettings(interval=interval, solve=EXACT)
    cuts, conditions, linking, solvers = interval_parts(provider, s)
    return conditions, linking, solvers


def assert_converged_to(rel, glued: float) -> None:
    """Every round's Lagrangian is a lower bound of the LP relaxation (value ``glued``),
    and the master (a restriction of the LP) has converged to it from above."""
    tol = 1e-6 * max(1.0, abs(glued))
    for row in rel.log:
        if row["lagrangian"] is not None:
            assert row["lagrangian"] <= glued + tol
    assert rel.converged
    assert rel.bound == pytest.approx(glued, rel=1e-5, abs=1e-5)
    assert rel.master_objective >= glued - tol


# a start in hour 14 leaves no plan for hour 15 (maintenance, 2-hour minimum up time):
# the myopic rolling pass fails there and the box slacks must carry the master
STARTS_BEFORE_MAINTENANCE = ToyProvider(
    np.array([0.0] * 13 + [1.0, 5.0, 0.0]), np.array(([1.0, 2.0, 2.0] * 6)[:16]),
    maintenance=(13, 15))


@settings(max_examples=15, deadline=None)
@given(provider=toy, interval=st.integers(2, 6))
@example(provider=STARTS_BEFORE_MAINTENANCE, interval=3)
def test_master_converges_to_the_lp_relaxation(provider, interval):
    conditions, linking, solvers = _relaxation(provider, interval)
    glued = Repairer(solvers, linking, EXACT).lp_relaxation().bound
    rel = solve_relaxation(solvers, linking, conditions, cost_scale(solvers),
                           RelaxationSettings(tolerance=1e-7, max_rounds=400))
    assert_converged_to(rel, glued)
    # the phase gave the integers back: the intervals are MILPs again
    assert not any(sv.relaxed or sv.solver.relaxed for sv in solvers)
    # the integer values are the master's convex combination: within their bounds
    assert rel.binaries is not None and np.all(np.isfinite(rel.binaries))
    assert np.all(rel.binaries >= -1e-9) and np.all(rel.binaries <= provider.units + 1e-9)


def test_intervals_solve_their_milp_again_after_the_lp_phase():
    provider = ToyProvider(np.array([0, 3, 4, 1, 0, 5, 2, 0.5]), np.full(8, 2.0))
    conditions, linking, solvers = _relaxation(provider, 4)
    before = [sv.solve().objective for sv in solvers]
    solve_relaxation(solvers, linking, conditions, cost_scale(solvers))
    for sv in solvers:
        sv.set_prices(np.zeros(len(sv.entry_names)), np.zeros(len(sv.exit_names)))
    after = [sv.solve() for sv in solvers]
    assert [r.objective for r in after] == pytest.approx(before, rel=1e-9, abs=1e-9)
    for r in after:
        assert np.allclose(r.column.binaries, np.round(r.column.binaries))


def test_deadline_in_the_past_proves_nothing():
    provider = ToyProvider(np.array([0, 3, 4, 1, 0, 5, 2, 0.5]), np.full(8, 2.0))
    conditions, linking, solvers = _relaxation(provider, 4)
    rel = solve_relaxation(solvers, linking, conditions, cost_scale(solvers),
                           deadline=time.perf_counter() - 1.0)
    assert rel.bound == -math.inf


@settings(max_examples=12, deadline=None)
@given(provider=toy, interval=st.integers(2, 6), aggregate=st.sampled_from([None, 2]))
def test_dw_from_master_prices_sandwiches_the_optimum(provider, interval, aggregate):
    # with or without a first LP phase over spans of two boundaries (test_price_groups)
    direct = solve_direct(provider, EXACT)
    dw = solve_dw(provider, DWSettings(interval=interval, gap=1e-6, max_iterations=6,
                                       first_prices="master",
                                       lp_aggregate=aggregate,
                                       solve=SolveOptions(solver="highs")))
    assert dw.plan is not None
    assert_sandwich(dw.bound, direct.objective, dw.objective)
    assert dw.extra["lp_aggregate"] == aggregate
    # on the master path the first plan comes from the pricing round's columns (no
    # guided rolling pass unless asked for)
    assert dw.extra["first_prices"] == "master"
    # the first bound is the LP relaxation's, found without the glued horizon
    conditions, linking, solvers = _relaxation(provider, interval)
    glued = Repairer(solvers, linking, EXACT).lp_relaxation().bound
    assert dw.extra["lp_bound"] <= glued + 1e-6 * max(1.0, abs(glued))
    assert any(row.get("phase") == "lp" for row in dw.log)


def test_bad_relaxation_settings_rejected():
    with pytest.raises(ValueError, match="tolerance"):
        RelaxationSettings(tolerance=0)
    with pytest.raises(ValueError, match="max_rounds"):
        RelaxationSettings(max_rounds=0)
    for shrink in (0.0, 1.5):
        with pytest.raises(ValueError, match="trust_shrink"):
            RelaxationSettings(trust_shrink=shrink)
    with pytest.raises(ValueError, match="first_prices"):
        DWSettings(first_prices="glued")


@settings(max_examples=10, deadline=None)
@given(provider=toy, interval=st.integers(2, 4), age=st.integers(0, 2),
       shrink=st.sampled_from([0.5, 0.8, 1.0]))
def test_pruned_columns_still_converge_to_the_lp_relaxation(provider, interval, age, shrink):
    # column aging drops unused columns from the master and the pool (pricing may bring
    # them back), the trust region narrows by any factor after a null step (or never):
    # the bound is still the LP relaxation's, every round's Lagrangian below it
    conditions, linking, solvers = _relaxation(provider, interval)
    glued = Repairer(solvers, linking, EXACT).lp_relaxation().bound
    rel = solve_relaxation(solvers, linking, conditions, cost_scale(solvers),
                           RelaxationSettings(tolerance=1e-7, max_rounds=400,
                                              column_age=age, trust_shrink=shrink))
    tol = 1e-6 * max(1.0, abs(glued))
    assert all(row["lagrangian"] <= glued + tol for row in rel.log
               if row["lagrangian"] is not None)
    assert rel.converged
    assert rel.bound == pytest.approx(glued, rel=1e-5, abs=1e-5)
    assert rel.master_objective >= glued - tol


def test_column_aging_keeps_the_master_small():
    provider = ToyProvider(np.array([0, 3, 4, 1, 0, 5, 2, 0.5, 4, 4, 0, 1, 3, 2, 5, 0]),
                           np.array([1, 2, 3, 1, 2, 3, 4, 1, 2, 1, 3, 2, 1, 4, 2, 1.0]),
                           units=2)
    conditions, linking, solvers = _relaxation(provider, 2)
    kept = solve_relaxation(solvers, linking, conditions, cost_scale(solvers),
                            RelaxationSettings(tolerance=1e-7, column_age=None))
    aged = solve_relaxation(solvers, linking, conditions, cost_scale(solvers),
                            RelaxationSettings(tolerance=1e-7, column_age=0))
    assert aged.bound == pytest.approx(kept.bound, rel=1e-6, abs=1e-6)
    assert sum(row["columns_pruned"] for row in aged.log) > 0
    assert all(row["columns_pruned"] == 0 for row in kept.log)
    assert aged.log[-1]["columns"] < kept.log[-1]["columns"]
    with pytest.raises(ValueError, match="column_age"):
        RelaxationSettings(column_age=-1)
