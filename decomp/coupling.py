"""Rows that link blocks which are not time intervals: shared resources of a network.

A block (a building, say) shows what it takes of a shared resource through named exit
quantities (its grid import in hour t, its hydrogen drawn); a coupling row says
``sum_k sum_s a[r, k, s] * exit_k[s] (= | >=) b_r`` (a capacity ``<=`` is a ``>=`` row
with its coefficients negated). For prices ``y`` (``y >= 0`` on ``>=`` rows) the
Lagrangian ``sum_k min_{X_k} [cost_k - y . a_k] + b . y`` is a valid lower bound, as for
time intervals: :class:`Coupling` is the :class:`~decomp.loop.BlockLinking` of such
blocks, and the restricted master, the loop and its stopping rules take it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decomp.linking import Rows


@dataclass(frozen=True)
class CouplingRow:
    """One shared row: its ``terms`` (block, exit quantity, coefficient), right-hand side
    and sense (``==`` or ``>=``); ``family`` and ``step`` (optional): the rows of one
    family at consecutive time steps, which a coarse master may sum over spans."""

    name: str
    terms: tuple[tuple[int, str, float], ...]
    rhs: float
    sense: str = ">="
    family: str | None = None
    step: int | None = None

    @property
    def equality(self) -> bool:
        return self.sense == "=="


class Coupling(Rows):
    """Coupling rows over blocks with the exit quantities ``exit_names[k]`` (and no entry
    states: ``entry_names`` is empty for every block)."""

    def __init__(self, exit_names: list[list[str]], rows: list[CouplingRow]) -> None:
        self.n = len(exit_names)
        self.entry_names: list[list[str]] = [[] for _ in range(self.n)]
        self.exit_names = exit_names
        self.rows = rows
        position = [{s: i for i, s in enumerate(names)} for names in exit_names]
        self._terms: list[list[tuple[int, int, float]]] = [[] for _ in range(self.n)]
        for r, row in enumerate(rows):
            if row.sense not in ("==", ">="):
                raise ValueError(f"coupling row {row.name}: sense must be == or >=, not "
                                 f"{row.sense!r}")
            for k, state, a in row.terms:
                if state not in position[k]:
                    raise ValueError(f"coupling row {row.name}: block {k} has no exit "
                                     f"quantity {state!r}")
                self._terms[k].append((r, position[k][state], float(a)))
        self.rhs = np.array([row.rhs for row in rows], dtype=float)
        self.inequality = np.array([not row.equality for row in rows], dtype=bool)
        self.priced = np.ones(len(rows), dtype=bool)

    def groups(self, span: int) -> np.ndarray:
        """Master row of each row when a family's rows are summed ``span`` steps at a
        time (rows without a family or step keep their own)."""
        keys: dict[tuple, int] = {}
        out = np.empty(len(self.rows), dtype=np.int64)
        for r, row in enumerate(self.rows):
            key = ((row.family, row.step // span) if row.family is not None
                   and row.step is not None else (r,))
            out[r] = keys.setdefault(key, len(keys))
        return out

    def terms(self, k: int) -> list[tuple[int, int, float]]:
        """Block ``k``'s terms: (row, position of the exit quantity, coefficient)."""
        return list(self._terms[k])

    def interval_prices(self, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Block ``k``'s objective terms: none on entry, ``-y . a_k`` on its exits."""
        p_exit = np.zeros(len(self.exit_names[k]))
        for r, i, a in self._terms[k]:
            p_exit[i] -= y[r] * a
        return np.zeros(0), p_exit

    def coefficients(self, k: int, entry: np.ndarray, exit_: np.ndarray) -> dict[int, float]:
        """Row coefficients of a column of block ``k`` with these exit quantities."""
        out: dict[int, float] = {}
        for r, i, a in self._terms[k]:
            out[r] = out.get(r, 0.0) + a * exit_[i]
        return out
