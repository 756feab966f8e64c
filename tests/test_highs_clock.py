"""A time limit gives each solve of a kept HiGHS instance its own seconds.

HiGHS measures ``time_limit`` against the instance's run clock, which keeps counting across
runs: a kept model solved after its earlier runs together passed the limit stopped at once
(the restricted master ended the LP phase early, kept interval MILPs stopped before their
cap). These tests make the earlier runs long and the next one short: each must still be
solved.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from decomp.matrix_form import MatrixForm
from decomp.matrix_highs import MatrixHighs
from decomp.solvers import PersistentSolver, SolveOptions


def _random_lp(n: int, m: int, seed: int = 0) -> MatrixForm:
    """min c x, A x >= 1, 0 <= x <= 10: random, large enough that a cold solve takes a
    measurable time while a warm re-solve after a small cost change takes a few dozen
    simplex iterations (some iterations: HiGHS checks its clock only while iterating)."""
    rng = np.random.default_rng(seed)
    A = sp.random(m, n, density=20 / n, random_state=seed, format="csr")
    A.data = rng.random(A.nnz) + 0.1
    return MatrixForm(A=A, row_lower=np.ones(m), row_upper=np.full(m, np.inf),
                      lb=np.zeros(n), ub=np.full(n, 10.0), integer=np.zeros(n, dtype=bool),
                      cost=rng.random(n) + 0.1, offset=0.0, columns=[], rows=[])


def test_a_kept_matrix_model_gets_its_own_seconds_after_long_runs():
    form = _random_lp(3000, 1500)
    m = MatrixHighs(form, SolveOptions(solver="highs"), relaxed=True)
    first = m.solve()
    assert first.status == "optimal"
    spent = m._h.getRunTime()
    assert spent >= first.seconds * 0.5
    rng = np.random.default_rng(1)
    for _ in range(3):
        # a small cost change: the warm re-solve needs far less than the clock has run
        m.set_objective(1e-2 * form.cost * rng.random(form.shape[1]))
        again = m.solve(time_limit=spent / 2)
        assert again.status == "optimal", again.termination
        assert again.seconds < spent / 2


def _pyomo_lp(n: int, m_rows: int, seed: int) -> pyo.ConcreteModel:
    """The same kind of LP as :func:`_random_lp`, in Pyomo, costs as mutable parameters."""
    rng = np.random.default_rng(seed)
    model = pyo.ConcreteModel()
    model.x = pyo.Var(range(n), bounds=(0, 10))
    model.c = pyo.Param(range(n), initialize={j: float(rng.random() + 0.1) for j in range(n)},
                        mutable=True)
    rows = [rng.choice(n, 20, replace=False) for _ in range(m_rows)]
    model.rows = pyo.Constraint(range(m_rows), rule=lambda mm, i: sum(
        (0.1 + float(a)) * mm.x[int(j)] for j, a in zip(rows[i], rng.random(20), strict=True))
        >= 1)
    model.obj = pyo.Objective(expr=sum(model.c[j] * model.x[j] for j in range(n)))
    return model


def test_a_kept_pyomo_highs_model_gets_its_own_seconds_after_long_runs():
    model = _pyomo_lp(3000, 1500, seed=2)
    rng = np.random.default_rng(4)
    s = PersistentSolver(model, SolveOptions(solver="highs"))
    first = s.solve()
    assert first.status == "optimal"
    spent = s._opt._solver_model.getRunTime()
    for _ in range(3):
        for j in model.c:
            model.c[j] = float(model.c[j].value) * (1 + 1e-2 * rng.random())
        again = s.solve(time_limit=spent / 2)
        assert again.status == "optimal", again


def test_no_limit_after_a_limited_solve_is_no_limit():
    # Pyomo sets HiGHS's time limit only when one is given: the last one stayed
    model = _pyomo_lp(3000, 1500, seed=3)
    s = PersistentSolver(model, SolveOptions(solver="highs"))
    cut = s.solve(time_limit=0.01)
    assert cut.status != "optimal"
    assert s.solve().status == "optimal"


def _hard_mip(n: int = 300, m: int = 60, seed: int = 0) -> MatrixForm:
    """A multi-dimensional knapsack that HiGHS does not close in seconds."""
    rng = np.random.default_rng(seed)
    A = rng.integers(1, 50, (m, n)).astype(float)
    return MatrixForm(A=sp.csr_matrix(A), row_lower=np.full(m, -np.inf),
                      row_upper=A.sum(axis=1) / 3, lb=np.zeros(n), ub=np.ones(n),
                      integer=np.ones(n, dtype=bool),
                      cost=-rng.integers(10, 100, n).astype(float), offset=0.0,
                      columns=[], rows=[])


def test_a_kept_mip_gets_its_limit_each_time_not_a_growing_one():
    """A MIP measures its limit from the start of its own run: a limit that added the
    instance's clock doubled with every repeated solve (seeding MILPs of 30 s took 92 s)."""
    m = MatrixHighs(_hard_mip(), SolveOptions(solver="highs", gap=0.0))
    for i in range(4):
        m.set_objective(np.full(m.n, -0.01 * i))
        res = m.solve(time_limit=0.4)
        assert res.status != "optimal"  # the limit, not the gap, ended it
        assert res.seconds < 0.4 * 1.5 + 0.3, (i, res.seconds)


def test_a_kept_pyomo_mip_gets_its_limit_each_time():
    form = _hard_mip(seed=1)
    model = pyo.ConcreteModel()
    n, rows = form.shape[1], form.A.toarray()
    model.x = pyo.Var(range(n), domain=pyo.Binary)
    model.w = pyo.Param(initialize=1.0, mutable=True)
    model.rows = pyo.Constraint(range(len(rows)), rule=lambda mm, i: sum(
        float(rows[i, j]) * mm.x[j] for j in range(n)) <= float(form.row_upper[i]))
    model.obj = pyo.Objective(expr=model.w * sum(float(form.cost[j]) * model.x[j]
                                                 for j in range(n)))
    s = PersistentSolver(model, SolveOptions(solver="highs", gap=0.0))
    for i in range(4):
        model.w = 1.0 + 0.01 * i
        res = s.solve(time_limit=0.4)
        assert res.status != "optimal"
        assert res.seconds < 0.4 * 1.5 + 0.5, (i, res.seconds)
