"""Rolling-horizon heuristic: intervals solved in order, each starting where the last ended.

Exit states are valued at the given prices (e.g. the LP relaxation's duals of the linking
rows), so storage is not simply emptied at every boundary. Storage that must be cyclic
starts at its lower bound and the last interval ends at least as full, so the plan is
feasible for the whole horizon; the columns it yields fit together in the master.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from decomp.columns import Column
from decomp.linking import Linking
from decomp.pricing import IntervalSolver
from decomp.provider import BoundaryCondition
from decomp.solvers import SolverError

#: the least time limit an interval of a pass gets (past its deadline: an interval whose
#: integers are fixed is an LP of milliseconds; one that needs a search has no plan)
MIN_SECONDS = 0.01


def pass_limit(left: float, remaining: int, share: float = 2.0) -> float:
    """Seconds one interval of a pass may take with ``left`` seconds to the deadline and
    ``remaining`` intervals to go (this one included): ``share`` times its even share, so
    that one slow interval cannot take the time of all those after it (``MIN_SECONDS``
    at least)."""
    return max(MIN_SECONDS, share * left / max(1, remaining))


def rolling_horizon(
    solvers: list[IntervalSolver],
    linking: Linking,
    conditions: list[BoundaryCondition],
    y: np.ndarray | None,
    gap: float,
    guide: np.ndarray | None = None,
    deadline: float | None = None,
    abs_gap: float | None = None,
    entry_values: list | None = None,
    plan: list | None = None,
    fallback: Sequence[np.ndarray] = (),
    made: list | None = None,
) -> list[Column]:
    """Solve the intervals in sequence; returns one column per interval (a feasible plan).

    ``guide`` (values of every binary, in interval and hour order, e.g. from the LP
    relaxation) fixes the binaries that are integral in it; an interval that cannot be
    solved that way is solved with the integers of each ``fallback`` guide in turn (same
    layout, e.g. the guide with more integers free), then with its binaries free. Each
    interval's solve is capped by its share of the time left before ``deadline``
    (``time.perf_counter()``; :func:`pass_limit`); an interval without a plan within it
    ends the pass (:class:`SolverError`). ``abs_gap`` lets each interval MILP stop at
    that absolute gap too (each solver's own is restored afterwards).
    A list given as ``entry_values`` receives, per interval, minus the reduced costs of its
    fixed entry states after an LP solve (what one more unit of each state is worth to the
    interval; None after a MILP). A list given as ``plan`` receives each interval's column
    values: together (in interval order) a plan of the horizon that satisfies every linking
    row, without a horizon model. A list given as ``made``
    receives, per interval, what its plan was made with: 0 the guide (or no guide), ``j``
    the ``j``-th fallback guide, ``len(fallback) + 1`` every binary free.
    """
    y = np.zeros(linking.size) if y is None else y
    fixed = {bc.state: bc.value for bc in conditions if bc.kind == "fixed"}
    cyclic = [bc.state for bc in conditions if bc.kind == "cyclic"]
    first = solvers[0]
    start_values = {**{s: first.entry_lower_bound(s) for s in cyclic}, **fixed}
    columns: list[Column] = []
    entry = start_values
    offset = 0
    try:
        for i, s in enumerate(solvers):
            if guide is not None:
                part = guide[offset : offset + s.n_binaries]
                offset += s.n_binaries
                s.fix_integral(part)
            _, p_exit = linking.interval_prices(y, s.k)
            s.set_prices(np.zeros(len(s.entry_names)), p_exit)
            s.fix_entry(entry)
            if s is solvers[-1]:
                s.bound_exit_below({name: start_values[name] for name in cyclic})
            limit = None if deadline is None else pass_limit(
                deadline - time.perf_counter(), len(solvers) - i)
            own = s.abs_gap
            if abs_gap is not None:
                s.set_abs_gap(abs_gap)
            try:
                parts = None if guide is None else [w[offset - s.n_binaries: offset]
                                                    for w in fallback]
                res, how = _solve_guided(s, gap, limit, parts, deadline, len(solvers) - i)
            finally:
                if abs_gap is not None:
                    s.set_abs_gap(own)
            if res.column is None:
                raise SolverError(f"rolling horizon: interval {s.k} found no plan ({res.status})")
            if made is not None:
                made.append(how)
            if entry_values is not None:
                rc = s.entry_reduced_costs()
                entry_values.append(None if rc is None else -rc)
            values = s.solver.values.copy()
            if plan is not None:
                plan.append(values)
            col = Column(res.column.k, res.column.cost, res.column.entry, res.column.exit,
                         res.column.binaries, origin="rolling")
            columns.append(col)
            entry = dict(zip(s.exit_names, col.exit, strict=True))
            s.release()
    finally:
        for s in solvers:
            s.release()
    return columns


def _solve_guided(s: IntervalSolver, gap: float, limit: float | None,
                  fallback: list[np.ndarray] | None, deadline: float | None,
                  remaining: int):
    """One interval of a pass with its guide's integers fixed (``fallback`` None: no
    guide); if it has no plan so, with each ``fallback`` guide's, then with every integer
    free. Returns the result and what made it (0 the guide, ``j`` the ``j``-th
    fallback, ``len(fallback) + 1`` every integer free)."""
    res = s.solve(gap=gap, time_limit=limit, allow_infeasible=fallback is not None)
    if fallback is None or res.column is not None:
        return res, 0
    for how, wider in enumerate(fallback, start=1):
        # more of the guide's integers freed (a column priced with its entry free rarely
        # fits the entry this pass gives it): a small MILP, where freeing every integer
        # took seconds a day
        s.release_binaries()
        s.fix_integral(wider)
        if deadline is not None:
            limit = pass_limit(deadline - time.perf_counter(), remaining)
        res = s.solve(gap=gap, time_limit=limit, allow_infeasible=True)
        if res.column is not None:
            return res, how
    s.release_binaries()
    if deadline is not None:
        limit = pass_limit(deadline - time.perf_counter(), remaining)
    return s.solve(gap=gap, time_limit=limit), len(fallback) + 1
