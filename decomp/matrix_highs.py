"""A :class:`~decomp.matrix_form.MatrixForm` loaded into highspy directly: no Pyomo
persistent layer between the engine and HiGHS. Objective terms and column bounds change
in place (the interval pricing models); the horizon is loaded afresh for each solve."""

from __future__ import annotations

import math
import time

import highspy
import numpy as np

from decomp.certificate import FEASIBLE, GAP_MET, NO_PLAN, OPTIMAL, OPTIMAL_GAP, relative_gap
from decomp.matrix_form import MatrixForm
from decomp.solvers import SolveOptions, SolverError, SolveResult

_S = highspy.HighsModelStatus
_STOPPED = {_S.kTimeLimit, _S.kIterationLimit, _S.kSolutionLimit, _S.kInterrupt,
            _S.kObjectiveBound, _S.kObjectiveTarget}
_INFEASIBLE = {_S.kInfeasible, _S.kUnboundedOrInfeasible}


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.where(x > 0, highspy.kHighsInf, -highspy.kHighsInf))


class MatrixHighs:
    """One HiGHS instance holding one matrix model.

    ``set_objective(extra)``: objective = form cost + ``extra``; ``set_bounds``: new column
    bounds; ``relaxed=True`` at construction: every column continuous (the LP relaxation,
    each column in its own bounds, or an LP with the integers fixed by ``lb``/``ub``);
    ``set_start``: a MIP start; ``solve`` returns a :class:`SolveResult` with ``values``
    (and ``row_duals``, ``col_duals`` (reduced costs) after an LP).
    """

    name = "highs"

    def __init__(self, form: MatrixForm, options: SolveOptions,
                 lb: np.ndarray | None = None, ub: np.ndarray | None = None,
                 relaxed: bool = False) -> None:
        self.form = form
        self.options = options
        self.columns = form.columns
        h = highspy.Highs()
        h.setOptionValue("output_flag", bool(options.verbose))
        h.setOptionValue("threads", int(options.threads or 1))
        m, n = form.shape
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = form.cost
        lp.col_lower_ = _finite(form.lb if lb is None else lb)
        lp.col_upper_ = _finite(form.ub if ub is None else ub)
        lp.row_lower_ = _finite(form.row_lower)
        lp.row_upper_ = _finite(form.row_upper)
        lp.offset_ = form.offset
        start, index, value = form.csc()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = index
        lp.a_matrix_.value_ = value
        lp.a_matrix_.num_col_ = n
        lp.a_matrix_.num_row_ = m
        self._integer = np.flatnonzero(form.integer).astype(np.int32)
        if len(self._integer) and not relaxed:
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                               highspy.HighsVarType.kContinuous for i in form.integer]
        if h.passModel(lp) != highspy.HighsStatus.kOk:
            raise SolverError("HiGHS refused the matrix model")
        self.h = h
        self.n = n
        self.relaxed = relaxed
        self.values = np.zeros(n)
        self.row_duals: np.ndarray | None = None
        self.col_duals: np.ndarray | None = None

    def set_option(self, name: str, value) -> None:
        """A HiGHS option for the next solves (e.g. ``mip_lp_solver``); refused loudly."""
        if self.h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS refused option {name} = {value!r}")

    @property
    def is_mip(self) -> bool:
        """True while some column is integer (not relaxed)."""
        return len(self._integer) > 0 and not self.relaxed

    def relax(self, relaxed: bool) -> None:
        """Make every column continuous (``True``: the LP relaxation, each column in its
        own bounds) or give the integers back (``False``); the model stays loaded."""
        if relaxed == self.relaxed or not len(self._integer):
            self.relaxed = relaxed
            return
        kind = highspy.HighsVarType.kContinuous if relaxed else highspy.HighsVarType.kInteger
        self.h.changeColsIntegrality(len(self._integer), self._integer,
                                     np.array([kind] * len(self._integer)))
        self.relaxed = relaxed

    def set_objective(self, extra: np.ndarray) -> None:
        """Objective = form cost + ``extra`` (one coefficient per column)."""
        cost = self.form.cost + np.asarray(extra, dtype=float)
        self.h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), cost)

    def set_bounds(self, columns: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        """New bounds of some columns (+-inf: unbounded)."""
        columns = np.asarray(columns, dtype=np.int32)
        if len(columns):
            self.h.changeColsBounds(len(columns), columns,
                                    _finite(np.asarray(lb, dtype=float)),
                                    _finite(np.asarray(ub, dtype=float)))

    def update(self, form: MatrixForm) -> None:
        """Take ``form`` (same structure, :meth:`MatrixForm.same_structure`) as changes:
        costs, bounds, row sides and the coefficients that differ; the model stays loaded.
        Column bounds go back to the form's (a relaxed model stays relaxed)."""
        old = self.form
        n = self.n
        cols = np.arange(n, dtype=np.int32)
        self.h.changeColsCost(n, cols, form.cost)
        self.h.changeColsBounds(n, cols, _finite(form.lb), _finite(form.ub))
        m = form.shape[0]
        if m:
            self.h.changeRowsBounds(m, np.arange(m, dtype=np.int32), _finite(form.row_lower),
                                    _finite(form.row_upper))
        self.h.changeObjectiveOffset(form.offset)
        a, b = old.A, form.A
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        for i in np.flatnonzero(a.data != b.data):
            self.h.changeCoeff(int(rows[i]), int(a.indices[i]), float(b.data[i]))
        self.form = form
        self.columns = form.columns

    def set_abs_gap(self, value: float | None) -> None:
        """Stop a MIP solve once its absolute gap is at most ``value`` (None: HiGHS's
        default, 1e-6), whatever its relative gap."""
        self.set_option("mip_abs_gap", 1e-6 if value is None else float(value))

    def set_start(self, x: np.ndarray) -> None:
        """A complete MIP start for the next solve (call after every model change)."""
        idx = np.arange(self.n, dtype=np.int32)
        self.h.setSolution(self.n, idx, np.asarray(x, dtype=np.float64))

    def solve(self, time_limit: float | None = None, gap: float | None = None
              ) -> SolveResult:
        """Solve; on a plan ``values`` holds the column values."""
        h = self.h
        h.setOptionValue("time_limit", math.inf if time_limit is None
                         else max(float(time_limit), 0.01))
        h.setOptionValue("mip_rel_gap", self.options.gap if gap is None else float(gap))
        t0 = time.perf_counter()
        h.run()
        seconds = time.perf_counter() - t0
        code = h.getModelStatus()
        info = h.getInfo()
        has_plan = info.primal_solution_status == 2 and code not in _INFEASIBLE
        objective = float(info.objective_function_value) if has_plan else None
        bound = None
        if self.is_mip:
            b = float(info.mip_dual_bound)
            bound = b if math.isfinite(b) and code not in _INFEASIBLE else None
        elif code == _S.kOptimal:
            bound = objective
        if code in _INFEASIBLE:
            status = "infeasible"
        elif code == _S.kOptimal and has_plan:
            status = OPTIMAL
        elif code in _STOPPED or code == _S.kOptimal:
            status = FEASIBLE if has_plan else NO_PLAN
        else:
            raise SolverError(f"HiGHS ended with {h.modelStatusToString(code)}")
        gap_value = relative_gap(objective, bound) if has_plan and bound is not None else None
        if status == OPTIMAL and gap_value is not None and gap_value > OPTIMAL_GAP:
            status = GAP_MET
        self.row_duals = self.col_duals = None
        if has_plan:
            sol = h.getSolution()
            self.values = np.asarray(sol.col_value, dtype=float)
            if not self.is_mip and code == _S.kOptimal:
                self.row_duals = np.asarray(sol.row_dual, dtype=float)
                self.col_duals = np.asarray(sol.col_dual, dtype=float)
        return SolveResult(status=status, objective=objective, bound=bound, gap=gap_value,
                           seconds=seconds, solver="highs",
                           termination=h.modelStatusToString(code))
