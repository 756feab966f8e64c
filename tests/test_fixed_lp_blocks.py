"""The horizon LP with every integer fixed, solved in blocks of intervals from a plan (so
a large horizon is never loaded whole): each block keeps the plan feasible and no dearer,
and the blocks' plan is never below the whole LP's optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import decomp.dw as dw
from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.repair import Repairer
from tests.test_dw import assert_sandwich
from tests.test_fix_optimise import EXACT, GRID_DEMANDS, myopic_plan, pieces
from tests.toy_provider import ToyProvider


def blocked(repairer: Repairer, intervals: int) -> Repairer:
    """The same repairer cutting its fixed LP into blocks of about ``intervals``."""
    per = repairer.form.A.nnz / len(repairer.solvers)
    return Repairer(repairer.solvers, repairer.linking, EXACT,
                    block_nonzeros=max(1, int(per * intervals)))


@settings(max_examples=15, deadline=None)
@given(demand=GRID_DEMANDS, price=st.lists(st.floats(0.2, 5), min_size=16, max_size=16),
       interval=st.integers(2, 3), size=st.integers(1, 3))
def test_blocks_keep_the_plan_feasible_between_the_whole_lp_and_the_start(demand, price,
                                                                         interval, size):
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]))
    cuts, solvers, linking, conditions, whole = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, whole)
    none = np.zeros(len(whole.bin_cols), dtype=bool)
    values = x[whole.bin_cols]
    optimum = whole.repair_values(values, none, 1e-9).solve.objective
    rep = blocked(whole, size)
    assert rep.blocks() is not None or len(solvers) <= size
    res = rep.repair_values(values, none, 1e-9, start=x)
    assert res.solve.has_solution
    assert res.solve.objective <= cost + 1e-7 * max(1.0, abs(cost))
    assert res.solve.objective >= optimum - 1e-7 * max(1.0, abs(optimum))
    rep.check(res.solve.objective, rep.x)  # every row, bound and integrality of the horizon
    assert np.array_equal(rep.x[rep.bin_cols], np.round(values))


def test_a_second_pass_puts_every_seam_inside_a_block():
    provider = ToyProvider(np.linspace(0, 5, 16), np.linspace(1, 3, 16))
    _, solvers, _, _, whole = pieces(provider, 2)  # eight intervals
    assert whole.blocks() is None  # no size given: solved whole
    spans = blocked(whole, 3).blocks()
    first = [sp for sp in spans if sp[0] % 3 == 0]
    assert [a for a, _ in first] == [0, 3, 6] and first[-1][1] == len(solvers)
    seams = {b for _, b in first[:-1]}
    assert all(any(a < seam < b for a, b in spans[len(first):]) for seam in seams)
    assert blocked(whole, len(solvers) + 1).blocks() is None  # fits in one block


def test_blocks_stop_at_the_time_limit_with_the_start_plan():
    provider = ToyProvider(np.linspace(0, 5, 16), np.linspace(1, 3, 16))
    cuts, solvers, linking, conditions, whole = pieces(provider, 2)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, whole)
    rep = blocked(whole, 2)
    res = rep.repair_values(x[rep.bin_cols], np.zeros(len(rep.bin_cols), dtype=bool), 1e-9,
                            time_limit=1e-9, start=x)
    assert res.solve.status == "feasible" and res.solve.termination.startswith("0 of")
    assert res.solve.objective == pytest.approx(cost, rel=1e-9)
    rep.check(res.solve.objective, rep.x)


def test_a_start_that_does_not_hold_the_fixed_integers_is_refused():
    provider = ToyProvider(np.linspace(0, 5, 16), np.linspace(1, 3, 16))
    cuts, solvers, linking, conditions, whole = pieces(provider, 2)
    x, _ = myopic_plan(cuts, solvers, linking, conditions, whole)
    rep = blocked(whole, 2)
    values = x[rep.bin_cols].copy()
    values[0] = 1.0 - values[0]
    with pytest.raises(ValueError, match="does not hold the fixed integers"):
        rep.repair_values(values, np.zeros(len(values), dtype=bool), 1e-9, start=x)
    with pytest.raises(ValueError, match="block_nonzeros"):
        Repairer(solvers, linking, EXACT, block_nonzeros=0)


@settings(max_examples=8, deadline=None)
@given(demand=GRID_DEMANDS, price=st.floats(0.2, 5), interval=st.integers(2, 4),
       first=st.sampled_from(["lp", "master"]))
def test_dw_with_its_fixed_lps_in_blocks_keeps_the_certificate(demand, price, interval,
                                                              first):
    # every fixed-integer LP of the run (sequential repair, after each sweep) in blocks of
    # two intervals: LB <= direct optimum <= UB, the plan checked against the whole form
    provider = ToyProvider(np.array(demand), np.full(len(demand), price))
    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dw, "FIXED_LP_NONZEROS", 1)
        r = solve_dw(provider, DWSettings(interval=interval, gap=1e-9, max_iterations=4,
                                          first_prices=first, solve=EXACT),
                     progress=said.append)
    assert r.plan is not None
    # the blocks' plan is a plan, never reported as the horizon LP's optimum
    assert not any("horizon LP optimal" in m for m in said)
    assert_sandwich(r.bound, solve_direct(provider, EXACT).objective, r.objective)


def test_dw_solves_the_fixed_lp_in_blocks_above_its_size(monkeypatch):
    provider = ToyProvider(np.full(8, 1.1), np.full(8, 1.5))
    for size, says in ((1, "horizon LP feasible"), (None, "horizon LP optimal")):
        said: list[str] = []
        monkeypatch.setattr(dw, "FIXED_LP_NONZEROS", size)
        r = solve_dw(provider, DWSettings(interval=2, gap=1e-9, max_iterations=4,
                                          first_prices="lp", solve=EXACT),
                     progress=said.append)
        assert any(says in m and "sequential repair" in m for m in said), said
        assert_sandwich(r.bound, solve_direct(provider, EXACT).objective, r.objective)
