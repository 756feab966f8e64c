"""The contract between the engine and a model: intervals of time with entry/exit states."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import pyomo.environ as pyo


@dataclass
class IntervalModel:
    """A Pyomo model of the steps ``start..stop-1`` with its cost and boundary states.

    ``entry[name]`` is the state just before ``start`` and ``exit[name]`` the state after
    ``stop - 1``; the same name at consecutive boundaries denotes the same physical state,
    which is what lets the engine glue intervals together. ``binaries[t]`` lists the
    integer variables of step ``t``, binary or general (e.g. 0-2 units), each with its
    own bounds, which the engine keeps (a binary held at 0 by its bounds stays at 0); they
    are what a repair fixes away from boundaries. The model carries no objective: the
    engine adds one (the cost, or a priced cost). ``series`` (optional) names what a plan
    is read as: per name, the variable of each step ``start..stop-1`` (None where there is
    none: 0) and a factor (a number or one per step); an engine that has them can drop
    the models once they are compiled and still report plans (:class:`SeriesPlan`).
    """

    start: int
    stop: int
    model: pyo.ConcreteModel
    cost: pyo.Expression
    entry: dict[str, pyo.Var] = field(default_factory=dict)
    exit: dict[str, pyo.Var] = field(default_factory=dict)
    binaries: dict[int, list] = field(default_factory=dict)
    parts: list[IntervalModel] = field(default_factory=list)
    series: dict[str, tuple[list, float | np.ndarray]] = field(default_factory=dict)

    @property
    def length(self) -> int:
        """Number of time steps covered."""
        return self.stop - self.start


@dataclass(frozen=True)
class SeriesPlan:
    """A plan of steps ``start..stop-1`` as the provider's named series (values already
    multiplied by their factors; a name absent from an interval is 0 there): what a plan
    is once the interval models were dropped after compiling."""

    start: int
    stop: int
    series: dict[str, np.ndarray]

    @property
    def length(self) -> int:
        """Number of time steps covered."""
        return self.stop - self.start


@dataclass(frozen=True)
class BoundaryCondition:
    """A condition on a state at the horizon's edges.

    ``fixed``: the entry state at step 0 equals ``value``.
    ``cyclic``: the exit state after the last step is ``>=`` (or ``==``) the entry state
    at step 0 (storage ends the horizon at least as full as it began).
    """

    state: str
    kind: Literal["fixed", "cyclic"]
    value: float = 0.0
    sense: Literal[">=", "=="] = ">="


@runtime_checkable
class IntervalProvider(Protocol):
    """Anything that can build an interval of its horizon as a Pyomo model."""

    @property
    def horizon(self) -> int:
        """Number of time steps of the whole problem."""
        ...

    def build(self, start: int, stop: int, relax: bool = False) -> IntervalModel:
        """Build steps ``start..stop-1``; ``relax`` makes integer variables continuous."""
        ...

    def boundary_conditions(self) -> list[BoundaryCondition]:
        """Conditions on the entry states at step 0 and exit states at the horizon end."""
        ...


@runtime_checkable
class ReusableProvider(IntervalProvider, Protocol):
    """A provider whose models can be kept and given another provider's numbers.

    Two providers with equal :meth:`structure` keys build models with the same variables
    and constraints; only parameter values (mutable Pyomo Params: sizes, weights) differ.
    :meth:`assign` writes this provider's values into a model the other built, so an
    engine can keep its compiled and loaded models across a series of problems (design
    candidates) and change numbers instead of building again.
    """

    def structure(self) -> Hashable:
        """Key of the model structure (equal keys: the same variables and constraints)."""
        ...

    def assign(self, im: IntervalModel) -> None:
        """Give a model built by a provider of the same structure this one's values."""
        ...


def lead_components(provider: IntervalProvider) -> frozenset[str]:
    """The names of the model components (Pyomo components of the interval models) whose
    integers the engine's local search should re-decide first, alone: a provider may say
    so with a ``lead_components`` attribute (decisions that pay off beyond a few
    intervals, such as units charging a seasonal store); none otherwise."""
    names = getattr(provider, "lead_components", None)
    if names is None:
        return frozenset()
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"{type(provider).__name__}.lead_components must be a collection of "
                        f"component names, not {names!r}")
    return frozenset(names)
