"""A small MILP loaded into gurobipy directly from its matrices (Pyomo's standard-form
compiler), for the interval pricing models: loading is several times faster than Pyomo's
persistent interface and each re-solve changes only objective coefficients and bounds."""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from decomp.certificate import FEASIBLE, GAP_MET, NO_PLAN, OPTIMAL, OPTIMAL_GAP, relative_gap
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
    """``cost`` over a Pyomo model's active constraints, compiled once into a gurobipy
    model; ``set_objective`` adds linear terms on columns, ``set_bounds`` changes column
    bounds, ``solve`` returns a :class:`SolveResult` and the column values."""

    name = "gurobi"

    def __init__(self, model: pyo.ConcreteModel, cost, options: SolveOptions) -> None:
        import gurobipy as gp

        self.options = options
        for obj in model.component_data_objects(pyo.Objective, active=True):
            obj.deactivate()
        model._matrix_cost = pyo.Objective(expr=cost, sense=pyo.minimize)
        try:
            form = LinearStandardFormCompiler().write(model, mixed_form=True,
                                                      set_sense=None)
        finally:
            model.del_component("_matrix_cost")
        if form.eliminated_vars:
            raise SolverError("the matrix backend needs every variable as it is declared")
        self.columns = list(form.columns)
        self.index = {id(v): j for j, v in enumerate(self.columns)}
        n = len(self.columns)
        lb = np.array([_bound(v.lb, -math.inf) for v in self.columns])
        ub = np.array([_bound(v.ub, math.inf) for v in self.columns])
        integer = np.array([v.is_integer() for v in self.columns], dtype=bool)
        m = gp.Model(env=_env())
        m.Params.Threads = options.threads or 1
        vtype = np.where(integer, gp.GRB.INTEGER, gp.GRB.CONTINUOUS)
        self.x = m.addMVar(n, lb=lb, ub=ub, vtype=vtype)
        sense = np.array(["=", "<", ">"])[[{0: 0, 1: 1, -1: 2}[r.bound_type]
                                           for r in form.rows]]
        if len(form.rows):
            m.addMConstr(form.A.tocsr(), self.x, sense, np.asarray(form.rhs, dtype=float))
        self.cost = np.asarray(form.c.toarray()).ravel() if n else np.zeros(0)
        self.offset = float(form.c_offset[0]) if len(form.c_offset) else 0.0
        self.x.Obj = self.cost
        m.ObjCon = self.offset
        m.ModelSense = gp.GRB.MINIMIZE
        m.update()
        self.model = m
        self.values = np.zeros(n)

    def column(self, var) -> int:
        """Column of a Pyomo variable (it must appear in a constraint or the cost)."""
        try:
            return self.index[id(var)]
        except KeyError:
            raise SolverError(f"{var.name} is in no constraint of the matrix model") from None

    def set_objective(self, extra: np.ndarray) -> None:
        """Objective = cost + ``extra`` (one coefficient per column)."""
        self.x.Obj = self.cost + extra

    def set_bounds(self, columns: list[int], lb: list, ub: list) -> None:
        """New bounds of some columns (None: unbounded)."""
        for j, lo, up in zip(columns, lb, ub, strict=True):
            self.x[j].LB = _bound(lo, -math.inf)
            self.x[j].UB = _bound(up, math.inf)

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
        if has_plan:
            self.values = np.asarray(self.x.X, dtype=float)
        return SolveResult(status=status, objective=objective, bound=bound, gap=gap_value,
                           seconds=seconds, solver="gurobi", termination=str(code))
