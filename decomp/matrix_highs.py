"""A :class:`~decomp.matrix_form.MatrixForm` loaded into highspy directly: no Pyomo
persistent layer between the engine and HiGHS. Objective terms and column bounds change
in place (the interval pricing models); the horizon is loaded afresh for each solve."""

from __future__ import annotations

import functools
import math
import threading
import time

import highspy
import numpy as np

from decomp.certificate import FEASIBLE, GAP_MET, NO_PLAN, OPTIMAL, OPTIMAL_GAP, relative_gap
from decomp.matrix_form import MatrixForm
from decomp.solvers import SolveOptions, SolverError, SolveResult, run_limit

_S = highspy.HighsModelStatus
_STOPPED = {_S.kTimeLimit, _S.kIterationLimit, _S.kSolutionLimit, _S.kInterrupt,
            _S.kObjectiveBound, _S.kObjectiveTarget}
_INFEASIBLE = {_S.kInfeasible, _S.kUnboundedOrInfeasible}


def _finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(x), x, np.where(x > 0, highspy.kHighsInf, -highspy.kHighsInf))


_CHECK_LOCK = threading.Lock()


@functools.cache
def _checker() -> highspy.Highs:
    """An empty instance that checks options for models not loaded at the time."""
    return highspy.Highs()


def _set(h: highspy.Highs, name: str, value) -> None:
    """One HiGHS option, refused loudly."""
    if h.setOptionValue(name, value) != highspy.HighsStatus.kOk:
        raise SolverError(f"HiGHS refused option {name} = {value!r}")


