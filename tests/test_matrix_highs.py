"""A HiGHS model held as state, its instance made per solve: the same answers as one kept
loaded, and no instance left between solves."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from decomp.matrix_form import compile_form
from decomp.matrix_highs import MatrixHighs
from decomp.solvers import SolveOptions, SolverError
from tests.toy_provider import ToyProvider


def _form():
    rng = np.random.default_rng(3)
    im = ToyProvider(rng.uniform(1, 6, 12), rng.uniform(0.1, 1.0, 12), units=2).build(0, 12)
    im.model.obj = pyo.Objective(expr=0)
    return compile_form(im.model, im.cost)


def _steps(m: MatrixHighs, form) -> list[tuple]:
    """A sequence of changes and solves; returns what each solve gave."""
    out = []
    rng = np.random.default_rng(0)
    n = form.shape[1]
    for step in range(4):
        m.relax(step % 2 == 0)
        m.set_objective(rng.normal(0, 0.05, n))
        if step == 2:
            j = np.flatnonzero(form.integer)[:3]
            m.set_bounds(j, np.zeros(3), np.zeros(3))
        m.set_abs_gap(1e-9)
        r = m.solve(gap=0.0)
        duals = None if m.row_duals is None else m.row_duals.copy()
        out.append((r.status, r.objective, r.bound, duals))
    return out


def test_an_instance_made_per_solve_gives_the_kept_instances_answers():
    form = _form()
    kept = MatrixHighs(form, SolveOptions(solver="highs"))
    lean = MatrixHighs(form, SolveOptions(solver="highs"), keep_loaded=False)
    assert not lean.loaded
    a, b = _steps(kept, form), _steps(lean, form)
    assert not lean.loaded and kept.loaded
    for (sa, oa, ba, da), (sb, ob, bb, db) in zip(a, b, strict=True):
        assert sa == sb == "optimal"
        assert oa == pytest.approx(ob, abs=1e-7) and ba == pytest.approx(bb, abs=1e-7)
        assert (da is None) == (db is None)
    # the relaxed solves (steps 0, 2) are LPs with duals; the MILPs (1, 3) are not
    assert a[0][3] is not None and a[1][3] is None
    # the bounds set at step 2 stay in the held state after the instance is dropped
    j = np.flatnonzero(form.integer)[:3]
    lean.relax(False)
    lean.solve(gap=0.0)
    assert np.allclose(lean.values[j], 0.0)


def test_an_option_refused_while_no_instance_is_loaded():
    lean = MatrixHighs(_form(), SolveOptions(solver="highs"), keep_loaded=False)
    with pytest.raises(SolverError, match="no_such_option"):
        lean.set_option("no_such_option", 1)
    lean.set_option("mip_lp_solver", "simplex")
    assert lean.solve(gap=0.0).status == "optimal"
