"""Restricted master LP over the column pool (HiGHS, warm-started) and the column-choice MILP."""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from decomp.columns import Column
from decomp.linking import Linking
from decomp.solvers import run_limit

INF = highspy.kHighsInf


@dataclass(frozen=True)
class MasterSolution:
    """Master LP optimum: objective, prices on linking rows, convexity duals, weights."""

    objective: float
    y: np.ndarray
    mu: np.ndarray
    weights: list[tuple[Column, float]]
    artificial: float

    def reduced_cost(self, col: Column, linking: Linking) -> float:
        """``col``'s reduced cost at these duals (negative: it would improve the master)."""
        coef = linking.coefficients(col.k, col.entry, col.exit)
        return col.cost - sum(a * self.y[i] for i, a in coef.items()) - self.mu[col.k]


def _highs(threads: int = 1) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", threads)
    return h


def _row_map(linking: Linking, rows: np.ndarray) -> np.ndarray:
    """Position of each linking row among ``rows`` (-1: left out)."""
    where = np.full(linking.size, -1, dtype=np.int64)
    where[rows] = np.arange(len(rows))
    return where


def price_groups(linking: Linking, span: int) -> np.ndarray:
    """Master row of each linking row when the boundaries are taken ``span`` at a time:
    the ``link`` rows of one state at boundaries ``[j * span, (j + 1) * span)`` share one
    row (their sum) and so one price; edge rows keep their own; unpriced rows -1.
    ``span`` 1 gives every priced row its own."""
    if span < 1:
        raise ValueError(f"span must be >= 1, not {span}")
    groups = np.full(linking.size, -1, dtype=np.int64)
    keys: dict[tuple, int] = {}
    for r, row in enumerate(linking.rows):
        if not linking.priced[r]:
            continue
        key = ("link", row.state, row.k // span) if row.kind == "link" else (r,)
        groups[r] = keys.setdefault(key, len(keys))
    return groups


def _add_rows(h: highspy.Highs, n: int, linking: Linking, groups: np.ndarray,
              m: int) -> None:
    kept = groups >= 0
    rhs = np.bincount(groups[kept], weights=linking.rhs[kept], minlength=m)
    inequality = np.zeros(m, dtype=bool)
    inequality[groups[kept]] = linking.inequality[kept]
    lower = np.r_[np.ones(n), rhs]
    upper = np.r_[np.ones(n), np.where(inequality, INF, rhs)]
    h.addRows(len(lower), lower, upper, 0, np.zeros(len(lower), dtype=np.int32),
              np.array([], dtype=np.int32), np.array([]))


def _column_entries(col: Column, n: int, linking: Linking,
                    where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coef = linking.coefficients(col.k, col.entry, col.exit)
    summed: dict[int, float] = {}
    for r, a in coef.items():
        if a != 0.0 and where[r] >= 0:
            summed[int(where[r])] = summed.get(int(where[r]), 0.0) + a
    idx = [col.k] + [n + i for i in summed]
    val = [1.0] + list(summed.values())
    return np.array(idx, dtype=np.int32), np.array(val)


class RestrictedMaster:
    """Convexity row per interval, linking rows, columns added incrementally.

    Each linking row has slack columns ``+s`` and ``-s`` whose costs are a box on its
    dual: ``+s`` at cost ``c + w`` caps the price at ``c + w``, ``-s`` at cost
    ``-(c - w)`` keeps it above ``c - w`` (box-step stabilisation, Marsten et al. 1975).
    They also keep the master feasible before real columns fit together, at a cost scaled
    to the problem rather than a fixed big number (HiGHS gives no dual ray when presolve
    finds an LP infeasible, so no Farkas pricing). :meth:`set_box` moves the box; the
    master's value equals the restricted DW master's only when no slack is used.
    """

    def __init__(self, n: int, linking: Linking, artificial_cost: float,
                 groups: np.ndarray | None = None) -> None:
        self.n = n
        self.linking = linking
        # rows whose prices are held at 0 (``linking.priced``) are left out: columns need
        # not agree on those states; ``groups`` (:func:`price_groups`) sums rows into one
        # master row each, whose dual is then the price of all of them
        if groups is None:
            groups = _row_map(linking, np.flatnonzero(linking.priced))
        groups = np.asarray(groups, dtype=np.int64)
        if groups.shape != (linking.size,) or np.any(groups[~linking.priced] >= 0):
            raise ValueError("groups must give each linking row a master row, -1 for the "
                             "unpriced rows")
        self.where = groups
        self.m = int(groups.max(initial=-1)) + 1
        kept = groups >= 0
        numbered, first = np.unique(groups[kept], return_index=True)
        if len(numbered) != self.m:
            raise ValueError("groups must number the master rows 0, 1, ... without gaps")
        inequality = linking.inequality[kept]
        if len(np.unique(groups[kept] * 2 + inequality)) != self.m:
            raise ValueError("a master row cannot sum equality and inequality rows")
        # one linking row standing for each master row (its centre and sign)
        self._first = np.flatnonzero(kept)[first]
        self.h = _highs()
        # new columns keep the basis primal feasible: primal simplex picks up from there
        self.h.setOptionValue("simplex_strategy", 4)
        _add_rows(self.h, n, linking, groups, self.m)
        self.columns: list[Column] = []
        self.artificial_cost = artificial_cost
        #: a column whose reduced cost is at most this counts as in use (:meth:`prune`)
        self.prune_tolerance = 1e-9 * max(1.0, abs(artificial_cost))
        self._slacks: list[tuple[int, float]] = []  # (row, sign) per slack column
        for i, r in enumerate(self._first):
            for sign in (1.0, -1.0):
                if sign < 0 and linking.inequality[r]:
                    continue
                self.h.addCol(artificial_cost, 0.0, INF, 1,
                              np.array([n + i], dtype=np.int32), np.array([sign]))
                self._slacks.append((int(r), sign))
        self._n_art = len(self._slacks)
        # per column: master solves in a row it was left out of the basis at a reduced
        # cost above the pruning tolerance (:meth:`prune`)
        self._age = np.zeros(0, dtype=np.int64)

    def set_box(self, center: np.ndarray, width: float | np.ndarray) -> None:
        """Bound the master's duals to ``[center - width, center + width]`` row by row
        (on ``>=`` rows the lower end is 0 at least, as the row's sign requires)."""
        width = np.broadcast_to(np.asarray(width, dtype=float), center.shape)
        costs = np.array([center[r] + width[r] if sign > 0 else -(center[r] - width[r])
                          for r, sign in self._slacks])
        self.h.changeColsCost(self._n_art, np.arange(self._n_art, dtype=np.int32), costs)

    def box_binding(self, sol: MasterSolution, tol: float = 1e-7) -> bool:
        """True when some slack is used: the box, not the columns, set some prices."""
        return sol.artificial > tol

    def missing(self) -> list[int]:
        """Intervals without a column: while there are any, the convexity rows cannot all
        be met and the master has no solution."""
        have = np.zeros(self.n, dtype=bool)
        have[[c.k for c in self.columns]] = True
        return [int(k) for k in np.flatnonzero(~have)]

    def add(self, col: Column) -> None:
        """Add one column (the simplex basis is kept: the next solve is warm)."""
        idx, val = _column_entries(col, self.n, self.linking, self.where)
        self.h.addCol(col.cost, 0.0, INF, len(idx), idx, val)
        self.columns.append(col)
        self._age = np.r_[self._age, 0]

    def add_many(self, columns: list[Column]) -> None:
        """Add columns in one call (as :meth:`add`, faster for a round's columns)."""
        if not columns:
            return
        parts = [_column_entries(col, self.n, self.linking, self.where) for col in columns]
        starts = np.cumsum([0] + [len(idx) for idx, _ in parts[:-1]]).astype(np.int32)
        index = np.concatenate([idx for idx, _ in parts]).astype(np.int32)
        value = np.concatenate([val for _, val in parts])
        m = len(columns)
        self.h.addCols(m, np.array([c.cost for c in columns], dtype=float), np.zeros(m),
                       np.full(m, INF), len(index), starts, index, value)
        self.columns.extend(columns)
        self._age = np.r_[self._age, np.zeros(m, dtype=np.int64)]

    def prune(self, max_age: int) -> list[Column]:
        """Drop the columns the last ``max_age`` + 1 solves left unused at a reduced cost
        above :attr:`prune_tolerance` (column aging): the master stays small while
        rounds add a column per interval. A column in use is never dropped, so every
        interval keeps one; HiGHS keeps the basis of the columns left. Returns the dropped
        columns (a pool that forgets them lets pricing bring them back)."""
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, not {max_age}")
        old = np.flatnonzero(self._age > max_age)
        if not len(old):
            return []
        self.h.deleteCols(len(old), (self._n_art + old).astype(np.int32))
        keep = np.ones(len(self.columns), dtype=bool)
        keep[old] = False
        dropped = [self.columns[i] for i in old]
        self.columns = [c for c, k in zip(self.columns, keep, strict=True) if k]
        self._age = self._age[keep]
        return dropped

    def solve(self, time_limit: float | None = None) -> MasterSolution | None:
        """Solve the LP; duals follow ``reduced cost = c - A^T y``. None when
        ``time_limit`` (seconds) stopped it before the optimum."""
        self.h.setOptionValue("time_limit", run_limit(self.h, time_limit))
        self.h.run()
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"restricted master not optimal: {status}")
        sol = self.h.getSolution()
        duals = np.asarray(sol.row_dual)
        x = np.asarray(sol.col_value)
        art = float(x[: self._n_art].sum())
        used = ((x[self._n_art:] > 1e-9)
                | (np.asarray(sol.col_dual)[self._n_art:] <= self.prune_tolerance))
        self._age = np.where(used, 0, self._age + 1)
        weights = [(c, x[self._n_art + i]) for i, c in enumerate(self.columns)
                   if x[self._n_art + i] > 1e-9]
        y = np.zeros(self.linking.size)
        kept = self.where >= 0
        y[kept] = duals[self.n:][self.where[kept]]
        return MasterSolution(
            objective=self.h.getInfo().objective_function_value,
            y=y,
            mu=duals[: self.n],
            weights=weights,
            artificial=art,
        )


def choose_columns(
    pool: list[list[Column]], linking: Linking, penalty: np.ndarray, time_limit: float = 60.0
) -> list[Column] | None:
    """Pick one column per interval minimising cost + penalty * |linking mismatch| (a MILP).

    The mismatch is what the repair has to mend; ``penalty`` prices it per row.
    """
    n = len(pool)
    h = _highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 1e-4)
    # a plan must match on every row, priced or not
    rows = np.arange(linking.size)
    where = _row_map(linking, rows)
    _add_rows(h, n, linking, where, linking.size)
    for r in range(linking.size):
        for sign in (1.0, -1.0):
            h.addCol(float(penalty[r]), 0.0, INF, 1, np.array([n + r], dtype=np.int32),
                     np.array([sign]))
    first = h.getNumCol()
    flat = [c for cols in pool for c in cols]
    for col in flat:
        idx, val = _column_entries(col, n, linking, where)
        h.addCol(col.cost, 0.0, 1.0, len(idx), idx, val)
    count = len(flat)
    h.changeColsIntegrality(count, np.arange(first, first + count, dtype=np.int32),
                            np.array([highspy.HighsVarType.kInteger] * count))
    h.run()
    if h.getInfo().primal_solution_status != 2:
        return None
    x = np.asarray(h.getSolution().col_value)[first:]
    chosen: list[Column | None] = [None] * n
    for col, v in zip(flat, x, strict=True):
        if v > 0.5:
            chosen[col.k] = col
    if any(c is None for c in chosen):
        return None
    return chosen
