"""A guarded solve (a forked child killed past its time limit) gives the same result as a
solve in this process, ends near its limit when the solver does not, and reports a
child's failure and memory."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.guard import can_guard, deadline_after, guarded_solve
from decomp.matrix_form import MatrixForm
from decomp.matrix_highs import MatrixHighs
from decomp.memory import PeakMemory, resident_mb
from decomp.solvers import SolverError
from tests.test_fix_optimise import EXACT, myopic_plan, pieces
from tests.toy_provider import ToyProvider

pytestmark = pytest.mark.skipif(not can_guard(), reason="needs os.fork")


def _knapsacks(n: int, m: int, seed: int) -> MatrixForm:
    """max v x over integers 0..2 with m random capacity rows (as min -v x)."""
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=0.5, random_state=seed, format="csr")
    A.data = rng.random(A.nnz) + 0.1
    return MatrixForm(A=A, row_lower=np.full(m, -np.inf), row_upper=np.full(m, 2.0),
                      lb=np.zeros(n), ub=np.full(n, 2.0), integer=np.ones(n, dtype=bool),
                      cost=-rng.random(n), offset=0.5, columns=[], rows=[])


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_a_guarded_milp_gives_what_the_same_solve_here_gives(seed):
    form = _knapsacks(25, 8, seed)
    here = MatrixHighs(form, EXACT)
    expected = here.solve(time_limit=60, gap=0.0)
    there = MatrixHighs(form, EXACT)
    with PeakMemory() as mem:
        got = guarded_solve(there, 60, 0.0)
    assert got.status == expected.status == "optimal"
    assert got.objective == pytest.approx(expected.objective, abs=1e-9)
    assert got.bound == pytest.approx(expected.bound, abs=1e-9)
    np.testing.assert_allclose(there.values, here.values, atol=1e-9)
    assert (form.A @ there.values <= form.row_upper + 1e-7).all()
    np.testing.assert_allclose(there.values, np.round(there.values), atol=1e-6)
    # the child's memory is counted: at least this process's size at the fork
    assert mem.peak_mb >= 0.5 * resident_mb()


def test_a_guarded_lp_brings_its_duals_back():
    form = _knapsacks(25, 8, 3)
    here = MatrixHighs(form, EXACT, relaxed=True)
    here.solve(time_limit=60)
    there = MatrixHighs(form, EXACT, relaxed=True)
    got = guarded_solve(there, 60)
    assert got.status == "optimal"
    np.testing.assert_allclose(there.row_duals, here.row_duals, atol=1e-9)
    np.testing.assert_allclose(there.col_duals, here.col_duals, atol=1e-9)


class _Overrun:
    """A solver that ignores its time limit (as HiGHS does in parts of its root work)."""

    values = np.zeros(1)
    row_duals = col_duals = None

    def solve(self, time_limit=None, gap=None):
        time.sleep(120)
        raise AssertionError("not killed")


class _Broken:
    values = np.zeros(1)
    row_duals = col_duals = None

    def solve(self, time_limit=None, gap=None):
        raise ValueError("the model is broken")


def test_a_solve_past_its_limit_is_killed_and_reported_without_a_plan():
    t0 = time.perf_counter()
    res = guarded_solve(_Overrun(), 0.5)
    spent = time.perf_counter() - t0
    assert res.status == "no plan" and not res.has_solution
    assert "killed" in res.termination
    assert deadline_after(0.5) <= spent < 60  # killed, not waited for


class _Crash:
    values = np.zeros(1)
    row_duals = col_duals = None

    def solve(self, time_limit=None, gap=None):
        os._exit(3)  # as a child killed for memory would end: no result, no message


def test_a_child_that_dies_early_is_an_error_not_a_time_limit():
    with pytest.raises(SolverError, match="ended without a result .*exit code 3"):
        guarded_solve(_Crash(), 30)


def test_a_child_failure_is_raised_here_with_its_message():
    with pytest.raises(SolverError, match="ValueError: the model is broken"):
        guarded_solve(_Broken(), 5)


def test_without_a_limit_the_solve_runs_here():
    form = _knapsacks(10, 4, 1)
    res = guarded_solve(MatrixHighs(form, EXACT), None, 0.0)
    assert res.status == "optimal"


def test_a_guarded_boundary_repair_matches_the_repair_here():
    provider = ToyProvider(np.array([3.0, 0.0, 4.5, 1.0, 2.5, 0.0, 5.0, 1.5, 0.5, 3.5]),
                           np.array([1.0, 3.0, 0.5, 2.0, 4.0, 1.0, 0.3, 2.5, 1.5, 0.8]))
    cuts, solvers, linking, conditions, repairer = pieces(provider, 3)
    x, _ = myopic_plan(cuts, solvers, linking, conditions, repairer)
    values = x[repairer.bin_cols]
    free = repairer.window_mask([a for a, _ in cuts], 1)
    assert free.any()
    plans = []
    for guard in (False, True):
        repairer.guard = guard
        rep = repairer.repair_values(values, free, 1e-9, time_limit=60, window=1)
        assert rep.solve.status == "optimal"
        repairer.check(rep.solve.objective)
        plans.append((rep.solve.objective, repairer.x.copy()))
    assert plans[1][0] == pytest.approx(plans[0][0], abs=1e-9)
    np.testing.assert_allclose(plans[1][1], plans[0][1], atol=1e-9)
