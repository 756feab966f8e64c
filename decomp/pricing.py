"""Pricing: one persistent MILP per interval whose objective prices are mutable parameters."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from decomp.columns import Column
from decomp.matrix_gurobi import MatrixGurobi
from decomp.provider import IntervalModel
from decomp.solvers import PersistentSolver, SolveOptions, SolverError, choose_solver


@dataclass(frozen=True)
class PricingResult:
    """A priced interval: priced objective of the column found and its proven bound."""

    k: int
    column: Column | None
    objective: float | None
    bound: float
    status: str
    seconds: float


class IntervalSolver:
    """An interval model kept loaded in its solver; only prices and state bounds change.

    Objective: ``cost + p_entry . entry + p_exit . exit``, so a new price vector is an
    objective update, not a rebuild. Where Gurobi takes the model it is compiled once to
    matrices and loaded into gurobipy directly (:class:`~decomp.matrix_gurobi.MatrixGurobi`:
    prices are objective coefficients, bound changes are pushed before each solve);
    otherwise the prices are mutable Pyomo parameters of a persistent HiGHS model.
    """

    def __init__(self, k: int, im: IntervalModel, options: SolveOptions) -> None:
        self.k = k
        self.im = im
        m = im.model
        self.entry_names = list(im.entry)
        self.exit_names = list(im.exit)
        self._entry = [im.entry[s] for s in self.entry_names]
        self._exit = [im.exit[s] for s in self.exit_names]
        self.bin_vars = [v for t in sorted(im.binaries) for v in im.binaries[t]]
        self._saved: dict[int, tuple] = {}
        self._dirty: dict[int, object] = {}
        self.matrix = None
        if choose_solver(options.solver, m) == "gurobi":
            self.matrix = MatrixGurobi(m, im.cost, options)
            self.solver = self.matrix
            self._entry_cols = np.array([self.matrix.column(v) for v in self._entry], dtype=int)
            self._exit_cols = np.array([self.matrix.column(v) for v in self._exit], dtype=int)
            self._bin_cols = np.array([self.matrix.column(v) for v in self.bin_vars], dtype=int)
            return
        m.p_entry = pyo.Param(range(len(self._entry)), mutable=True, initialize=0.0)
        m.p_exit = pyo.Param(range(len(self._exit)), mutable=True, initialize=0.0)
        m.objective = pyo.Objective(
            expr=im.cost
            + sum(m.p_entry[i] * v for i, v in enumerate(self._entry))
            + sum(m.p_exit[i] * v for i, v in enumerate(self._exit)),
            sense=pyo.minimize,
        )
        self.solver = PersistentSolver(m, options, fast_updates=True)

    def set_prices(self, p_entry: np.ndarray, p_exit: np.ndarray) -> None:
        """Set the objective prices on entry and exit states."""
        if self.matrix is not None:
            extra = np.zeros(len(self.matrix.columns))
            np.add.at(extra, self._entry_cols, np.asarray(p_entry, dtype=float))
            np.add.at(extra, self._exit_cols, np.asarray(p_exit, dtype=float))
            self.matrix.set_objective(extra)
            return
        m = self.im.model
        for i, p in enumerate(p_entry):
            m.p_entry[i] = float(p)
        for i, p in enumerate(p_exit):
            m.p_exit[i] = float(p)

    def _set_bounds(self, var, lb, ub) -> None:
        if id(var) not in self._saved:
            self._saved[id(var)] = (var, var.lb, var.ub)
        var.setlb(lb)
        var.setub(ub)
        self._dirty[id(var)] = var

    def _push_bounds(self) -> None:
        """Bounds changed on the Pyomo variables since the last solve, into the matrix
        model (the persistent HiGHS model reads them itself)."""
        if self.matrix is not None and self._dirty:
            vs = list(self._dirty.values())
            self.matrix.set_bounds([self.matrix.column(v) for v in vs],
                                   [v.lb for v in vs], [v.ub for v in vs])
        self._dirty.clear()

    def fix_entry(self, values: dict[str, float]) -> None:
        """Hold entry states at given values (rolling horizon)."""
        for name, value in values.items():
            var = self.im.entry[name]
            value = _clip(var, value)
            self._set_bounds(var, value, value)

    def bound_exit_below(self, values: dict[str, float]) -> None:
        """Require exit states to be at least these values."""
        for name, value in values.items():
            var = self.im.exit[name]
            self._set_bounds(var, _clip(var, value), var.ub)

    def release(self) -> None:
        """Restore every bound changed by :meth:`fix_entry` / :meth:`bound_exit_below`."""
        for var, lb, ub in self._saved.values():
            var.setlb(lb)
            var.setub(ub)
            self._dirty[id(var)] = var
        self._saved.clear()

    def fix_integral(self, values: np.ndarray) -> None:
        """Fix the integer variables whose guide value is integral (within 1e-6, and
        inside their own bounds); leave the rest free."""
        for v, val in zip(self.bin_vars, values, strict=True):
            if abs(val - round(val)) < 1e-6:
                value = _clip(v, val)
                self._set_bounds(v, value, value)

    def release_binaries(self) -> None:
        """Undo :meth:`fix_integral` (state bounds stay as they are)."""
        for v in self.bin_vars:
            if id(v) in self._saved:
                var, lb, ub = self._saved.pop(id(v))
                var.setlb(lb)
                var.setub(ub)
                self._dirty[id(var)] = var

    def entry_lower_bound(self, name: str) -> float:
        """Lower bound of an entry state (0 when unbounded)."""
        lb = self.im.entry[name].lb
        return 0.0 if lb is None else float(lb)

    def solve(self, gap: float | None = None, time_limit: float | None = None,
              allow_infeasible: bool = False) -> PricingResult:
        """Solve with the current prices; the bound is the solver's proven dual bound."""
        t0 = time.perf_counter()
        self._push_bounds()
        res = self.solver.solve(time_limit=time_limit, gap=gap)
        seconds = time.perf_counter() - t0
        if res.status == "infeasible" and allow_infeasible:
            return PricingResult(self.k, None, None, -np.inf, res.status, seconds)
        if res.status == "infeasible":
            raise SolverError(f"interval {self.k} ({self.im.start}..{self.im.stop}) infeasible")
        if res.bound is None and time_limit is not None and res.status != "optimal":
            # stopped by its time limit before it proved any bound
            return PricingResult(self.k, None, None, -np.inf, res.status, seconds)
        if res.bound is None:
            raise SolverError(f"interval {self.k}: solver returned no bound ({res.termination})")
        column = None
        if res.has_solution and self.matrix is not None:
            x = self.matrix.values
            column = Column(
                k=self.k,
                cost=float(self.matrix.cost @ x + self.matrix.offset),
                entry=x[self._entry_cols].copy(),
                exit=x[self._exit_cols].copy(),
                binaries=np.round(x[self._bin_cols]),
            )
        elif res.has_solution:
            column = Column(
                k=self.k,
                cost=float(pyo.value(self.im.cost)),
                entry=np.array([pyo.value(v) for v in self._entry], dtype=float),
                exit=np.array([pyo.value(v) for v in self._exit], dtype=float),
                binaries=np.round(np.array([pyo.value(v) for v in self.bin_vars], dtype=float)),
            )
        return PricingResult(self.k, column, res.objective, float(res.bound), res.status, seconds)


