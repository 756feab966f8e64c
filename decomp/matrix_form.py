"""A Pyomo model compiled once into matrices (Pyomo's standard-form compiler): what the
engine loads into solvers directly, glues into a whole horizon and checks plans against.

Rows are ``row_lower <= A x <= row_upper``; columns carry their own declared bounds and
integrality (never replaced by [0, 1]); ``columns[j]`` is the Pyomo variable of column j,
so a plan's values can be written back for the provider to read. A form whose model was
dropped (:meth:`MatrixForm.detached`) keeps only :class:`Labels`: the component and index
of each column and row, what messages need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from decomp.certificate import PlanCheck


class CompileError(ValueError):
    """The model cannot be used as matrices (e.g. the compiler eliminated variables)."""


def _bound(value, default: float) -> float:
    return default if value is None else float(value)


@dataclass(frozen=True)
class Labels:
    """The names of a form's columns or rows without their Pyomo objects: each entry's
    component (a code into ``components``) and its index in it (``-1``: not an integer
    index). About 12 bytes an entry instead of a model's objects."""

    components: tuple[str, ...]
    code: np.ndarray
    index: np.ndarray

    @classmethod
    def of(cls, items) -> Labels:
        """Labels of Pyomo variables or constraints (strings, e.g. glued linking rows,
        are components of their own)."""
        ids: dict[str, int] = {}
        code = np.empty(len(items), dtype=np.int32)
        index = np.full(len(items), -1, dtype=np.int64)
        for i, item in enumerate(items):
            if isinstance(item, str):
                name = item
            else:
                name = item.parent_component().local_name
                idx = item.index()
                if isinstance(idx, int):
                    index[i] = idx
            code[i] = ids.setdefault(name, len(ids))
        return cls(tuple(ids), code, index)

    @classmethod
    def concat(cls, parts: list) -> Labels:
        """One label list of several (Labels or lists of Pyomo objects), in order."""
        parts = [p if isinstance(p, Labels) else Labels.of(p) for p in parts]
        ids: dict[str, int] = {}
        codes = []
        for p in parts:
            remap = np.array([ids.setdefault(c, len(ids)) for c in p.components],
                             dtype=np.int32)
            codes.append(remap[p.code] if len(p.code) else p.code)
        return cls(tuple(ids), np.concatenate(codes) if codes else np.zeros(0, np.int32),
                   np.concatenate([p.index for p in parts]) if parts
                   else np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.code)

    def component(self, i: int) -> str:
        """The component entry ``i`` belongs to."""
        return self.components[self.code[i]]

    def name(self, i: int) -> str:
        """Entry ``i``'s name as Pyomo writes it where the index is an integer."""
        comp = self.component(i)
        return comp if self.index[i] < 0 else f"{comp}[{self.index[i]}]"


def label_name(items, i: int) -> str:
    """Name of entry ``i`` of a form's ``columns`` or ``rows`` (objects or labels)."""
    if isinstance(items, Labels):
        return items.name(i)
    item = items[i]
    return item if isinstance(item, str) else item.name


def label_component(items, i: int) -> str:
    """Component of entry ``i`` of a form's ``columns`` (objects or labels)."""
    if isinstance(items, Labels):
        return items.component(i)
    return items[i].parent_component().local_name


