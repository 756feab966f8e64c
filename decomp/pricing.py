"""Pricing: one MILP per interval, kept loaded as matrices; prices are objective terms."""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from decomp.columns import Column
from decomp.matrix_form import compile_form
from decomp.matrix_gurobi import MatrixGurobi
from decomp.matrix_highs import MatrixHighs
from decomp.provider import IntervalModel
from decomp.solvers import SolveOptions, SolverError, SolveResult, choose_solver

#: status of an interval whose solver ended twice without a verdict: no bound, no column
TROUBLE = "solver trouble"


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
    """An interval model compiled once to matrices and kept loaded in its solver; only
    prices and state bounds change.

    Objective: ``cost + p_entry . entry + p_exit . exit``, so a new price vector is an
    objective update, not a rebuild. The model goes to gurobipy where Gurobi takes it
    (:class:`~decomp.matrix_gurobi.MatrixGurobi`) and to highspy otherwise
    (:class:`~decomp.matrix_highs.MatrixHighs`); bound changes are pushed before each
    solve. ``form`` is kept: the engine glues the intervals' forms into the horizon.
    :meth:`drop_model` lets the Pyomo model go once compiled (``im`` is None, the form
    keeps labels): plans are then read through the model's ``series`` only, and the
    interval cannot take another candidate's values (:meth:`refresh`).
    """

    def __init__(self, k: int, im: IntervalModel, options: SolveOptions) -> None:
        self.k = k
        self.im: IntervalModel | None = im
        self.start, self.stop = im.start, im.stop
        self.entry_names = list(im.entry)
        self.exit_names = list(im.exit)
        self._saved: dict[int, tuple[float, float]] = {}
        self._dirty: dict[int, tuple[float, float]] = {}
        self._pushed: dict[int, tuple[float, float]] = {}
        self.abs_gap: float | None = None
        self._load(compile_form(im.model, im.cost), choose_solver(options.solver, im.model),
                   options)

    def drop_model(self) -> None:
        """Let the Pyomo model go (the form keeps labels, plans are read through the
        model's series); the interval can no longer take new values (:meth:`refresh`)."""
        if self.im is None:
            return
        self.form = self.form.detached()
        self.solver.detach(self.form)
        self.im = None

    def _load(self, form, backend: str, options: SolveOptions) -> None:
        """Take ``form`` as the interval's matrices and load it into a new solver."""
        im = self.im
        self.form = form
        index = form.index()
        self.entry_cols = _columns(index, [im.entry[s] for s in self.entry_names])
        self.exit_cols = _columns(index, [im.exit[s] for s in self.exit_names])
        self.bin_cols = _columns(index, [v for t in sorted(im.binaries) for v in im.binaries[t]])
        #: the hour of each integer variable, in ``bin_cols`` order
        self.bin_hours = np.array([t for t in sorted(im.binaries) for _ in im.binaries[t]],
                                  dtype=int)
        #: per series name: the column of each step (-1: none) and its factor
        self.series = {name: (np.array([-1 if v is None else index.get(id(v), -1)
                                        for v in variables], dtype=int), factor)
                       for name, (variables, factor) in im.series.items()}
        # HiGHS instances are made for each solve and dropped after it (the model's state
        # and last basis stay here): hundreds of loaded intervals would hold GBs
        self.solver = (MatrixGurobi(form, options) if backend == "gurobi"
                       else MatrixHighs(form, options, keep_loaded=False))
        if self.abs_gap is not None:
            self.solver.set_abs_gap(self.abs_gap)

    def set_abs_gap(self, value: float | None) -> None:
        """An absolute MIP gap for this interval's solves (None: the solver's default).
        The proven bound stays valid; a priced objective near 0 no longer asks for a
        relative precision the horizon's certificate does not need."""
        self.abs_gap = value
        self.solver.set_abs_gap(value)

    def refresh(self) -> bool:
        """Recompile the interval's model after its parameters changed (a kept model given a
        new candidate's values) and bring the loaded solver up to date: as changes when the
        structure is the same (True), loaded afresh otherwise (False). Fixings, relaxation
        and prices from before are gone: bounds and objective are the new form's."""
        if self.im is None:
            raise SolverError(f"interval {self.k}: its model was dropped after compiling "
                              "(drop_model); it cannot take new values")
        form = compile_form(self.im.model, self.im.cost)
        self._saved.clear()
        self._dirty.clear()
        self._pushed.clear()
        if form.same_structure(self.form):
            self.solver.update(form)
            self.form = form
            self.solver.relax(False)
            self.set_abs_gap(None)
            return True
        self.abs_gap = None
        self._load(form, self.solver.name, self.solver.options)
        return False

    @property
    def n_binaries(self) -> int:
        """Number of integer variables listed by the provider."""
        return len(self.bin_cols)

    def set_prices(self, p_entry: np.ndarray, p_exit: np.ndarray) -> None:
        """Set the objective prices on entry and exit states."""
        extra = np.zeros(self.form.shape[1])
        np.add.at(extra, self.entry_cols, np.asarray(p_entry, dtype=float))
        np.add.at(extra, self.exit_cols, np.asarray(p_exit, dtype=float))
        self.solver.set_objective(extra)

    def _current(self, j: int) -> tuple[float, float]:
        if j in self._dirty:
            return self._dirty[j]
        if j in self._pushed:
            return self._pushed[j]
        return float(self.form.lb[j]), float(self.form.ub[j])

    def _set_bounds(self, j: int, lb: float, ub: float) -> None:
        if j not in self._saved:
            self._saved[j] = (float(self.form.lb[j]), float(self.form.ub[j]))
        self._dirty[j] = (lb, ub)

    def _push_bounds(self) -> None:
        """Bounds changed since the last solve, into the solver's model."""
        if self._dirty:
            cols = np.array(list(self._dirty), dtype=int)
            lo = np.array([b[0] for b in self._dirty.values()])
            up = np.array([b[1] for b in self._dirty.values()])
            self.solver.set_bounds(cols, lo, up)
            self._pushed.update(self._dirty)
        self._dirty.clear()

    def relax(self, relaxed: bool) -> None:
        """Solve the interval's LP relaxation from now on (``True``) or its MILP again
        (``False``); the model stays loaded, so LP pricing rounds are warm."""
        self.solver.relax(relaxed)

    @property
    def relaxed(self) -> bool:
        """True while the interval solves its LP relaxation."""
        return self.solver.relaxed

    def clip(self, j: int, value: float) -> float:
        """A value made valid for column j (:meth:`MatrixForm.clip`; integers are not
        rounded while the interval is relaxed)."""
        return float(self.form.clip(np.array([value]), np.array([j]),
                                    integral=not self.relaxed)[0])

    def fix_entry(self, values: dict[str, float]) -> None:
        """Hold entry states at given values (rolling horizon)."""
        for name, value in values.items():
            j = int(self.entry_cols[self.entry_names.index(name)])
            value = self.clip(j, value)
            self._set_bounds(j, value, value)

    def bound_exit_below(self, values: dict[str, float]) -> None:
        """Require exit states to be at least these values."""
        lb = np.full(len(self.exit_names), -np.inf)
        for name, value in values.items():
            lb[self.exit_names.index(name)] = value
        self.set_exit_bounds(lb, np.full(len(self.exit_names), np.inf))

    def set_exit_bounds(self, lb: np.ndarray, ub: np.ndarray) -> None:
        """Bound the exit quantities (``lb == ub`` holds them; +-inf keeps a side as it
        is), within their own bounds."""
        for j, lo, up in zip(self.exit_cols, lb, ub, strict=True):
            if not (np.isfinite(lo) or np.isfinite(up)):
                continue
            j = int(j)
            cur_lo, cur_up = self._current(j)
            lo = cur_lo if not np.isfinite(lo) else self.clip(j, lo)
            up = cur_up if not np.isfinite(up) else self.clip(j, up)
            self._set_bounds(j, lo, up)

    def release(self) -> None:
        """Restore every bound changed by the fix and bound methods."""
        for j, b in self._saved.items():
            self._dirty[j] = b
        self._saved.clear()

    def fix_integral(self, values: np.ndarray) -> None:
        """Fix the integer variables whose guide value is integral (within 1e-6, and
        inside their own bounds); leave the rest (fractional or NaN) free."""
        for j, val in zip(self.bin_cols, values, strict=True):
            if np.isfinite(val) and abs(val - round(val)) < 1e-6:
                value = self.clip(int(j), val)
                self._set_bounds(int(j), value, value)

    def release_binaries(self) -> None:
        """Undo :meth:`fix_integral` (state bounds stay as they are)."""
        for j in self.bin_cols:
            j = int(j)
            if j in self._saved:
                self._dirty[j] = self._saved.pop(j)

    def entry_lower_bound(self, name: str) -> float:
        """Lower bound of an entry state (0 when unbounded)."""
        lb = self.form.lb[self.entry_cols[self.entry_names.index(name)]]
        return float(lb) if np.isfinite(lb) else 0.0

    def entry_reduced_costs(self) -> np.ndarray | None:
        """After an LP solve: the reduced costs of the entry states (with the entry held
        fixed, how much the interval's cost rises per unit more of each state); None
        after a MILP or when the solver gave none."""
        rc = getattr(self.solver, "col_duals", None)
        return None if rc is None else rc[self.entry_cols].copy()

    def series_values(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """The model's series for the interval's column values ``x`` (factors applied)."""
        out = {}
        for name, (cols, factor) in self.series.items():
            out[name] = np.where(cols >= 0, x[np.maximum(cols, 0)], 0.0) * factor
        return out

    def column_of(self, x: np.ndarray, origin: str = "pricing") -> Column:
        """The interval's column for its column values ``x``."""
        binaries = x[self.bin_cols] if self.relaxed else np.round(x[self.bin_cols])
        return Column(k=self.k, cost=self.form.objective(x), entry=x[self.entry_cols].copy(),
                      exit=x[self.exit_cols].copy(), binaries=binaries,
                      origin="lp" if self.relaxed else origin)

    def solve(self, gap: float | None = None, time_limit: float | None = None,
              allow_infeasible: bool = False) -> PricingResult:
        """Solve with the current prices; the bound is the solver's proven dual bound.

        A solve that ends without a verdict (HiGHS's "Unknown", numerical trouble, no
        bound without a time limit) is tried once more from a fresh load with safer
        settings; if that fails too, the result has no bound (``-inf``, status
        ``TROUBLE``): the round loses this interval's bound, the run goes on."""
        t0 = time.perf_counter()
        self._push_bounds()
        res = self._attempt(time_limit, gap)
        if res is None:
            self.solver.safer()
            left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
            res = self._attempt(None if left is None else max(left, 0.01), gap)
        seconds = time.perf_counter() - t0
        if res is None:
            return PricingResult(self.k, None, None, -np.inf, TROUBLE, seconds)
        if res.status == "infeasible" and allow_infeasible:
            return PricingResult(self.k, None, None, -np.inf, res.status, seconds)
        if res.status == "infeasible":
            raise SolverError(f"interval {self.k} ({self.start}..{self.stop}) infeasible")
        if res.bound is None:
            # stopped by its time limit before it proved any bound
            return PricingResult(self.k, None, None, -np.inf, res.status, seconds)
        column = self.column_of(self.solver.values) if res.has_solution else None
        return PricingResult(self.k, column, res.objective, float(res.bound), res.status, seconds)

    def _attempt(self, time_limit: float | None, gap: float | None) -> SolveResult | None:
        """One solve; None when it ended without a verdict (see :meth:`solve`)."""
        try:
            res = self.solver.solve(time_limit=time_limit, gap=gap)
        except SolverError:
            return None
        if res.status == "infeasible":
            return res
        if res.bound is None and (time_limit is None or res.status == "optimal"):
            return None
        return res


def _columns(index: dict[int, int], variables: list) -> np.ndarray:
    """Matrix columns of Pyomo variables (each must appear in a constraint or the cost)."""
    out = []
    for v in variables:
        try:
            out.append(index[id(v)])
        except KeyError:
            raise SolverError(f"{v.name} is in no constraint of the interval model") from None
    return np.array(out, dtype=int)


def price_all(solvers: list[IntervalSolver], prices: list[tuple[np.ndarray, np.ndarray]],
              gap: float, deadline: float | None = None, fill: float | None = None,
              interval_limit: float | None = None) -> list[PricingResult]:
    """Price each interval in turn, each solve capped by the time left before ``deadline``
    (a ``time.perf_counter()`` instant) and by ``interval_limit`` seconds. The round stops
    at the deadline: then fewer results than intervals come back, or one without a proven
    bound (``-inf``), and the round gives no Lagrangian bound, unless ``fill`` (an instant,
    ``inf`` for no limit): then each interval left without a proven bound gets its LP
    relaxation's value at the same prices, solved before that instant (:func:`lp_fill`).
    An interval stopped by ``interval_limit`` counts the bound its solver proved by then
    (a valid bound, only weaker) and the round goes on."""
    out = []
    for s, p in zip(solvers, prices, strict=True):
        r = _price_one(s, p, gap, deadline, interval_limit)
        if r is None:
            break
        out.append(r)
        if _stopped(r, deadline):
            break
    return out if fill is None else lp_fill(solvers, prices, out, fill)


def _stopped(r: PricingResult, deadline: float | None) -> bool:
    """Whether a result ends its round: no proven bound once the deadline has passed (an
    interval stopped by its own limit without a bound leaves the rest of the round)."""
    return (not np.isfinite(r.bound) and deadline is not None
            and time.perf_counter() >= deadline)


def _price_one(s: IntervalSolver, prices: tuple[np.ndarray, np.ndarray], gap: float,
               deadline: float | None,
               interval_limit: float | None = None) -> PricingResult | None:
    """One interval at its prices, capped by the time left and by ``interval_limit``
    (None: no time left)."""
    left = interval_limit
    if deadline is not None:
        left = deadline - time.perf_counter()
        if left <= 0:
            return None
        left = max(left, 0.01) if interval_limit is None else min(left, interval_limit)
    s.set_prices(*prices)
    return s.solve(gap=gap, time_limit=left)


def lp_fill(solvers: list[IntervalSolver], prices: list[tuple[np.ndarray, np.ndarray]],
            results: list[PricingResult], by: float = math.inf) -> list[PricingResult]:
    """A result for every interval: those without a proven bound (not reached before the
    deadline, or stopped before their solver proved one) get the value of their LP
    relaxation at the same prices, which bounds their MILP from below, so the round's
    Lagrangian value stays a valid bound. No column comes from these (``status`` "lp").
    A round cut by its deadline that proved nothing (the deadline had passed before it
    began) is returned as it is: filling it would be an LP per interval after the
    deadline for a bound no MILP of the round improved. A
    complete round whose every interval was stopped by its own cap is filled. The LPs
    share the time until ``by`` (a ``time.perf_counter()`` instant): a fill that runs out
    returns ``results`` as they were (the round gives no bound)."""
    done = {r.k: r for r in results if np.isfinite(r.bound)}
    if not done and len(results) < len(solvers):
        return results
    out = []
    for i, s in enumerate(solvers):
        if s.k in done:
            out.append(done[s.k])
            continue
        left = by - time.perf_counter()
        if left <= 0:
            return results
        was = s.relaxed
        s.relax(True)
        try:
            s.set_prices(*prices[i])
            r = s.solve(gap=0.0, time_limit=None if math.isinf(left) else left)
        finally:
            s.relax(was)
        out.append(PricingResult(s.k, None, r.objective, r.bound,
                                 TROUBLE if r.status == TROUBLE else "lp", r.seconds))
    return out


class ThreadPricer:
    """Prices the intervals of this process on ``workers`` threads (the solvers release
    Python's lock while they solve): parallel pricing without a second copy of any model.
    Each thread takes the next interval not yet taken, so the split follows the time.
    Intervals loaded in Gurobi are solved one at a time: their models share one Gurobi
    environment, and an environment is not thread-safe (Ray actors price those in
    parallel)."""

    def __init__(self, solvers: list[IntervalSolver], workers: int) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        self.solvers = solvers
        self.workers = workers

    def price(self, prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              deadline: float | None = None, fill: float | None = None,
              interval_limit: float | None = None) -> list[PricingResult]:
        """Solve every interval with its (entry, exit) prices; see :func:`price_all`."""
        n = len(self.solvers)
        out: list[PricingResult | None] = [None] * n
        lock = threading.Lock()
        shared_env = threading.Lock()
        taken = [0]
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                with lock:
                    i = taken[0]
                    taken[0] += 1
                if i >= n:
                    return
                s = self.solvers[i]
                with shared_env if s.solver.name == "gurobi" else nullcontext():
                    r = _price_one(s, prices[i], gap, deadline, interval_limit)
                if r is not None:
                    out[i] = r
                if r is None or _stopped(r, deadline):
                    stop.set()
                    return

        with ThreadPoolExecutor(self.workers) as ex:
            for f in [ex.submit(work) for _ in range(min(self.workers, n))]:
                f.result()  # a solver error in a thread is raised here
        results = [r for r in out if r is not None]
        return results if fill is None else lp_fill(self.solvers, prices, results, fill)

    def set_abs_gap(self, value: float | None) -> None:
        """An absolute MIP gap for every interval (:meth:`IntervalSolver.set_abs_gap`)."""
        for sv in self.solvers:
            sv.set_abs_gap(value)

    def close(self) -> None:
        """Nothing to release (the threads end with each round)."""


class SerialPricer:
    """Prices every interval in this process, one after the other."""

    def __init__(self, solvers: list[IntervalSolver]) -> None:
        self.solvers = solvers

    def price(self, prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              deadline: float | None = None, fill: float | None = None,
              interval_limit: float | None = None) -> list[PricingResult]:
        """Solve every interval with its (entry, exit) prices; see :func:`price_all`."""
        return price_all(self.solvers, prices, gap, deadline, fill, interval_limit)

    def set_abs_gap(self, value: float | None) -> None:
        """An absolute MIP gap for every interval (:meth:`IntervalSolver.set_abs_gap`)."""
        for sv in self.solvers:
            sv.set_abs_gap(value)

    def close(self) -> None:
        """Nothing to release."""
