"""Exit values capped at targets: a state above its target earns nothing more, in both
back-ends, only while a rolling pass sets the caps."""

from __future__ import annotations

import numpy as np
import pytest

from decomp.dw import DWSettings, _intervals
from decomp.repair import Repairer
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions, gurobi_can_take
from tests.toy_provider import ToyProvider


def _toy() -> ToyProvider:
    rng = np.random.default_rng(5)
    return ToyProvider(rng.integers(0, 5, 24).astype(float), rng.uniform(1, 3, 24))


def _solvers(solver: str, interval: int = 6):
    s = DWSettings(interval=interval, solve=SolveOptions(solver=solver, gap=1e-9))
    _, conditions, linking, solvers = _intervals(_toy(), s)
    return conditions, linking, solvers


@pytest.mark.parametrize("solver", ["highs", "gurobi"])
def test_a_capped_exit_is_worth_nothing_above_its_target(solver):
    if solver == "gurobi" and not gurobi_can_take(100, 100):
        pytest.skip("no Gurobi licence for the toy's intervals")
    _, _, solvers = _solvers(solver)
    sv = solvers[1]
    assert sv.solver.name == solver
    level = sv.exit_names.index("level")
    sv.fix_entry({"level": 0.0, "on": 0.0, "started_1h_ago": 0.0})
    p_exit = np.zeros(len(sv.exit_names))
    p_exit[level] = -100.0
    sv.set_prices(np.zeros(len(sv.entry_names)), p_exit)
    free = sv.solve(gap=0.0)
    assert free.column.exit[level] == pytest.approx(5.0)  # the store's capacity
    targets = np.full(len(sv.exit_names), np.nan)
    targets[level] = 2.0
    sv.cap_exit_values(targets, p_exit)
    capped = sv.solve(gap=0.0)
    # beyond 2 a unit costs money to store and earns nothing
    assert capped.column.exit[level] == pytest.approx(2.0, abs=1e-6)
    assert capped.objective == pytest.approx(capped.column.cost - 200.0, abs=1e-6)
    sv.cap_exit_values(None)
    again = sv.solve(gap=0.0)
    assert again.objective == pytest.approx(free.objective, abs=1e-6)


def test_a_rolling_pass_with_lp_targets_fits_together_and_leaves_no_caps():
    conditions, linking, solvers = _solvers("highs", 4)
    lp = Repairer(solvers, linking, SolveOptions(solver="highs")).lp_relaxation()
    assert len(lp.exits) == len(solvers)
    for k in range(len(solvers) - 1):
        # the LP's exit levels are the next interval's entry (the linking rows hold)
        i = solvers[k].exit_names.index("level")
        assert 0.0 - 1e-9 <= lp.exits[k][i] <= 5.0 + 1e-9
    def solve_all() -> list[float]:
        for sv in solvers:
            sv.set_prices(np.zeros(len(sv.entry_names)), np.full(len(sv.exit_names), -3.0))
        return [sv.solve(gap=0.0).objective for sv in solvers]

    before = solve_all()
    columns = rolling_horizon(solvers, linking, conditions, linking.valid(lp.y), 1e-9,
                              targets=lp.exits)
    for a, b in zip(columns[:-1], columns[1:], strict=True):
        assert np.allclose(a.exit, b.entry, atol=1e-6)
    after = solve_all()
    assert after == pytest.approx(before, abs=1e-7)
