"""The whole horizon as one matrix model, for the LP relaxation and the final-decision
repairs: the chosen columns' binaries fixed except within a window of hours around each
interval boundary, continuous variables all free. A repair's plan is feasible for the
original MILP, hence an upper bound.

The horizon is glued from the interval models' compiled forms (the pricing models'
matrices side by side, joined by the linking rows) and loaded into highspy directly: the
year is never built a second time in Pyomo.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

from decomp.certificate import PlanCheck
from decomp.columns import Column
from decomp.guard import guarded_solve
from decomp.linking import Linking
from decomp.matrix_form import Labels, MatrixForm, label_name
from decomp.matrix_highs import MatrixHighs
from decomp.memory import release_free_memory
from decomp.pricing import IntervalSolver
from decomp.provider import IntervalModel, SeriesPlan
from decomp.solvers import SolveOptions, SolveResult


@dataclass(frozen=True)
class RepairResult:
    """Outcome of one repair: the solve, the window used and the binaries left free."""

    solve: SolveResult
    window: int
    free_binaries: int
    seconds: float


@dataclass(frozen=True)
class LPRelaxation:
    """Whole-horizon LP relaxation: optimum, duals on the linking rows, binary values."""

    bound: float
    y: np.ndarray
    binaries: np.ndarray


#: glued horizons at least this large return freed heap before each horizon solve
RELEASE_NONZEROS = 200_000


def glue(solvers: list[IntervalSolver], linking: Linking) -> tuple[MatrixForm, np.ndarray]:
    """The intervals' forms side by side plus the linking rows, and each interval's first
    column in the glued form (the last entry is the number of columns)."""
    forms = [s.form for s in solvers]
    offsets = np.cumsum([0] + [f.shape[1] for f in forms])
    blocks = sp.block_diag([f.A for f in forms], format="csr")
    rows, cols, vals = [], [], []
    for k, s in enumerate(solvers):
        entry, exit_ = linking.terms(k)
        for r, i, a in entry:
            rows.append(r)
            cols.append(offsets[k] + s.entry_cols[i])
            vals.append(a)
        for r, i, a in exit_:
            rows.append(r)
            cols.append(offsets[k] + s.exit_cols[i])
            vals.append(a)
    n = int(offsets[-1])
    links = sp.csr_matrix((vals, (rows, cols)), shape=(linking.size, n))
    form = MatrixForm(
        A=sp.vstack([blocks, links], format="csr"),
        row_lower=np.concatenate([f.row_lower for f in forms] + [linking.rhs]),
        row_upper=np.concatenate([f.row_upper for f in forms]
                                 + [np.where(linking.inequality, np.inf, linking.rhs)]),
        lb=np.concatenate([f.lb for f in forms]),
        ub=np.concatenate([f.ub for f in forms]),
        integer=np.concatenate([f.integer for f in forms]),
        cost=np.concatenate([f.cost for f in forms]),
        offset=sum(f.offset for f in forms),
        columns=_joined([f.columns for f in forms]),
        rows=_joined([f.rows for f in forms] + [[f"link {r.kind} {r.k} {r.state}"
                                                 for r in linking.rows]]),
    )
    return form, offsets


def _joined(parts: list) -> list | Labels:
    """The forms' columns (or rows) in order: the objects while every model is kept,
    else labels (a model dropped after compiling leaves only its labels)."""
    if any(isinstance(p, Labels) for p in parts):
        return Labels.concat(parts)
    return [item for p in parts for item in p]


#: HiGHS's dual simplex pricing for the horizon LPs (``simplex_dual_edge_weight_strategy``).
#: Devex is the default here: on a one-node year's LP relaxation it took 7-22 s where
#: HiGHS's own choice (dual steepest edge) took 25-63 s (docs/engine.md).
EDGE_WEIGHTS: dict[str, int] = {"choose": -1, "dantzig": 0, "devex": 1, "steepest": 2}


class Repairer:
    """Holds the horizon MILP (intervals glued as matrices) loaded in HiGHS; a repair only
    moves bounds, and its plan splits back into one column per interval."""

    def __init__(self, solvers: list[IntervalSolver], linking: Linking,
                 options: SolveOptions, lp_edge_weights: str = "devex",
                 block_nonzeros: int | None = None, guard: bool = True) -> None:
        if block_nonzeros is not None and block_nonzeros < 1:
            raise ValueError(f"block_nonzeros must be >= 1, not {block_nonzeros}")
        if lp_edge_weights not in EDGE_WEIGHTS:
            raise ValueError(f"lp_edge_weights must be one of {', '.join(EDGE_WEIGHTS)}, not "
                             f"{lp_edge_weights!r}")
        self.lp_edge_weights = lp_edge_weights
        self.solvers = solvers
        self.linking = linking
        self.form, self.offsets = glue(solvers, linking)
        self.link_rows = np.arange(self.form.shape[0] - linking.size, self.form.shape[0])
        self.bin_cols = np.concatenate([self.offsets[k] + s.bin_cols
                                        for k, s in enumerate(solvers)]).astype(int)
        continuous = self.bin_cols[~self.form.integer[self.bin_cols]]
        if len(continuous):
            raise ValueError(f"IntervalModel.binaries must list integer variables only; "
                             f"{len(continuous)} are continuous, e.g. "
                             f"{self.form.columns[continuous[0]].name}")
        # each integer variable's own bounds, as its provider declared them: restored when
        # it is freed, never replaced by [0, 1]
        self.lower = self.form.lb[self.bin_cols]
        self.upper = self.form.ub[self.bin_cols]
        self.var_hour = np.concatenate([s.bin_hours for s in solvers]).astype(int)
        self.options = options
        # the integer columns' bounds for the next solve (repairs fix them)
        self.lb = self.form.lb.copy()
        self.ub = self.form.ub.copy()
        self.x: np.ndarray | None = None
        # the glued matrix split into listed-integer and other columns, made at the first
        # LP with every integer fixed (_solve_fixed)
        self._continuous: np.ndarray | None = None
        self._A_fixed: sp.csr_matrix | None = None
        self._A_free: sp.csr_matrix | None = None
        #: seconds of the last horizon LP with every integer fixed (what a step that ends
        #: with one must leave itself)
        self.fixed_lp_seconds = 0.0
        #: the LP with every integer fixed is solved whole up to this many glued nonzeros,
        #: above in blocks of consecutive intervals of about this size (None: always whole)
        self.block_nonzeros = block_nonzeros
        #: a horizon MILP with a time limit runs in a child process killed past it
        #: (:mod:`decomp.guard`): HiGHS overran that limit by more than twice on the
        #: one-node year
        self.guard = guard
        self._plan: IntervalModel | None = None

    @property
    def models_kept(self) -> bool:
        """True while every interval keeps its Pyomo model."""
        return all(s.im is not None for s in self.solvers)

    @property
    def plan(self) -> IntervalModel | SeriesPlan:
        """The plan loaded last (:meth:`load`): the interval models as one model holding
        its values, or the models' series where the models were dropped."""
        if not self.models_kept:
            if self.x is None:
                raise ValueError("no plan loaded")
            return self.series_plan(self.x)
        if self._plan is None:
            ims = [s.im for s in self.solvers]
            self._plan = IntervalModel(ims[0].start, ims[-1].stop, _parent(ims),
                                       sum(im.cost for im in ims),
                                       ims[0].entry, ims[-1].exit,
                                       {t: v for im in ims for t, v in im.binaries.items()},
                                       parts=ims)
        return self._plan

    def series_plan(self, x: np.ndarray) -> SeriesPlan:
        """Plan ``x`` as the intervals' named series, one array per name over the horizon
        (0 where an interval has no such series)."""
        parts = [s.series_values(x[self.offsets[k]:self.offsets[k + 1]])
                 for k, s in enumerate(self.solvers)]
        names = list(dict.fromkeys(name for p in parts for name in p))
        series = {name: np.concatenate([p.get(name, np.zeros(s.stop - s.start))
                                        for p, s in zip(parts, self.solvers, strict=True)])
                  for name in names}
        return SeriesPlan(self.solvers[0].start, self.solvers[-1].stop, series)

    @property
    def stop(self) -> int:
        """End of the horizon."""
        return self.solvers[-1].stop

    def columns(self, x: np.ndarray | None = None) -> list[Column]:
        """A plan (default: the last one) as one column per interval (they fit together)."""
        x = self.x if x is None else x
        return [s.column_of(x[self.offsets[k]:self.offsets[k + 1]], origin="repair")
                for k, s in enumerate(self.solvers)]

    def _solve(self, relaxed: bool, gap: float, time_limit: float | None,
               start: np.ndarray | None = None) -> tuple[SolveResult, MatrixHighs]:
        """One solve on a HiGHS instance made for it from the glued form and the current
        bounds, and dropped after it: HiGHS keeps hundreds of MB of presolve and simplex
        data for a horizon after a solve, which no later solve here would reuse."""
        self._release()
        guarded = self.guard and not relaxed
        # a guarded MILP is loaded into HiGHS in its child only: this process, waiting,
        # need not hold a copy of the horizon in HiGHS meanwhile
        solver = MatrixHighs(self.form, self.options, self.lb, self.ub, relaxed=relaxed,
                             keep_loaded=not guarded)
        if relaxed:
            solver.set_option("simplex_dual_edge_weight_strategy",
                              EDGE_WEIGHTS[self.lp_edge_weights])
        if start is not None:
            solver.set_start(start)
        if guarded:
            return guarded_solve(solver, time_limit, gap), solver
        return solver.solve(time_limit=time_limit, gap=gap), solver

    def _release(self) -> None:
        """Freed heap back to the system before a large horizon model is loaded (its big
        arrays are mapped apart from the heap, on top of what the heap keeps); skipped for
        small horizons, where the collection would cost more than the model."""
        if self.form.A.nnz >= RELEASE_NONZEROS:
            release_free_memory()

    def _solve_fixed(self, fixed: np.ndarray, time_limit: float | None
                     ) -> tuple[SolveResult, np.ndarray]:
        """The horizon LP with every listed integer at ``fixed``, the fixed columns taken
        out first (their terms moved to the row sides and the cost's offset), which HiGHS
        would otherwise copy, presolve away and hold. Returns the result and
        the full column values."""
        self._release()
        form = self.form
        self._split()
        cont = self._continuous
        res, values = self._solve_reduced(
            self._A_free, slice(None), cont, self._A_fixed @ fixed,
            form.offset + float(form.cost[self.bin_cols] @ fixed), time_limit)
        x = np.empty(form.shape[1])
        x[self.bin_cols] = fixed
        x[cont] = values
        return res, x

    def _solve_reduced(self, A: sp.spmatrix, rows, cols: np.ndarray, shift: np.ndarray,
                       offset: float, time_limit: float | None,
                       integer: np.ndarray | None = None, gap: float = 0.0,
                       start: np.ndarray | None = None) -> tuple[SolveResult, np.ndarray]:
        """The problem over columns ``cols`` and rows ``rows`` of the horizon (``A`` holds
        that part of the matrix; bounds from :attr:`lb`, :attr:`ub`), every other
        column's terms (``shift``) moved to the row sides: an LP solved by HiGHS's dual
        simplex with the horizon LPs' edge weights, or, where ``integer`` flags some
        columns, a MILP stopped at ``gap``, MIP-started from ``start`` and guarded when it
        has a time limit. Returns the result and the columns' values."""
        form = self.form
        mip = integer is not None and bool(integer.any())
        reduced = MatrixForm(
            A=A, row_lower=form.row_lower[rows] - shift, row_upper=form.row_upper[rows] - shift,
            lb=self.lb[cols], ub=self.ub[cols],
            integer=integer if mip else np.zeros(len(cols), dtype=bool),
            cost=form.cost[cols], offset=offset, columns=[], rows=[])
        guarded = mip and self.guard and time_limit is not None
        solver = MatrixHighs(reduced, self.options, relaxed=not mip, keep_loaded=not guarded)
        if not mip:
            solver.set_option("simplex_dual_edge_weight_strategy",
                              EDGE_WEIGHTS[self.lp_edge_weights])
        elif start is not None:
            solver.set_start(start)
        res = (guarded_solve(solver, time_limit, gap) if guarded
               else solver.solve(time_limit=time_limit, gap=gap))
        return res, solver.values

    def _reduced_form(self):
        """The horizon's form and its continuous columns, the integer columns split off
        (nothing loaded)."""
        self._release()
        self._split()
        return self.form, self._continuous

    def _split(self) -> None:
        """The glued matrix split into listed-integer and other columns (made once)."""
        if self._continuous is not None:
            return
        keep = np.ones(self.form.shape[1], dtype=bool)
        keep[self.bin_cols] = False
        self._continuous = np.flatnonzero(keep)
        csc = self.form.A.tocsc()
        self._A_fixed = csc[:, self.bin_cols].tocsr()
        self._A_free = csc[:, self._continuous]

    def blocks(self) -> list[tuple[int, int]] | None:
        """The spans of intervals ``[a, b)`` the LP with every integer fixed is solved in,
        one pass after another, or None when it is solved whole. The horizon is cut into
        equal blocks of at most :attr:`block_nonzeros` glued entries each (a block's
        linking rows to its neighbours held at the plan's values); a second pass of
        blocks shifted by half a block puts every first-pass seam inside a block, so
        storage moves across it too."""
        if self.block_nonzeros is None or self.form.A.nnz <= self.block_nonzeros:
            return None
        n = len(self.solvers)
        count = min(n, math.ceil(self.form.A.nnz / self.block_nonzeros))
        if count < 2:
            return None
        size = max(2, math.ceil(n / count))  # a seam lies inside a block of two
        first = [(a, min(a + size, n)) for a in range(0, n, size)]
        half = max(1, size // 2)
        second = [(a, min(a + size, n)) for a in range(half, n, size)]
        return first + second

    def _solve_fixed_blocks(self, fixed: np.ndarray, start: np.ndarray,
                            spans: list[tuple[int, int]], time_limit: float | None
                            ) -> tuple[SolveResult, np.ndarray]:
        """The LP with every listed integer at ``fixed`` solved block by block from plan
        ``start`` (which must hold those integers): each block's continuous columns are
        re-optimised with every other column held at the plan's values (the rows it shares
        with them take their terms on their sides), so each block's optimum keeps the plan
        feasible and no dearer; ``spans`` in order. Only a fraction of the horizon is
        loaded at a time.
        Returns a ``feasible`` result (what blocks prove is a plan, not the horizon's
        optimum) and the plan's values."""
        t0 = time.perf_counter()
        deadline = None if time_limit is None else t0 + time_limit
        if start.shape != (self.form.shape[1],):
            raise ValueError(f"a start of {start.shape} values for a horizon of "
                             f"{self.form.shape[1]} columns")
        off = np.abs(start[self.bin_cols] - fixed)
        if len(off) and off.max() > 1e-3:
            j = int(self.bin_cols[off.argmax()])
            raise ValueError(f"the start does not hold the fixed integers: "
                             f"{label_name(self.form.columns, j)} = {start[j]!r}, fixed at "
                             f"{fixed[off.argmax()]!r}")
        form, cont = self._reduced_form()
        x = start.astype(float, copy=True)
        x[self.bin_cols] = fixed
        solved = improved = 0
        for a, b in spans:
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                break
            ia, ib = np.searchsorted(cont, [self.offsets[a], self.offsets[b]])
            cols = cont[ia:ib]
            sub = self._A_free[:, ia:ib]
            rows = np.unique(sub.indices)
            sub = sub[rows].tocsr()
            # the rows' terms of every column outside the block, held at the plan's values
            shift = form.A[rows] @ x - sub @ x[cols]
            res, values = self._solve_reduced(sub, rows, cols, shift, 0.0, left)
            solved += 1
            before = float(form.cost[cols] @ x[cols])
            if res.status == "optimal" and res.objective <= before + 1e-9 * max(1.0,
                                                                                abs(before)):
                x[cols] = values
                improved += 1
        cost = form.objective(x)
        seconds = time.perf_counter() - t0
        done = "all" if solved == len(spans) else f"{solved} of {len(spans)}"
        return SolveResult("feasible", cost, None, None, seconds, "highs",
                           f"{done} blocks solved, {improved} improved"), x

    def partial(self, x: np.ndarray, free: np.ndarray, relaxed: bool, gap: float = 0.0,
                time_limit: float | None = None) -> tuple[SolveResult, np.ndarray | None]:
        """Plan ``x`` with every listed integer fixed except where ``free`` is set, those
        relaxed (``relaxed``: an LP, each in its declared bounds) or integer (a MILP
        stopped at ``gap``, MIP-started from ``x``, in a guarded child when it has a time
        limit): the fixed integer columns taken out first, as in the LP with all of them
        fixed (the horizon MILP with a few thousand integers free is then a fraction of
        the glued horizon). Returns the result and the full column values (None without a
        solution); a MILP's plan becomes :attr:`x`. ``x`` must be a feasible plan for the
        MILP's start to hold (its free integers' values are handed over as they are)."""
        free = np.asarray(free, dtype=bool)
        if len(free) != len(self.bin_cols) or len(x) != self.form.shape[1]:
            raise ValueError(f"partial: {len(free)} free flags and {len(x)} values given, "
                             f"horizon has {len(self.bin_cols)} integers and "
                             f"{self.form.shape[1]} columns")
        form, cont = self._reduced_form()
        fixed = np.clip(np.round(x[self.bin_cols]), self.lower, self.upper)
        held = ~free
        cols = np.concatenate([cont, self.bin_cols[free]])
        held_values = np.where(held, fixed, 0.0)
        # the freed integers in their declared bounds, the others at the plan's values
        self.lb[self.bin_cols] = np.where(free, self.lower, fixed)
        self.ub[self.bin_cols] = np.where(free, self.upper, fixed)
        integer = np.concatenate([np.zeros(len(cont), dtype=bool),
                                  np.full(int(free.sum()), not relaxed)])
        res, solved = self._solve_reduced(
            sp.hstack([self._A_free, self._A_fixed[:, np.flatnonzero(free)]], format="csc"),
            slice(None), cols, self._A_fixed @ held_values,
            form.offset + float(form.cost[self.bin_cols] @ held_values), time_limit,
            integer=integer, gap=gap, start=None if relaxed else x[cols])
        if not res.has_solution:
            return res, None
        values = np.empty(form.shape[1])
        values[self.bin_cols] = fixed
        values[cols] = solved
        values = form.clip(values, integral=not relaxed)
        if not relaxed:
            self.x = values
        return res, values

    def fixed_lp(self, x: np.ndarray, time_limit: float | None = None) -> RepairResult:
        """Plan ``x`` with its integers fixed and every other column re-optimised: the
        horizon LP that moves storage across the horizon (whole, or in :meth:`blocks`
        from ``x`` where the horizon is large). Its plan is no dearer than ``x`` when
        ``x`` is feasible."""
        return self.repair_values(x[self.bin_cols], np.zeros(len(self.bin_cols), dtype=bool),
                                  0.0, time_limit, start=x)

    def lp_relaxation(self, time_limit: float | None = None) -> LPRelaxation | None:
        """LP relaxation of the horizon (integers relaxed, each variable within its own
        declared bounds): its optimum, duals on the linking rows and the relaxed integers'
        values (in interval, hour order). None when it is not solved within ``time_limit``."""
        self.restore_bounds()
        res, solver = self._solve(True, 0.0, time_limit)
        if res.status != "optimal":
            if time_limit is not None and res.status in ("feasible", "no plan"):
                return None
            raise RuntimeError(f"LP relaxation not solved: {res.status}")
        y = solver.row_duals[self.link_rows].copy()
        return LPRelaxation(float(res.objective), y, solver.values[self.bin_cols].copy())

    def fits(self, x: np.ndarray, values: np.ndarray, free: np.ndarray) -> bool:
        """True when plan ``x`` has every integer that ``free`` leaves fixed at
        ``values`` (rounded), so it is a feasible start of that repair."""
        fixed = np.clip(np.round(values), self.lower, self.upper)
        held = ~free
        return bool(np.all(np.abs(x[self.bin_cols][held] - fixed[held]) <= 1e-6))

    def near(self, hours: list[int], before: int, after: int) -> np.ndarray:
        """Binaries of an hour in ``[h - before, h + after)`` for some ``h`` in ``hours``."""
        free = np.zeros(len(self.bin_cols), dtype=bool)
        for h in hours:
            free |= (self.var_hour >= h - before) & (self.var_hour < h + after)
        return free

    def entry_mask(self, starts: list[int], hours: int) -> np.ndarray:
        """Binaries in the first ``hours`` hours of every interval (the horizon's first
        included): those a fixed entry state constrains."""
        return self.near(starts, 0, hours)

    def window_mask(self, starts: list[int], window: int) -> np.ndarray:
        """Binaries within ``window`` hours of an interval boundary."""
        return self.near(starts[1:], window, window)

    def repair_values(
        self,
        values: np.ndarray,
        free: np.ndarray,
        gap: float,
        time_limit: float | None = None,
        window: int = 0,
        start: np.ndarray | None = None,
    ) -> RepairResult:
        """Fix every binary to ``values`` except where ``free`` is set, then solve;
        ``start``: a complete plan, handed over as a MIP start where it holds every fixed
        integer (:meth:`fits`) and left out where it does not; with every binary fixed it
        must hold them all: it is the plan the LP's blocks start from (:meth:`blocks`;
        without a start that LP is solved whole)."""
        t0 = time.perf_counter()
        if len(values) != len(self.bin_cols):
            raise ValueError(f"{len(values)} binary values given, horizon has "
                             f"{len(self.bin_cols)}")
        fixed = np.clip(np.round(values), self.lower, self.upper)
        self.lb[self.bin_cols] = np.where(free, self.lower, fixed)
        self.ub[self.bin_cols] = np.where(free, self.upper, fixed)
        if not free.any():
            # every listed integer fixed: an LP over the other columns (simplex
            # tolerances), not a MIP; in blocks from the start where the horizon is large
            spans = self.blocks() if start is not None else None
            if spans is None:
                res, values = self._solve_fixed(fixed, time_limit)
            else:
                res, values = self._solve_fixed_blocks(fixed, start, spans, time_limit)
            self.fixed_lp_seconds = time.perf_counter() - t0
        else:
            if start is not None and not self.fits(start, fixed, free):
                start = None
            res, solver = self._solve(False, gap, time_limit, start)
            values = solver.values
        if res.has_solution:
            # values within tolerance of a bound are put on it: the plan check then sees
            # the values that are reported
            self.x = self.form.clip(values)
        return RepairResult(res, window, int(free.sum()), time.perf_counter() - t0)

    def restore_bounds(self) -> None:
        """Give every integer variable its declared bounds back (after repairs fixed them)."""
        self.lb[self.bin_cols] = self.lower
        self.ub[self.bin_cols] = self.upper

    def load(self, x: np.ndarray) -> None:
        """Make ``x`` the plan: the interval models' variables get its values (where the
        models were dropped, :attr:`plan` reads it through their series)."""
        self.x = x
        if self.models_kept:
            self.form.write_values(x)

    def check(self, claimed: float | None, x: np.ndarray | None = None) -> PlanCheck:
        """Check a plan (default: the last) against the whole glued horizon with every
        variable's declared bounds (:meth:`MatrixForm.check`); raises
        :class:`~decomp.certificate.CertificateError` when a row, a bound or integrality is
        violated or its cost is not ``claimed``."""
        result = self.form.check(self.x if x is None else x)
        result.require(claimed, what="the final plan")
        return result


def _parent(ims: list[IntervalModel]) -> pyo.ConcreteModel:
    """One model holding the interval models as blocks (their matrices are already
    compiled), so a plan reads as one model."""
    parent = pyo.ConcreteModel()
    for k, im in enumerate(ims):
        if im.model.parent_block() is None:
            parent.add_component(f"interval_{k}", im.model)
    return parent
