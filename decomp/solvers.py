"""Every solver back-end in one place: choice (HiGHS / Gurobi), options, normalised results.

This is the only module that touches HiGHS or Gurobi. Gurobi is used only where its licence
allows: the pip wheel's licence is size-limited (2,000 variables and 2,000 constraints), so
``auto`` picks Gurobi for a model only with a full licence or a model that fits the limit.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Literal

import pyomo.environ as pyo
from pyomo.contrib.solver.common.base import Availability
from pyomo.contrib.solver.common.results import SolutionStatus, TerminationCondition

from decomp.certificate import (
    GAP_MET,
    NO_PLAN,
    OPTIMAL,
    OPTIMAL_GAP,
    WITH_PLAN,
    PlanCheck,
    relative_gap,
)

__all__ = ["PersistentSolver", "SolveOptions", "SolveResult", "SolverError", "relative_gap"]

SolverName = Literal["auto", "highs", "gurobi"]
LIMITED_LICENCE_SIZE = 2000


class SolverError(RuntimeError):
    """A solver could not be used or failed; the message says what to do."""


@dataclass(frozen=True)
class SolveOptions:
    """How to solve one model: back-end, limits and tolerances."""

    solver: SolverName = "auto"
    time_limit: float | None = None
    gap: float = 1e-4
    threads: int | None = None
    verbose: bool = False
    #: primal, dual and integer feasibility tolerance of the matrix back-ends (None: the
    #: solver's defaults, 1e-7 / 1e-6)
    tolerance: float | None = None

    def __post_init__(self) -> None:
        if self.tolerance is not None and not 1e-9 <= self.tolerance <= 1e-5:
            raise ValueError(f"tolerance must be in [1e-9, 1e-5], not {self.tolerance!r}")
        if self.solver not in ("auto", "highs", "gurobi"):
            raise ValueError(f"solver must be auto, highs or gurobi, not {self.solver!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive, not {self.time_limit!r}")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap must be in [0, 1), not {self.gap!r}")


@dataclass(frozen=True)
class SolveResult:
    """Normalised outcome of one solve.

    ``status``: ``optimal`` (proven within :data:`~decomp.certificate.OPTIMAL_GAP`),
    ``gap met`` (the solver stopped at the requested, looser gap), ``feasible`` (stopped at
    a limit with a plan), ``infeasible`` or ``no plan`` (stopped at a limit without one).
    ``bound`` is a proven bound on the optimum (the objective itself for an optimal LP).
    """

    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    termination: str

    @property
    def has_solution(self) -> bool:
        """True when a plan was loaded into the model."""
        return self.status in WITH_PLAN


_PROBES: list = []


@functools.cache
def gurobi_availability() -> Availability:
    """What Gurobi licence this process can use (probed once; the probe holds the Env)."""
    try:
        from pyomo.contrib.solver.solvers.gurobi.gurobi_persistent import GurobiPersistent

        probe = GurobiPersistent()
        _PROBES.append(probe)
        return probe.available()
    except Exception:  # noqa: BLE001 - any import or licence failure means "not available"
        return Availability.NotFound


def model_size(model: pyo.ConcreteModel) -> tuple[int, int]:
    """(variables, constraints) of a Pyomo model, counting active constraint rows."""
    n_vars = sum(1 for _ in model.component_data_objects(pyo.Var, descend_into=True))
    n_cons = sum(
        1 for _ in model.component_data_objects(pyo.Constraint, active=True, descend_into=True)
    )
    return n_vars, n_cons


def gurobi_can_take(n_vars: int, n_cons: int) -> bool:
    """True if the Gurobi licence found here can solve a model of this size."""
    avail = gurobi_availability()
    if avail == Availability.FullLicense:
        return True
    if avail == Availability.LimitedLicense:
        return n_vars <= LIMITED_LICENCE_SIZE and n_cons <= LIMITED_LICENCE_SIZE
    return False


def _highs_only(requested: SolverName) -> bool:
    """True when the answer is HiGHS whatever the model's size."""
    return requested == "highs" or (requested == "auto" and gurobi_availability() not in (
        Availability.FullLicense, Availability.LimitedLicense))


def choose_solver(requested: SolverName, model: pyo.ConcreteModel) -> str:
    """Resolve ``auto``/``highs``/``gurobi`` to the back-end that will solve ``model``
    (its size is counted only when Gurobi is a candidate)."""
    if _highs_only(requested):
        return "highs"
    return choose_solver_for_size(requested, *model_size(model))


