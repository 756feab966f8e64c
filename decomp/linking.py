"""The linking rows of the master: states shared by consecutive intervals and horizon edges.

Rows, in this order: one per (boundary k, state) saying ``exit_k - entry_(k+1) = 0``; one
per fixed edge condition ``entry_0 = v``; one per cyclic condition ``exit_last - entry_0
>= 0`` (or ``= 0``). For prices ``y`` on these rows (``y >= 0`` on the ``>=`` rows), the
Lagrangian ``L(y) = sum_k min_{X_k} [cost_k - y . a_k] + b . y`` is a valid lower bound;
:meth:`Linking.interval_prices` gives the per-interval objective terms ``-y . a_k``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from decomp.provider import BoundaryCondition


@dataclass(frozen=True)
class Row:
    """One linking row: kind, boundary index, state name, right-hand side, sense."""

    kind: str
    k: int
    state: str
    rhs: float
    equality: bool


class Rows:
    """What every layout of linking rows shares: right-hand sides, senses, which rows
    carry prices, and the two maps the bound needs."""

    rows: list
    rhs: np.ndarray
    inequality: np.ndarray
    priced: np.ndarray

    @property
    def size(self) -> int:
        """Number of linking rows."""
        return len(self.rows)

    def valid(self, y: np.ndarray) -> np.ndarray:
        """Prices made valid for the bound: ``>=`` rows get ``max(y, 0)``, unpriced rows
        0."""
        y = np.asarray(y, dtype=float).copy()
        y[self.inequality] = np.maximum(y[self.inequality], 0.0)
        y[~self.priced] = 0.0
        return y

    def constant(self, y: np.ndarray) -> float:
        """The ``b . y`` term of the Lagrangian bound."""
        return float(self.rhs @ y)


class Linking(Rows):
    """Row layout and the maps between row prices and interval objectives."""

    def __init__(
        self,
        entry_names: list[list[str]],
        exit_names: list[list[str]],
        conditions: list[BoundaryCondition],
        priced: np.ndarray | None = None,
    ) -> None:
        self.n = len(entry_names)
        self.entry_names = entry_names
        self.exit_names = exit_names
        rows: list[Row] = []
        for k in range(self.n - 1):
            if set(exit_names[k]) != set(entry_names[k + 1]):
                diff = sorted(set(exit_names[k]) ^ set(entry_names[k + 1]))
                raise ValueError(f"boundary after interval {k}: states differ: {diff}")
            rows += [Row("link", k, s, 0.0, True) for s in exit_names[k]]
        for bc in conditions:
            if bc.kind == "fixed":
                rows.append(Row("fixed", 0, bc.state, bc.value, True))
            else:
                rows.append(Row("cyclic", self.n - 1, bc.state, 0.0, bc.sense == "=="))
        self.rows = rows
        self.rhs = np.array([r.rhs for r in rows], dtype=float)
        self.inequality = np.array([not r.equality for r in rows], dtype=bool)
        # per interval: (row index, state position, coefficient) for entry and exit states
        self._entry_terms: list[list[tuple[int, int, float]]] = [[] for _ in range(self.n)]
        self._exit_terms: list[list[tuple[int, int, float]]] = [[] for _ in range(self.n)]
        entry_pos = [{s: i for i, s in enumerate(names)} for names in entry_names]
        exit_pos = [{s: i for i, s in enumerate(names)} for names in exit_names]
        for r, row in enumerate(rows):
            if row.kind == "link":
                self._exit_terms[row.k].append((r, exit_pos[row.k][row.state], 1.0))
                self._entry_terms[row.k + 1].append((r, entry_pos[row.k + 1][row.state], -1.0))
            elif row.kind == "fixed":
                self._entry_terms[0].append((r, entry_pos[0][row.state], 1.0))
            else:
                self._exit_terms[self.n - 1].append((r, exit_pos[self.n - 1][row.state], 1.0))
                self._entry_terms[0].append((r, entry_pos[0][row.state], -1.0))
        self.priced = (np.ones(len(rows), dtype=bool) if priced is None
                       else np.asarray(priced, dtype=bool).copy())
        if self.priced.shape != (len(rows),):
            raise ValueError(f"priced mask has {self.priced.size} entries for {len(rows)} "
                             "linking rows")

    def pricing_only(self, states: set[str]) -> Linking:
        """The same rows, with prices held at 0 on every row whose state is not in
        ``states``. A Lagrangian at such prices is still a valid bound (0 is a price like
        any other): it bounds the problem with those rows dropped, which is a relaxation.
        The restricted master leaves the unpriced rows out, so its columns need not match
        on those states (e.g. units' on/off at interval boundaries)."""
        mask = np.array([r.state in states for r in self.rows], dtype=bool)
        out = Linking.__new__(Linking)
        out.__dict__.update(self.__dict__)
        out.priced = mask & self.priced
        return out

    def interval_prices(self, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Objective coefficients on interval k's entry and exit states: ``-y . a_k``."""
        p_entry = np.zeros(len(self.entry_names[k]))
        p_exit = np.zeros(len(self.exit_names[k]))
        for r, i, a in self._entry_terms[k]:
            p_entry[i] -= y[r] * a
        for r, i, a in self._exit_terms[k]:
            p_exit[i] -= y[r] * a
        return p_entry, p_exit

    def terms(self, k: int) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
        """Interval k's (row, state position, coefficient) terms on entry and exit states."""
        return self._entry_terms[k], self._exit_terms[k]

    def coefficients(self, k: int, entry: np.ndarray, exit_: np.ndarray) -> dict[int, float]:
        """Row coefficients of a column of interval k with these state values."""
        out: dict[int, float] = {}
        for r, i, a in self._entry_terms[k]:
            out[r] = out.get(r, 0.0) + a * entry[i]
        for r, i, a in self._exit_terms[k]:
            out[r] = out.get(r, 0.0) + a * exit_[i]
        return out
