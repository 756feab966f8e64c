"""Fix-and-optimise by decision family: the whole horizon re-decided one family at a time.

Time windows (:mod:`decomp.fix_optimise`) hold each window's end states, so a decision
that pays off months later (run a unit on many summer days to store for the winter) is
out of their reach. Here the horizon MILP is solved with the integer variables of one
*family* free over the whole horizon and every other integer held at the plan's values,
MIP-started from the plan, so its result is never dearer.

A family is found from the model alone: integer variables are grouped by their Pyomo
component (``on``, ``start`` of one unit ...), and components whose integers share a row
(a unit's on/off, start and stop in its transition rows; an interval's exit state and
the next interval's entry state in a linking row) are merged, so a unit's decisions move
together. The provider needs to declare nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from decomp.matrix_form import MatrixForm, label_component


def integer_families(form: MatrixForm, columns: np.ndarray) -> list[np.ndarray]:
    """Positions (into ``columns``, the form's integer columns) of each family, largest
    first: components merged when their integers meet in a row (union-find)."""
    columns = np.asarray(columns, dtype=int)
    names = [label_component(form.columns, int(j)) for j in columns]
    ids = {n: i for i, n in enumerate(dict.fromkeys(names))}
    comp = np.array([ids[n] for n in names], dtype=int)
    parent = list(range(len(ids)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    of_column = np.full(form.shape[1], -1, dtype=int)
    of_column[columns] = comp
    csr = form.A.tocsr()
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    fam = of_column[csr.indices]
    keep = fam >= 0
    rows, fam = rows[keep], fam[keep]
    order = np.lexsort((fam, rows))
    rows, fam = rows[order], fam[order]
    # consecutive entries of one row with different components: merge them
    same_row = rows[1:] == rows[:-1]
    for a, b in zip(fam[:-1][same_row], fam[1:][same_row], strict=True):
        ra, rb = find(int(a)), find(int(b))
        if ra != rb:
            parent[rb] = ra
    roots = np.array([find(int(c)) for c in comp], dtype=int)
    groups = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    return sorted(groups, key=len, reverse=True)


@dataclass(frozen=True)
class FamilyStep:
    """One horizon MILP with one family (or all but one) free."""

    free: str
    binaries: int
    before: float
    after: float
    status: str
    seconds: float


def improve_by_families(
    solve: Callable[[np.ndarray, np.ndarray, float | None], tuple[np.ndarray | None, float]],
    x_integers: np.ndarray,
    cost: float,
    families: list[np.ndarray],
    deadline: float | None,
    stop: Callable[[float], bool] | None = None,
    min_seconds: float = 1.0,
) -> tuple[np.ndarray, float, list[FamilyStep]]:
    """Re-decide the plan family by family: each family alone and (with three or more)
    all families but one, the largest neighbourhood first. ``solve(values, free,
    time_limit)`` solves the horizon with the integers in ``free`` free and the others at
    ``values``, MIP-started from the plan, and returns (integer values of its plan or None,
    its cost). Each step gets half the time left, the last one all of it (at least
    ``min_seconds``): families that share a resource through continuous flows (a hydrogen
    chain's electrolyser and fuel cell) improve only together, and that larger MILP needs
    the time. Steps stop at the deadline or when ``stop(cost)`` says the plan is good
    enough. Returns the best integer values, their cost and the steps."""
    n = len(x_integers)
    tasks: list[tuple[str, np.ndarray]] = []
    for i, fam in enumerate(families):
        mask = np.zeros(n, dtype=bool)
        mask[fam] = True
        tasks.append((f"family {i + 1}", mask))
    if len(families) >= 3:
        for i, fam in enumerate(families):
            mask = np.ones(n, dtype=bool)
            mask[fam] = False
            tasks.append((f"all but family {i + 1}", mask))
    tasks.sort(key=lambda task: -int(task[1].sum()))
    best, best_cost, steps = x_integers.copy(), cost, []
    for k, (label, mask) in enumerate(tasks):
        left = None if deadline is None else deadline - time.perf_counter()
        if left is not None and left < min_seconds:
            break
        if stop is not None and stop(best_cost):
            break
        last = k == len(tasks) - 1
        share = None if left is None else max(min_seconds, left if last else left / 2)
        t0 = time.perf_counter()
        values, new_cost = solve(best, mask, share)
        status = "no plan" if values is None else "kept"
        if values is not None and new_cost < best_cost - 1e-9 * max(1.0, abs(best_cost)):
            best, best_cost, status = values.copy(), new_cost, "improved"
        steps.append(FamilyStep(label, int(mask.sum()), cost if not steps else steps[-1].after,
                                best_cost, status, time.perf_counter() - t0))
    return best, best_cost, steps
