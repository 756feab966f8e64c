"""A horizon MILP with the integers near the boundaries free (the escalation's step),
MIP-started from a plan that keeps the columns' integers outside the windows: its plan
is feasible and no dearer than the start; a plan that does not fit is not handed over."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.methods import solve_direct
from decomp.rolling import rolling_horizon
from tests.test_fix_optimise import EXACT, GRID_DEMANDS, PRICES, pieces
from tests.toy_provider import ToyProvider


@settings(max_examples=15, deadline=None)
@given(demand=GRID_DEMANDS, price=PRICES, interval=st.integers(2, 4), window=st.integers(1, 3))
def test_a_fitting_start_gives_a_boundary_plan_no_dearer(demand, price, interval, window):
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]))
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    starts = [a for a, _ in cuts]
    columns = rolling_horizon(solvers, linking, conditions, None, 1e-9)
    values = np.concatenate([c.binaries for c in columns])
    # the columns fit together: with every integer fixed they are a plan of the horizon
    none = np.zeros(len(values), dtype=bool)
    first = repairer.repair_values(values, none, 1e-9)
    assert first.solve.has_solution
    x0, cost0 = repairer.x.copy(), first.solve.objective
    free = repairer.window_mask(starts, window)
    assert repairer.fits(x0, values, free)
    rep = repairer.repair_values(values, free, 1e-9, start=x0)
    assert rep.solve.has_solution and rep.solve.objective <= cost0 + 1e-7 * max(1, abs(cost0))
    repairer.check(rep.solve.objective, repairer.x)
    assert rep.solve.objective >= solve_direct(provider, EXACT).objective - 1e-6
    # a plan with one held integer flipped does not fit (and is not handed over)
    held = np.flatnonzero(~free)
    if len(held):
        other = x0.copy()
        j = repairer.bin_cols[held[0]]
        other[j] = 1.0 - np.round(other[j])
        assert not repairer.fits(other, values, free)
        again = repairer.repair_values(values, free, 1e-9, start=other)
        assert again.solve.objective == pytest.approx(rep.solve.objective, rel=1e-7, abs=1e-7)
