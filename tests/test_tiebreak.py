"""The sequential repair's tie-break: continuous exit states worth a little more than their
prices, so an interval indifferent at degenerate prices keeps its storage."""

import numpy as np
import pytest

from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.prices import continuous_states, tiebreak_prices
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions
from tests.conftest import interval_parts
from tests.toy_provider import ToyProvider

# free energy in the first interval, dear in the second: the store filled for nothing
# in the first is what covers the second (optimum 0; an empty store costs 7.9)
DEMAND = np.array([0, 0, 0, 2, 2, 1.0])
PRICE = np.array([0, 0, 0, 5, 5, 5.0])


def _toy():
    provider = ToyProvider(DEMAND, PRICE, store=5.0)
    _, conditions, linking, solvers = interval_parts(provider, DWSettings(interval=3))
    return provider, conditions, linking, solvers


def test_the_bonus_goes_on_continuous_states_boundary_rows_only():
    _, _, linking, solvers = _toy()
    assert continuous_states(solvers) == {"level"}
    y = np.arange(linking.size, dtype=float)
    out = tiebreak_prices(y, linking, solvers, 0.25)
    for r, row in enumerate(linking.rows):
        bonus = 0.25 if row.kind == "link" and row.state == "level" else 0.0
        assert out[r] == pytest.approx(y[r] + bonus)
    assert tiebreak_prices(y, linking, solvers, 0.0) is y


def test_at_zero_prices_the_tiebreak_keeps_what_costs_nothing_to_keep():
    """At prices 0 the first interval is indifferent to its exit level; with the
    tie-break it leaves the store full, and the pass's plan is the optimum."""
    provider, conditions, linking, solvers = _toy()
    y = tiebreak_prices(np.zeros(linking.size), linking, solvers, 1e-3)
    plan: list[np.ndarray] = []
    columns = rolling_horizon(solvers, linking, conditions, y, 1e-9, plan=plan)
    level = solvers[0].exit_names.index("level")
    assert columns[0].exit[level] == pytest.approx(5.0, abs=1e-6)
    cost = sum(c.cost for c in columns)
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    assert direct.objective == pytest.approx(0.0, abs=1e-6)
    assert cost == pytest.approx(direct.objective, abs=1e-6)


@pytest.mark.parametrize("tiebreak, ahead", [(0.0, 0.0), (1e-3, 0.0), (0.5, 0.0),
                                             (1e-3, 0.3), (0.0, 1.0)])
def test_dw_bounds_hold_whatever_the_tiebreak_and_look_ahead(tiebreak, ahead, monkeypatch):
    """A heuristic's tie-break and look-ahead (the pass's prices only): the certificate
    brackets the direct optimum with any."""
    import decomp.heuristics as heuristics

    monkeypatch.setattr(heuristics, "TIEBREAK", tiebreak)
    monkeypatch.setattr(heuristics, "LOOKAHEAD_SHARE", ahead)
    provider = ToyProvider(np.array([1, 0, 3, 2, 0, 4, 1, 2, 0.0]),
                           np.array([3, 0, 4, 1, 0, 5, 2, 0, 4.0]), store=4.0)
    direct = solve_direct(provider, SolveOptions(solver="highs", gap=1e-9))
    res = solve_dw(provider, DWSettings(interval=3, gap=1e-6, first_prices="master",
                                        max_iterations=10))
    assert res.bound <= direct.objective + 1e-6
    assert res.objective >= direct.objective - 1e-6