@dataclass
class MatrixForm:
    """``min cost . x + offset`` s.t. ``row_lower <= A x <= row_upper``, ``lb <= x <= ub``,
    ``x[integer]`` integral."""

    A: sp.csr_matrix
    row_lower: np.ndarray
    row_upper: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    integer: np.ndarray
    cost: np.ndarray
    offset: float
    columns: list
    rows: list

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return self.A.shape

    def csc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Column-wise (start, index, value) arrays of A, built once."""
        cached = self.__dict__.get("_csc")
        if cached is None:
            c = self.A.tocsc()
            cached = (c.indptr.astype(np.int32), c.indices.astype(np.int32),
                      c.data.astype(np.float64))
            self.__dict__["_csc"] = cached
        return cached

    @property
    def detached_from_model(self) -> bool:
        """True once the model's objects were dropped (:meth:`detached`)."""
        return isinstance(self.columns, Labels)

    def detached(self) -> MatrixForm:
        """The same matrices with labels instead of the model's variables and constraints,
        so the Pyomo model can be freed."""
        return replace(self, columns=Labels.of(self.columns), rows=Labels.of(self.rows))

    def index(self) -> dict[int, int]:
        """Column of each variable, keyed by ``id(var)``."""
        if self.detached_from_model:
            raise CompileError("the form's model was dropped; its variables are unknown")
        return {id(v): j for j, v in enumerate(self.columns)}

    def objective(self, x: np.ndarray) -> float:
        """The cost of column values ``x``."""
        return float(self.cost @ x + self.offset)

    def clip(self, values: np.ndarray, columns: np.ndarray | None = None,
             integral: bool = True) -> np.ndarray:
        """Values of ``columns`` (default: all) inside their declared bounds, integer
        columns rounded unless ``integral`` is False (the LP relaxation's values) (a state
        carried over from another solve may be 0.9999999 or -1e-16; a flow within
        feasibility tolerance of a bound goes onto it)."""
        cols = slice(None) if columns is None else np.asarray(columns, dtype=int)
        v = np.asarray(values, dtype=float)
        if integral:
            v = np.where(self.integer[cols], np.round(v), v)
        return np.clip(v, self.lb[cols], self.ub[cols])

    def check(self, x: np.ndarray) -> PlanCheck:
        """How far ``x`` is from satisfying this form: every row, every column's declared
        bounds and integrality, the worst of each named, and the cost recomputed."""
        row, col, whole = violations(self.A, self.row_lower, self.row_upper, self.lb,
                                     self.ub, self.integer, x)
        worst = []
        if len(row) and row.max() > 0:
            i = int(row.argmax())
            worst.append(f"row {label_name(self.rows, i)} off by {row[i]:.3g}")
        if len(col) and col.max() > 0:
            j = int(col.argmax())
            worst.append(f"{label_name(self.columns, j)} = {x[j]!r} outside "
                         f"[{self.lb[j]}, {self.ub[j]}]")
        if len(whole) and whole.max() > 0:
            j = int(whole.argmax())
            worst.append(f"{label_name(self.columns, j)} = {x[j]!r} not integral")
        return PlanCheck(rows=len(row), columns=len(col),
                         row_violation=float(row.max()) if len(row) else 0.0,
                         bound_violation=float(col.max()) if len(col) else 0.0,
                         integrality_violation=float(whole.max()) if len(whole) else 0.0,
                         objective=self.objective(np.nan_to_num(x)), worst=tuple(worst))

    def same_structure(self, other: MatrixForm) -> bool:
        """True when ``other`` has the same columns (the same variables, in order), rows,
        integrality and non-zero pattern: only numbers differ, so a loaded solver can take
        it as changes rather than a new load."""
        a, b = self.A, other.A
        if self.detached_from_model or other.detached_from_model:
            return False
        return (a.shape == b.shape and len(self.columns) == len(other.columns)
                and all(u is v for u, v in zip(self.columns, other.columns, strict=True))
                and np.array_equal(self.integer, other.integer)
                and np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices))

    def write_values(self, x: np.ndarray) -> None:
        """Load column values into the Pyomo variables (integers rounded)."""
        if self.detached_from_model:
            raise CompileError("the form's model was dropped; read the plan's series")
        for v, val, is_int in zip(self.columns, x, self.integer, strict=True):
            v.set_value(float(round(val)) if is_int else float(val), skip_validation=True)


def compile_form(model: pyo.ConcreteModel, cost) -> MatrixForm:
    """Compile ``min cost`` over the model's active constraints (its own objectives are
    left out and stay as they were)."""
    active = [o for o in model.component_data_objects(pyo.Objective, active=True)]
    for obj in active:
        obj.deactivate()
    model._matrix_cost = pyo.Objective(expr=cost, sense=pyo.minimize)
    try:
        form = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
    finally:
        model.del_component("_matrix_cost")
        for obj in active:
            obj.activate()
    if form.eliminated_vars:
        raise CompileError("the matrix form needs every variable as it is declared")
    columns = list(form.columns)
    n = len(columns)
    rhs = np.asarray(form.rhs, dtype=float)
    kind = np.array([r.bound_type for r in form.rows], dtype=int)
    row_lower = np.where(kind == 1, -math.inf, rhs)  # 0: '=', 1: '<=', -1: '>='
    row_upper = np.where(kind == -1, math.inf, rhs)
    A = sp.csr_matrix(form.A, shape=(len(kind), n)) if len(kind) else sp.csr_matrix((0, n))
    cost = np.asarray(form.c.toarray()).ravel() if n else np.zeros(0)
    return MatrixForm(
        A=A,
        row_lower=row_lower,
        row_upper=row_upper,
        lb=np.array([_bound(v.lb, -math.inf) for v in columns]),
        ub=np.array([_bound(v.ub, math.inf) for v in columns]),
        integer=np.array([v.is_integer() for v in columns], dtype=bool),
        cost=cost,
        offset=float(form.c_offset[0]) if len(form.c_offset) else 0.0,
        columns=columns,
        rows=[r.constraint for r in form.rows],
    )


def violations(A: sp.csr_matrix, row_lower: np.ndarray, row_upper: np.ndarray,
               lb: np.ndarray, ub: np.ndarray, integer: np.ndarray, x: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row (relative to the row's right-hand side, at least 1), per column bound and
    per integer column: how far ``x`` is from satisfying them (0 where it does)."""
    ax = A @ np.nan_to_num(x)
    row = np.maximum(np.maximum(row_lower - ax, ax - row_upper), 0.0)
    rhs = np.where(np.isfinite(row_lower), row_lower, row_upper)
    row = row / np.maximum(1.0, np.minimum(np.abs(np.nan_to_num(rhs)), 1e12))
    col = np.maximum(np.maximum(lb - x, x - ub), 0.0)
    col = np.where(np.isnan(x), np.inf, col)
    whole = np.where(integer, np.abs(x - np.round(x)), 0.0)
    return row, col, whole