def choose_solver_for_size(requested: SolverName, n_vars: int, n_cons: int) -> str:
    """Resolve ``auto``/``highs``/``gurobi`` for a model of this many variables and rows."""
    if _highs_only(requested):
        return "highs"
    if gurobi_can_take(n_vars, n_cons):
        return "gurobi"
    if requested == "auto":
        return "highs"
    avail = gurobi_availability()
    if avail == Availability.LimitedLicense:
        raise SolverError(
            f"Gurobi's licence here is size-limited ({LIMITED_LICENCE_SIZE} variables and "
            f"{LIMITED_LICENCE_SIZE} constraints) and this model has {n_vars} variables and "
            f"{n_cons} constraints. Put a full licence in ~/gurobi.lic or point "
            "GRB_LICENSE_FILE at one, or use --solver auto (Gurobi where it fits, HiGHS "
            "otherwise) or --solver highs."
        )
    raise SolverError(
        f"Gurobi is not usable here (licence status: {avail.name}). Install a licence "
        "(~/gurobi.lic or GRB_LICENSE_FILE) or use --solver highs."
    )


_STATUS = {
    TerminationCondition.convergenceCriteriaSatisfied: "optimal",
    TerminationCondition.provenInfeasible: "infeasible",
    TerminationCondition.locallyInfeasible: "infeasible",
    TerminationCondition.infeasibleOrUnbounded: "infeasible",
}


def run_limit(h, seconds: float | None, mip: bool = False) -> float:
    """The ``time_limit`` option that gives ``h``'s next ``run()`` ``seconds`` (None: no
    limit). For an LP, HiGHS compares the option with its instance's run clock, which keeps
    counting across runs (ERGO-Code/HiGHS#1477; highspy has no ``zeroAllClocks``): an LP
    solved again and again (the restricted master, a kept relaxed interval) would stop at
    once as soon as its runs together passed the limit, so the clock's reading is added.
    A MIP (highspy 1.15) measures its limit from the start of its own run: adding the
    clock there doubled the limit of each repeated solve (``tests/test_highs_clock.py``)."""
    if seconds is None:
        return math.inf
    seconds = max(float(seconds), 0.01)
    return seconds if mip else float(h.getRunTime()) + seconds


