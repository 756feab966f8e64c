"""The sequential repair's look-ahead: a storage state priced 0 at a boundary is worth a
share of its next positive price to an interval solved on its own (a relaxation's degenerate prices
while it fills a store for later)."""

import numpy as np
import pytest

from decomp.dw import DWSettings
from decomp.methods import solve_direct
from decomp.prices import (
    continuous_states,
    cost_scale,
    lookahead_prices,
    tiebreak_prices,
)
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions
from tests.conftest import interval_parts
from tests.toy_provider import ToyProvider


def _level_rows(linking) -> list[int]:
    return [r for r, row in enumerate(linking.rows) if row.kind == "link" and row.state == "level"]


@pytest.mark.parametrize("cyclic, expected", [(set(), [2.0, 2.0, 0.0]),
                                              ({"level"}, [2.0, 2.0, 2.0])])
def test_a_zero_price_takes_the_states_next_positive_one(cyclic, expected):
    provider = ToyProvider(np.ones(12), np.ones(12))
    _, _, linking, solvers = interval_parts(provider, DWSettings(interval=3))
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
    _, _, linking, _ = interval_parts(provider, DWSettings(interval=3))
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
    _, conditions, linking, solvers = interval_parts(provider, DWSettings(interval=3))
    y = np.zeros(linking.size)
    y[_level_rows(linking)] = [0.0, 1.0]
    bonus = 1e-3 * cost_scale(solvers)  # below the first interval's price of 0.05
    costs = {}
    for ahead in (False, True):
        prices = lookahead_prices(y, linking, {"level"}, {"level"}, share=0.5) if ahead else y
        columns = rolling_horizon(solvers, linking, conditions,
                                  tiebreak_prices(prices, linking, solvers, bonus), 1e-9)
        costs[ahead] = sum(c.cost for c in columns)
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    assert costs[True] == pytest.approx(direct.objective, abs=1e-6)
    assert costs[False] > direct.objective + 1.0
