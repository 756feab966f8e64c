"""Interval models kept across problems of one structure (decomp.workspace)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.dw import DWSettings, solve_dw
from decomp.matrix_form import compile_form
from decomp.methods import solve_direct
from decomp.solvers import SolveOptions, gurobi_can_take
from decomp.workspace import Workspace
from tests.test_dw import EXACT, assert_sandwich
from tests.toy_provider import ToyProvider

GUROBI = SolveOptions(solver="gurobi", gap=1e-9)


def _toy(hours: int, rng: np.random.Generator, **kw) -> ToyProvider:
    return ToyProvider(rng.uniform(0, 5, hours), rng.uniform(0.5, 5, hours),
                       store=float(rng.uniform(1, 8)), size=float(rng.uniform(3, 6)), **kw)


def _forms_agree(solver, fresh) -> None:
    form = solver.form
    assert form.A.shape == fresh.A.shape
    assert abs(form.A - fresh.A).max() == 0.0
    for a, b in [(form.lb, fresh.lb), (form.ub, fresh.ub), (form.cost, fresh.cost),
                 (form.row_lower, fresh.row_lower), (form.row_upper, fresh.row_upper)]:
        assert np.array_equal(a, b)


@pytest.mark.parametrize("solve", [EXACT, GUROBI], ids=["highs", "gurobi"])
def test_kept_models_take_the_next_problems_numbers(solve):
    if solve.solver == "gurobi" and not gurobi_can_take(100, 100):
        pytest.skip("no Gurobi licence here")
    rng = np.random.default_rng(3)
    first, second = _toy(12, rng), _toy(12, rng)
    ws = Workspace()
    s = DWSettings(interval=4, solve=solve)
    solve_dw(first, s, workspace=ws)
    kept = ws.intervals(second, s.interval, SolveOptions(solver=solve.solver, gap=s.pricing_gap,
                                                         threads=1))
    assert kept.reused and ws.stats.reused == 1 and ws.stats.reloaded == 0
    fresh = [second.build(a, b) for a, b in kept.cuts]
    for sv, im in zip(kept.solvers, fresh, strict=True):
        _forms_agree(sv, compile_form(im.model, im.cost))
        assert sv.solver.name == solve.solver
    # the loaded solvers hold the new numbers: each interval's MILP as a fresh load solves it
    for sv, im in zip(kept.solvers, fresh, strict=True):
        sv.set_prices(np.zeros(len(sv.entry_names)), np.zeros(len(sv.exit_names)))
        got = sv.solve(gap=0.0).objective
        sv_fresh = type(sv)(sv.k, im, sv.solver.options)
        sv_fresh.set_prices(np.zeros(len(sv.entry_names)), np.zeros(len(sv.exit_names)))
        assert got == pytest.approx(sv_fresh.solve(gap=0.0).objective, rel=1e-9, abs=1e-9)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), hours=st.integers(6, 14), interval=st.integers(2, 5),
       first_prices=st.sampled_from(["lp", "master"]))
def test_a_problem_on_kept_models_is_solved_as_on_fresh_ones(seed, hours, interval,
                                                             first_prices):
    rng = np.random.default_rng(seed)
    problems = [_toy(hours, rng, units=2, maintenance=(1,)) for _ in range(3)]
    ws = Workspace()
    s = DWSettings(interval=interval, solve=EXACT, first_prices=first_prices)
    for p in problems:
        kept = solve_dw(p, s, workspace=ws)
        fresh = solve_dw(p, s)
        opt = solve_direct(p, EXACT).objective
        assert_sandwich(kept.bound, opt, kept.objective)
        assert kept.objective == pytest.approx(fresh.objective, rel=1e-6, abs=1e-6)
    assert ws.stats.built == 1 and ws.stats.reused == 2
    assert kept.extra["models_kept"]


def test_another_structure_is_built_afresh():
    rng = np.random.default_rng(5)
    ws = Workspace()
    s = DWSettings(interval=3, solve=EXACT)
    solve_dw(_toy(9, rng), s, workspace=ws)
    other = _toy(9, rng, units=2)
    r = solve_dw(other, s, workspace=ws)
    assert ws.stats.built == 2 and ws.stats.reused == 0
    assert not r.extra["models_kept"]
    assert_sandwich(r.bound, solve_direct(other, EXACT).objective, r.objective)
    # another cut of the horizon is another set of models too
    solve_dw(other, DWSettings(interval=4, solve=EXACT), workspace=ws)
    assert ws.stats.built == 3


def test_a_coefficient_that_vanishes_reloads_the_interval():
    """A unit size of 0 drops the units' coefficient from their rows of the compiled form:
    the pattern changed, so those intervals are loaded afresh instead of patched."""
    rng = np.random.default_rng(11)
    first = _toy(8, rng)
    second = _toy(8, rng)
    second.size = 0.0
    ws = Workspace()
    s = DWSettings(interval=4, solve=EXACT)
    solve_dw(first, s, workspace=ws)
    r = solve_dw(second, s, workspace=ws)
    assert ws.stats.reused == 1 and ws.stats.reloaded == 2
    assert_sandwich(r.bound, solve_direct(second, EXACT).objective, r.objective)


def test_a_provider_without_structure_is_never_kept():
    class Plain:
        def __init__(self, toy):
            self.toy = toy
            self.horizon = toy.horizon

        def build(self, start, stop, relax=False):
            return self.toy.build(start, stop, relax)

        def boundary_conditions(self):
            return self.toy.boundary_conditions()

    rng = np.random.default_rng(2)
    ws = Workspace()
    s = DWSettings(interval=3, solve=EXACT)
    for _ in range(2):
        solve_dw(Plain(_toy(6, rng)), s, workspace=ws)
    assert ws.stats.built == 2 and ws.stats.reused == 0
