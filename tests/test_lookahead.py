"""The sequential repair's look-ahead: a storage state priced 0 at a boundary is worth a
share of its next positive price to an interval solved on its own (a relaxation's degenerate prices
while it fills a store for later)."""

import numpy as np
import pytest

from decomp.dw import (
    LOOKAHEAD_SHARE,
    DWSettings,
    _cost_scale,
    _intervals,
    continuous_states,
    lookahead_prices,
    solve_dw,
    tiebreak_prices,
)
from decomp.methods import solve_direct
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions
from tests.toy_provider import ToyProvider


def _level_rows(linking) -> list[int]:
    return [r for r, row in enumerate(linking.rows) if row.kind == "link" and row.state == "level"]


@pytest.mark.parametrize("cyclic, expected", [(set(), [2.0, 2.0, 0.0]),
                                              ({"level"}, [2.0, 2.0, 2.0])])
def test_a_zero_price_takes_the_states_next_positive_one(cyclic, expected):
    provider = ToyProvider(np.ones(12), np.ones(12))
    _, _, linking, solvers = _intervals(provider, DWSettings(interval=3))
    rows = _level_rows(linking)
    y = np.zeros(linking.size)
    y[rows] = [0.0, 2.0, 0.0]
    others = [r for r in range(linking.size) if r not in rows]
    y[others] = np.arange(len(others), dtype=float) - 3.0
    out = lookahead_prices(y, linking, continuous_states(solvers), cyclic)
    assert out[rows].tolist() == expected
    assert np.array_equal(out[others], y[others])  # integer states and edge rows untouched
    assert y[rows].tolist() == [0.0, 2.0, 0.0]  # the prices given are not changed


def test_nonzero_prices_are_kept_and_a_state_never_positive_stays_as_it_is():
    provider = ToyProvider(np.ones(12), np.ones(12))
    _, _, linking, _ = _intervals(provider, DWSettings(interval=3))
    rows = _level_rows(linking)
    y = np.zeros(linking.size)
    y[rows] = [3.0, 0.0, 1.0]
    assert lookahead_prices(y, linking, {"level"})[rows].tolist() == [3.0, 1.0, 1.0]
    y[rows] = [-2.0, 0.0, 1.0]  # a negative price (a store that costs to hold) stays
    assert lookahead_prices(y, linking, {"level"})[rows].tolist() == [-2.0, 1.0, 1.0]
    y[rows] = [0.45, 4e-5, 0.44]  # column generation's "0": a tiny share of the state's
    assert lookahead_prices(y, linking, {"level"})[rows].tolist() == [0.45, 0.44, 0.44]
    y[rows] = [0.0, 0.0, 1.0]
    assert lookahead_prices(y, linking, {"level"}, share=0.3)[rows].tolist() == [0.3, 0.3, 1.0]
    y[rows] = 0.0
    assert lookahead_prices(y, linking, {"level"}, {"level"})[rows].tolist() == [0.0] * 3


# cheap energy first, none needed in the middle, dear demand last: a relaxation may price
# the store 0 after the first interval (it could fill it in the second as well) and
# positive after the second
DEMAND = np.array([0, 0, 0, 0, 0, 0, 2, 2, 2.0])
PRICE = np.array([0.05, 0.05, 0.05, 10, 10, 10, 10, 10, 10.0])


def test_the_look_ahead_fills_the_store_where_the_tiebreak_alone_does_not():
    provider = ToyProvider(DEMAND, PRICE, store=6.0)
    _, conditions, linking, solvers = _intervals(provider, DWSettings(interval=3))
    y = np.zeros(linking.size)
    y[_level_rows(linking)] = [0.0, 1.0]
    bonus = 1e-3 * _cost_scale(solvers)  # below the first interval's price of 0.05
    costs = {}
    for ahead in (False, True):
        prices = lookahead_prices(y, linking, {"level"}, {"level"}, share=0.5) if ahead else y
        columns = rolling_horizon(solvers, linking, conditions,
                                  tiebreak_prices(prices, linking, solvers, bonus), 1e-9)
        costs[ahead] = sum(c.cost for c in columns)
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    assert costs[True] == pytest.approx(direct.objective, abs=1e-6)
    assert costs[False] > direct.objective + 1.0


@pytest.mark.parametrize("first, expected", [("master", LOOKAHEAD_SHARE), ("lp", 0.0)])
def test_the_look_ahead_is_on_by_default_on_the_master_path_only(first, expected):
    provider = ToyProvider(DEMAND, PRICE, store=5.0)
    res = solve_dw(provider, DWSettings(interval=3, first_prices=first, max_iterations=3))
    assert res.extra["exit_lookahead"] == expected


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_a_look_ahead_share_outside_zero_one_is_refused(bad):
    with pytest.raises(ValueError, match="exit_lookahead"):
        DWSettings(exit_lookahead=bad)


def test_the_pass_redecides_an_interval_whose_integers_came_from_other_prices():
    """The first interval's guide runs the generator (decided at prices that did not value
    the store); solved again with its integers free it buys the cheap energy instead."""
    provider = ToyProvider(DEMAND, PRICE, store=6.0)
    _, conditions, linking, solvers = _intervals(provider, DWSettings(interval=3))
    y = np.zeros(linking.size)
    y[_level_rows(linking)] = [0.0, 1.0]
    prices = tiebreak_prices(lookahead_prices(y, linking, {"level"}, {"level"}, share=0.5),
                             linking, solvers, 1e-3 * _cost_scale(solvers))
    guide = np.full(sum(sv.n_binaries for sv in solvers), np.nan)
    guide[:6] = [1, 1, 1, 0, 1, 0]  # (on, started) per hour: on from the first hour
    costs = {}
    for redecide in ((), (0,)):
        plan: list[np.ndarray] = []
        columns = rolling_horizon(solvers, linking, conditions, prices, 1e-9, guide=guide,
                                  plan=plan, redecide=redecide, redecide_seconds=5.0)
        costs[redecide] = sum(c.cost for c in columns)
        assert all(c.cost == pytest.approx(sv.form.objective(x), abs=1e-9)
                   for c, sv, x in zip(columns, solvers, plan, strict=True))
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    assert costs[(0,)] == pytest.approx(direct.objective, abs=1e-6)
    assert costs[()] > direct.objective + 1.0


def test_dw_with_redecided_intervals_still_brackets_the_direct_optimum():
    provider = ToyProvider(np.array([1, 0, 3, 2, 0, 4, 1, 2, 0.0]),
                           np.array([3, 0, 4, 1, 0, 5, 2, 0, 4.0]), store=4.0)
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    res = solve_dw(provider, DWSettings(interval=3, gap=1e-6, exit_lookahead=0.3,
                                        redecide_seconds=1.0, first_prices="master",
                                        max_iterations=10))
    assert res.bound <= direct.objective + 1e-6 <= res.objective + 2e-6
    assert res.extra["redecide_seconds"] == 1.0
    with pytest.raises(ValueError, match="redecide_seconds"):
        DWSettings(redecide_seconds=0.0)
