"""A small MILP loaded into gurobipy directly from its matrices (:mod:`decomp.matrix_form`),
for the interval pricing models: loading is several times faster than Pyomo's persistent
interface and each re-solve changes only objective coefficients and bounds."""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from decomp.certificate import FEASIBLE, GAP_MET, NO_PLAN, OPTIMAL, OPTIMAL_GAP, relative_gap
from decomp.matrix_form import MatrixForm
from decomp.solvers import SolveOptions, SolverError, SolveResult


@functools.cache
def _env():
    """One quiet Gurobi environment per process (starting one checks the licence)."""
    import gurobipy as gp

    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    return env


def _bound(value, default: float) -> float:
    return default if value is None else float(value)


class MatrixGurobi:
    """A :class:`~decomp.matrix_form.MatrixForm` loaded into a gurobipy model;
    ``set_objective`` adds linear terms on columns, ``set_bounds`` changes column bounds,
    ``solve`` returns a :class:`SolveResult` and the column values."""

    name = "gurobi"

    def __init__(self, form: MatrixForm, options: SolveOptions) -> None:
        import gurobipy as gp

        self.options = options
        self.form = form
        self.columns = form.columns
        n = len(self.columns)
        m = gp.Model(env=_env())
        m.Params.Threads = options.threads or 1
        if options.tolerance is not None:
            m.Params.FeasibilityTol = m.Params.OptimalityTol = options.tolerance
            m.Params.IntFeasTol = options.tolerance
        vtype = np.where(form.integer, gp.GRB.INTEGER, gp.GRB.CONTINUOUS)
        self.x = m.addMVar(n, lb=form.lb, ub=form.ub, vtype=vtype)
        if form.A.shape[0]:
            # Gurobi takes one sense per row: ranges never come out of the compiler
            lo, up = form.row_lower, form.row_upper
            sense = np.where(lo == up, "=", np.where(np.isfinite(up), "<", ">"))
            rhs = np.where(np.isfinite(up), up, lo)
            self.constrs = m.addMConstr(form.A, self.x, sense, rhs)
        self.cost = form.cost
        self.offset = form.offset
        self.x.Obj = self.cost
        m.ObjCon = self.offset
        m.ModelSense = gp.GRB.MINIMIZE
        m.update()
        self.model = m
        self.values = np.zeros(n)
        self.col_duals: np.ndarray | None = None
        self._vtype = vtype
        self.relaxed = False

    def update(self, form: MatrixForm) -> None:
        """Take ``form`` (same structure, :meth:`MatrixForm.same_structure`) as changes:
        costs, bounds, right-hand sides and the coefficients that differ; the model stays
        loaded. Column bounds go back to the form's."""
        old = self.form
        self.x.LB = form.lb
        self.x.UB = form.ub
        self.cost = form.cost
        self.offset = form.offset
        self.x.Obj = self.cost
        self.model.ObjCon = self.offset
        if form.A.shape[0]:
            lo, up = form.row_lower, form.row_upper
            old_sense = np.where(old.row_lower == old.row_upper, 0,
                                 np.where(np.isfinite(old.row_upper), 1, -1))
            sense = np.where(lo == up, 0, np.where(np.isfinite(up), 1, -1))
            if not np.array_equal(sense, old_sense):
                raise SolverError("a row changed its sense: load the form afresh")
            self.constrs.RHS = np.where(np.isfinite(up), up, lo)
            a, b = old.A, form.A
            changed = np.flatnonzero(a.data != b.data)
            if len(changed):
                rows = np.repeat(np.arange(a.shape[0]), np.diff(a.indptr))
                constrs, xs = self.constrs.tolist(), self.x.tolist()
                for i in changed:
                    self.model.chgCoeff(constrs[rows[i]], xs[a.indices[i]], float(b.data[i]))
        self.model.update()
        self.form = form
        self.columns = form.columns

    def relax(self, relaxed: bool) -> None:
        """Make every column continuous (``True``: the LP relaxation, each column in its
        own bounds) or give the integers back (``False``); the model stays loaded."""
        import gurobipy as gp

        if relaxed != self.relaxed:
            self.x.VType = (np.full(len(self._vtype), gp.GRB.CONTINUOUS) if relaxed
                            else self._vtype)
            self.model.update()
            self.relaxed = relaxed

    def detach(self, form: MatrixForm) -> None:
        """Hold ``form``, the same matrices whose model was dropped (labels only)."""
        if form.shape != self.form.shape:
            raise ValueError(f"detach: form of shape {form.shape}, model has {self.form.shape}")
        self.form = form
        self.columns = form.columns

    def set_objective(self, extra: np.ndarray) -> None:
        """Objective = cost + ``extra`` (one coefficient per column)."""
        self.x.Obj = self.cost + extra

    def set_bounds(self, columns: list[int], lb: list, ub: list) -> None:
        """New bounds of some columns (None: unbounded)."""
        for j, lo, up in zip(columns, lb, ub, strict=True):
            self.x[j].LB = _bound(lo, -math.inf)
            self.x[j].UB = _bound(up, math.inf)

    def set_start(self, x: np.ndarray) -> None:
        """A complete MIP start for the next solve."""
        self.x.Start = np.asarray(x, dtype=float)

    def safer(self) -> None:
        """For a solve after one that ended without a verdict: the model's solution
        state dropped, numerics handled with the most care, another seed."""
        m = self.model
        m.reset()
        m.Params.NumericFocus = 3
        m.Params.Seed = m.Params.Seed + 1

    def set_abs_gap(self, value: float | None) -> None:
        """Stop a MIP solve once its absolute gap is at most ``value`` (None: Gurobi's
        default, 1e-10), whatever its relative gap."""
        self.model.Params.MIPGapAbs = 1e-10 if value is None else float(value)

    def solve(self, time_limit: float | None = None, gap: float | None = None
              ) -> SolveResult:
        """Solve; on a plan ``self.values`` holds the column values."""
        import gurobipy as gp

        m = self.model
        m.Params.TimeLimit = gp.GRB.INFINITY if time_limit is None else max(time_limit, 0.0)
        m.Params.MIPGap = self.options.gap if gap is None else gap
        t0 = time.perf_counter()
        m.optimize()
        seconds = time.perf_counter() - t0
        code = m.Status
        has_plan = m.SolCount > 0
        objective = float(m.ObjVal) if has_plan else None
        if m.IsMIP:
            bound = float(m.ObjBound) if code != gp.GRB.INFEASIBLE else None
        else:
            bound = objective if code == gp.GRB.OPTIMAL else None
        if bound is not None and not math.isfinite(bound):
            bound = None
        if code in (gp.GRB.INFEASIBLE, gp.GRB.INF_OR_UNBD):
            status = "infeasible"
        elif code == gp.GRB.OPTIMAL and has_plan:
            status = OPTIMAL
        elif has_plan:
            status = FEASIBLE
        else:
            status = NO_PLAN
        gap_value = relative_gap(objective, bound) if has_plan and bound is not None else None
        if status == OPTIMAL and gap_value is not None and gap_value > OPTIMAL_GAP:
            status = GAP_MET
        self.col_duals = None
        if has_plan:
            self.values = np.asarray(self.x.X, dtype=float)
            if not m.IsMIP and code == gp.GRB.OPTIMAL:
                self.col_duals = np.asarray(self.x.RC, dtype=float)
        return SolveResult(status=status, objective=objective, bound=bound, gap=gap_value,
                           seconds=seconds, solver="gurobi", termination=str(code))