def _clip(var, value: float) -> float:
    """A value made valid for the variable: inside its bounds, integral if it is integer
    (a state carried over from another solve may be 0.9999999 or -1e-16)."""
    if var.is_integer():
        value = round(value)
    if var.lb is not None:
        value = max(value, var.lb)
    if var.ub is not None:
        value = min(value, var.ub)
    return float(value)


def price_all(solvers: list[IntervalSolver], prices: list[tuple[np.ndarray, np.ndarray]],
              gap: float, deadline: float | None = None) -> list[PricingResult]:
    """Price each interval in turn, each solve capped by the time left before ``deadline``
    (a ``time.perf_counter()`` instant). The round stops at the deadline: then fewer
    results than intervals come back, or one without a proven bound (``-inf``), and the
    round gives no Lagrangian bound."""
    out = []
    for s, (pe, px) in zip(solvers, prices, strict=True):
        left = None
        if deadline is not None:
            left = deadline - time.perf_counter()
            if left <= 0:
                break
        s.set_prices(pe, px)
        r = s.solve(gap=gap, time_limit=None if left is None else max(left, 0.01))
        out.append(r)
        if not np.isfinite(r.bound):
            break
    return out


class SerialPricer:
    """Prices every interval in this process, one after the other."""

    def __init__(self, solvers: list[IntervalSolver]) -> None:
        self.solvers = solvers

    def price(self, prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              deadline: float | None = None) -> list[PricingResult]:
        """Solve every interval with its (entry, exit) prices; see :func:`price_all`."""
        return price_all(self.solvers, prices, gap, deadline)

    def close(self) -> None:
        """Nothing to release."""