class PersistentSolver:
    """One solver instance bound to one model; re-solves after parameter or bound changes.

    Non-optimal outcomes do not raise: a time limit returns the best plan and its bound.
    ``fast_updates`` switches off Pyomo's structural change checks (use when only mutable
    parameters and variable bounds change between solves).
    """

    def __init__(
        self, model: pyo.ConcreteModel, options: SolveOptions, fast_updates: bool = False
    ) -> None:
        self.model = model
        self.options = options
        self.name = choose_solver(options.solver, model)
        self._opt = self._make(self.name)
        cfg = self._opt.config
        cfg.load_solutions = False
        cfg.raise_exception_on_nonoptimal_result = False
        if fast_updates:
            au = cfg.auto_updates
            for key in (
                "check_for_new_or_removed_constraints",
                "check_for_new_or_removed_vars",
                "check_for_new_or_removed_params",
                "check_for_new_objective",
                "update_constraints",
                "update_named_expressions",
            ):
                if key in au:
                    setattr(au, key, False)
        self._opt.set_instance(model)
        #: whether the model has integer variables (HiGHS times a MIP's limit per run)
        self._mip = any(not v.is_continuous()
                        for v in model.component_data_objects(pyo.Var, active=True))

    @staticmethod
    def _make(name: str):
        if name == "highs":
            from pyomo.contrib.solver.solvers.highs import Highs

            return Highs(treat_fixed_vars_as_params=False)
        from pyomo.contrib.solver.solvers.gurobi.gurobi_persistent import GurobiPersistent

        return GurobiPersistent()

    def set_start(self, values) -> int:
        """A MIP start for the next solve: a ``ComponentMap`` variable -> value, complete
        or partial (HiGHS completes a partial start by solving for the variables not
        given). Returns how many values were passed; Gurobi gets them as ``Start``."""
        items = [(v, float(x)) for v, x in values.items() if x is not None]
        if not items:
            return 0
        if self.name == "highs":
            import numpy as np

            # push pending bound and parameter changes first: HiGHS drops a start when
            # its model changes afterwards, as Pyomo's own update at solve time would do
            self._opt.update()

            var_map = self._opt._pyomo_var_to_solver_var_map
            pairs = [(var_map[id(v)], x) for v, x in items if id(v) in var_map]
            if not pairs:
                return 0
            index = np.array([i for i, _ in pairs], dtype=np.int32)
            value = np.array([x for _, x in pairs], dtype=np.float64)
            self._opt._solver_model.setSolution(len(pairs), index, value)
            return len(pairs)
        for v, x in items:
            self._opt.set_var_attr(v, "Start", x)
        return len(items)

    def solve(self, time_limit: float | None = None, gap: float | None = None) -> SolveResult:
        """Solve the bound model, load the plan if there is one, and normalise the result."""
        o = self.options
        limit = time_limit if time_limit is not None else o.time_limit
        highs = getattr(self._opt, "_solver_model", None) if self.name == "highs" else None
        if highs is not None:
            # set here, even without a limit (Pyomo would leave a previous solve's limit
            # in place), and not again by Pyomo
            highs.setOptionValue("time_limit", run_limit(highs, limit, self._mip))
            limit = None
        kwargs = {
            "tee": o.verbose,
            "rel_gap": o.gap if gap is None else gap,
            "time_limit": limit,
        }
        if o.threads is not None:
            kwargs["threads"] = o.threads
        t0 = time.perf_counter()
        try:
            res = self._opt.solve(self.model, **kwargs)
        except Exception as exc:  # noqa: BLE001 - normalise solver failures into one error
            raise SolverError(f"{self.name} failed: {exc}") from exc
        seconds = time.perf_counter() - t0
        self._last = res
        tc = res.termination_condition
        has_plan = res.solution_status in (SolutionStatus.optimal, SolutionStatus.feasible)
        status = _STATUS.get(tc)
        if status is None:
            status = "feasible" if has_plan else NO_PLAN
        if status == OPTIMAL and not has_plan:
            status = NO_PLAN
        if has_plan and status in WITH_PLAN:
            res.solution_loader.load_vars()
        objective = res.incumbent_objective if has_plan else None
        bound = res.objective_bound
        if bound is not None and not math.isfinite(bound):
            bound = None
        if status == OPTIMAL and bound is None:
            bound = objective
        gap = relative_gap(objective, bound) if has_plan else None
        if status == OPTIMAL and gap is not None and gap > OPTIMAL_GAP:
            status = GAP_MET
        return SolveResult(
            status=status,
            objective=objective,
            bound=bound,
            gap=gap,
            seconds=seconds,
            solver=self.name,
            termination=tc.name,
        )

    def check_plan(self) -> PlanCheck:
        """The values now in the model's variables checked against the model as loaded
        (every row, each variable's bounds as the model now declares them, integrality)
        and the objective recomputed from them; HiGHS only (vectorised on its matrix)."""
        if self.name != "highs":
            raise SolverError("plan checks read the HiGHS model; this one is solved by "
                              f"{self.name}")
        import numpy as np

        opt = self._opt
        lp = opt._solver_model.getLp()
        n, m = lp.num_col_, lp.num_row_
        x = np.zeros(n)
        lb = np.full(n, -np.inf)
        ub = np.full(n, np.inf)
        integer = np.zeros(n, dtype=bool)
        variables = [None] * n
        for v_id, j in opt._pyomo_var_to_solver_var_map.items():
            v = opt._vars[v_id][0]
            x[j] = np.nan if v.value is None else v.value
            lo, up = v.bounds
            lb[j] = -np.inf if lo is None else lo
            ub[j] = np.inf if up is None else up
            integer[j] = v.is_integer()
            variables[j] = v
        a = lp.a_matrix_
        start = np.asarray(a.start_)
        index = np.asarray(a.index_)
        value = np.asarray(a.value_)
        if a.format_ == highspy_format("kColwise"):
            cols = np.repeat(np.arange(n), np.diff(start))
            ax = np.bincount(index, weights=value * x[cols], minlength=m)
        else:
            rows = np.repeat(np.arange(m), np.diff(start))
            ax = np.bincount(rows, weights=value * x[index], minlength=m)
        lo_r, up_r = np.asarray(lp.row_lower_), np.asarray(lp.row_upper_)
        row_v = np.maximum(np.maximum(lo_r - ax, ax - up_r), 0.0)
        row_v = row_v / np.maximum(1.0, np.minimum(np.abs(np.where(np.isfinite(lo_r), lo_r,
                                                                   up_r)), 1e12))
        col_v = np.maximum(np.maximum(lb - x, x - ub), 0.0)
        col_v = np.where(np.isnan(x), np.inf, col_v)
        int_v = np.where(integer, np.abs(x - np.round(x)), 0.0)
        worst = []
        cons = opt._solver_con_to_pyomo_con_map
        if m and row_v.max() > 0:
            i = int(row_v.argmax())
            worst.append(f"row {cons[i].name if i in cons else i} off by {row_v[i]:.3g}")
        if n and col_v.max() > 0:
            j = int(col_v.argmax())
            worst.append(f"{variables[j].name} = {x[j]!r} outside [{lb[j]}, {ub[j]}]")
        if n and int_v.max() > 0:
            j = int(int_v.argmax())
            worst.append(f"{variables[j].name} = {x[j]!r} not integral")
        objective = float(np.dot(np.asarray(lp.col_cost_), np.nan_to_num(x)) + lp.offset_)
        return PlanCheck(rows=m, columns=n,
                         row_violation=float(row_v.max()) if m else 0.0,
                         bound_violation=float(col_v.max()) if n else 0.0,
                         integrality_violation=float(int_v.max()) if n else 0.0,
                         objective=objective,
                         worst=tuple(worst))

    def duals(self, constraints: list) -> dict:
        """Duals of the given constraints after an LP solve (Pyomo's sign convention)."""
        return self._last.solution_loader.get_duals(constraints)


def highspy_format(name: str):
    """A highspy matrix-format enum member by name."""
    import highspy

    return getattr(highspy.MatrixFormat, name)


def solve(model: pyo.ConcreteModel, options: SolveOptions) -> SolveResult:
    """Solve a model once with a fresh solver instance."""
    return PersistentSolver(model, options).solve()