class MatrixHighs:
    """One matrix model solved by HiGHS.

    ``set_objective(extra)``: objective = form cost + ``extra``; ``set_bounds``: new column
    bounds; ``relaxed=True`` at construction: every column continuous (the LP relaxation,
    each column in its own bounds, or an LP with the integers fixed by ``lb``/``ub``);
    ``set_start``: a MIP start; ``solve`` returns a :class:`SolveResult` with ``values``
    (and ``row_duals``, ``col_duals`` (reduced costs) after an LP).

    The model's state (costs, bounds, integrality, options, the last LP basis and the
    last solution, a MIP's start as on a kept instance) is held here; the HiGHS instance
    is made from it when a solve needs one. With
    ``keep_loaded=False`` the instance is dropped after each solve: HiGHS keeps several MB
    of simplex and MIP data per instance after its first solve, so hundreds of interval
    models would otherwise hold GBs between their solves, while loading a day's model
    again takes about 2 ms and the kept basis warm-starts its next LP.
    """

    name = "highs"

    def __init__(self, form: MatrixForm, options: SolveOptions,
                 lb: np.ndarray | None = None, ub: np.ndarray | None = None,
                 relaxed: bool = False, keep_loaded: bool = True) -> None:
        self.form = form
        self.options = options
        self.columns = form.columns
        self.n = form.shape[1]
        self.keep_loaded = keep_loaded
        self._cost = np.array(form.cost, dtype=float)
        self._lb = np.array(form.lb if lb is None else lb, dtype=float)
        self._ub = np.array(form.ub if ub is None else ub, dtype=float)
        self._integer = np.flatnonzero(form.integer).astype(np.int32)
        self.relaxed = relaxed
        self._options: dict[str, object] = {
            "output_flag": bool(options.verbose), "threads": int(options.threads or 1)}
        if options.tolerance is not None:
            self._options |= {"primal_feasibility_tolerance": options.tolerance,
                              "dual_feasibility_tolerance": options.tolerance,
                              "mip_feasibility_tolerance": options.tolerance}
        self._start: np.ndarray | None = None
        self._last: np.ndarray | None = None
        self._basis = None
        self._h: highspy.Highs | None = None
        self.values = np.zeros(self.n)
        self.row_duals: np.ndarray | None = None
        self.col_duals: np.ndarray | None = None
        if keep_loaded:
            self._instance()

    def _instance(self) -> highspy.Highs:
        """The loaded HiGHS instance, made from the held state if there is none."""
        if self._h is not None:
            return self._h
        form = self.form
        h = highspy.Highs()
        for name, value in self._options.items():
            _set(h, name, value)
        m, n = form.shape
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = self._cost
        lp.col_lower_ = _finite(self._lb)
        lp.col_upper_ = _finite(self._ub)
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
        if self.is_mip:
            lp.integrality_ = [highspy.HighsVarType.kInteger if i else
                               highspy.HighsVarType.kContinuous for i in form.integer]
        if h.passModel(lp) != highspy.HighsStatus.kOk:
            raise SolverError("HiGHS refused the matrix model")
        if self._basis is not None and not self.is_mip:
            h.setBasis(self._basis)
        # a MIP starts from the last solution while no bound changed since, as on an
        # instance kept loaded (HiGHS takes the solution it holds as a start), unless a
        # start was given
        start = self._start if self._start is not None else (
            self._last if self.is_mip else None)
        if start is not None:
            h.setSolution(n, np.arange(n, dtype=np.int32), start)
        self._h = h
        return h

    def detach(self, form: MatrixForm) -> None:
        """Hold ``form``, the same matrices whose model was dropped (labels only)."""
        if form.shape != self.form.shape:
            raise ValueError(f"detach: form of shape {form.shape}, model has {self.form.shape}")
        self.form = form
        self.columns = form.columns

    @property
    def loaded(self) -> bool:
        """True while a HiGHS instance holds the model."""
        return self._h is not None

    def set_option(self, name: str, value) -> None:
        """A HiGHS option for the next solves (e.g. ``mip_lp_solver``); refused loudly."""
        if self._h is not None:
            _set(self._h, name, value)
        else:
            with _CHECK_LOCK:
                _set(_checker(), name, value)
        self._options[name] = value

    @property
    def is_mip(self) -> bool:
        """True while some column is integer (not relaxed)."""
        return len(self._integer) > 0 and not self.relaxed

    def relax(self, relaxed: bool) -> None:
        """Make every column continuous (``True``: the LP relaxation, each column in its
        own bounds) or give the integers back (``False``)."""
        if relaxed == self.relaxed or not len(self._integer):
            self.relaxed = relaxed
            return
        if self._h is not None:
            kind = (highspy.HighsVarType.kContinuous if relaxed
                    else highspy.HighsVarType.kInteger)
            self._h.changeColsIntegrality(len(self._integer), self._integer,
                                          np.array([kind] * len(self._integer)))
        self.relaxed = relaxed

    def set_objective(self, extra: np.ndarray) -> None:
        """Objective = form cost + ``extra`` (one coefficient per column)."""
        self._cost = self.form.cost + np.asarray(extra, dtype=float)
        if self._h is not None:
            self._h.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), self._cost)

    def set_bounds(self, columns: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        """New bounds of some columns (+-inf: unbounded)."""
        columns = np.asarray(columns, dtype=np.int32)
        if len(columns):
            lb = np.asarray(lb, dtype=float)
            ub = np.asarray(ub, dtype=float)
            self._lb[columns] = lb
            self._ub[columns] = ub
            # a start that may no longer fit the bounds costs a MILP time to repair (a
            # rolling pass twice as slow); one after a cost change still fits
            self._last = None
            if self._h is not None:
                self._h.changeColsBounds(len(columns), columns, _finite(lb), _finite(ub))

    def update(self, form: MatrixForm) -> None:
        """Take ``form`` (same structure, :meth:`MatrixForm.same_structure`) as changes:
        costs, bounds, row sides and the coefficients that differ. Column bounds go back
        to the form's (a relaxed model stays relaxed)."""
        old = self.form
        self.form = form
        self.columns = form.columns
        self._cost = np.array(form.cost, dtype=float)
        self._lb = np.array(form.lb, dtype=float)
        self._ub = np.array(form.ub, dtype=float)
        self._start = self._last = None
        h = self._h
        if h is None:
            return
        n = self.n
        cols = np.arange(n, dtype=np.int32)
        h.changeColsCost(n, cols, self._cost)
        h.changeColsBounds(n, cols, _finite(self._lb), _finite(self._ub))
        m = form.shape[0]
        if m:
            h.changeRowsBounds(m, np.arange(m, dtype=np.int32), _finite(form.row_lower),
                               _finite(form.row_upper))
        h.changeObjectiveOffset(form.offset)
        a, b = old.A, form.A
        rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
        for i in np.flatnonzero(a.data != b.data):
            h.changeCoeff(int(rows[i]), int(a.indices[i]), float(b.data[i]))

    def safer(self) -> None:
        """For a solve after one that ended without a verdict: a fresh instance loaded
        from the held state (no basis, start or presolve state carried over), presolve
        on, the dual simplex, another random seed."""
        self._h = None
        self._basis = self._last = self._start = None
        self._options |= {"presolve": "on", "simplex_strategy": 1,
                          "random_seed": int(self._options.get("random_seed", 0)) + 1}

    def set_abs_gap(self, value: float | None) -> None:
        """Stop a MIP solve once its absolute gap is at most ``value`` (None: HiGHS's
        default, 1e-6), whatever its relative gap."""
        self.set_option("mip_abs_gap", 1e-6 if value is None else float(value))

    def set_start(self, x: np.ndarray) -> None:
        """A complete MIP start for the next solve (call after every model change)."""
        self._start = np.asarray(x, dtype=np.float64).copy()
        if self._h is not None:
            self._h.setSolution(self.n, np.arange(self.n, dtype=np.int32), self._start)

    def solve(self, time_limit: float | None = None, gap: float | None = None
              ) -> SolveResult:
        """Solve; on a plan ``values`` holds the column values."""
        h = self._instance()
        h.setOptionValue("time_limit", run_limit(h, time_limit, self.is_mip))
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
        if not self.keep_loaded and not self.is_mip and code == _S.kOptimal:
            self._basis = h.getBasis()
        self._start = None
        if not self.keep_loaded:
            self._last = self.values if has_plan else self._last
            self._h = None
        return SolveResult(status=status, objective=objective, bound=bound, gap=gap_value,
                           seconds=seconds, solver="highs",
                           termination=h.modelStatusToString(code))
