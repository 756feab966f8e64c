"""A solver that ends without a verdict on one block costs that round's bound from that
block, never the evaluation: the solve is retried from a fresh load with safer settings,
and the certificate still brackets the direct optimum."""

from __future__ import annotations

import numpy as np
import pytest

from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.pricing import TROUBLE, IntervalSolver
from decomp.solvers import SolverError
from tests.test_dw import EXACT, assert_sandwich
from tests.toy_provider import ToyProvider

PROVIDER = ToyProvider(np.array([0, 3, 4, 1, 0, 5, 2, 0.5, 4, 4, 0, 1, 3, 2, 5, 0.0]),
                       np.array([1, 2, 3, 1, 2, 3, 4, 1, 2, 1, 3, 2, 1, 4, 2, 1.0]))


def break_interval(monkeypatch, k: int, failing: set[int]) -> dict:
    """Interval ``k``'s solver raises HiGHS's "Unknown" on the calls numbered in
    ``failing`` (1 = its first solve); returns counters of calls, failures, retries."""
    seen = {"calls": 0, "failures": 0, "safer": 0, "trouble": 0}
    real_init, real_solve = IntervalSolver.__init__, IntervalSolver.solve

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        if self.k != k:
            return
        inner, inner_safer = self.solver.solve, self.solver.safer

        def solve(*a, **kw):
            seen["calls"] += 1
            if seen["calls"] in failing:
                seen["failures"] += 1
                raise SolverError("HiGHS ended with Unknown")
            return inner(*a, **kw)

        def safer():
            seen["safer"] += 1
            inner_safer()

        self.solver.solve, self.solver.safer = solve, safer

    def solve_counted(self, *args, **kwargs):
        r = real_solve(self, *args, **kwargs)
        seen["trouble"] += r.status == TROUBLE
        return r

    monkeypatch.setattr(IntervalSolver, "__init__", init)
    monkeypatch.setattr(IntervalSolver, "solve", solve_counted)
    return seen


@pytest.mark.parametrize("first_prices", ["lp", "master"])
@pytest.mark.parametrize("failing", [{2}, {2, 3}, {2, 3, 5, 6}])
def test_one_block_in_trouble_costs_a_bound_not_the_run(monkeypatch, first_prices,
                                                         failing):
    direct = solve_direct(PROVIDER, EXACT)
    seen = break_interval(monkeypatch, 2, failing)
    dw = solve_dw(PROVIDER, DWSettings(interval=3, gap=1e-6, max_iterations=10,
                                       first_prices=first_prices,
                                       solve=EXACT))
    assert seen["failures"] == len(failing)  # the trouble did happen
    assert seen["safer"] >= 1  # and each time the solve was tried again, safer
    if len(failing) > 1 and failing == {2, 3}:
        assert seen["trouble"] == 1  # both tries failed: that round lost the bound
    assert dw.plan is not None and dw.bound is not None
    assert_sandwich(dw.bound, direct.objective, dw.objective)
    for row in dw.log:
        if row.get("lagrangian") is not None:
            assert row["lagrangian"] <= direct.objective + 1e-6 * max(1, abs(direct.objective))


def test_a_retry_that_succeeds_gives_the_same_result(monkeypatch):
    settings = DWSettings(interval=3, gap=1e-6, max_iterations=10,
                          solve=EXACT)
    clean = solve_dw(PROVIDER, settings)
    seen = break_interval(monkeypatch, 1, {1})
    again = solve_dw(PROVIDER, settings)
    assert seen["failures"] == 1 and seen["safer"] == 1 and seen["trouble"] == 0
    assert again.objective == pytest.approx(clean.objective, rel=1e-9, abs=1e-9)
    assert again.bound == pytest.approx(clean.bound, rel=1e-9, abs=1e-9)
