"""Generic time-domain Dantzig-Wolfe decomposition engine.

Knows nothing of energy: it works on any :class:`~decomp.provider.IntervalProvider` that
builds a Pyomo model for a contiguous range of time steps with named entry and exit states.
"""

from decomp.provider import BoundaryCondition, IntervalModel, IntervalProvider
from decomp.solvers import SolveOptions, SolverError, SolveResult

__all__ = [
    "BoundaryCondition",
    "IntervalModel",
    "IntervalProvider",
    "SolveOptions",
    "SolveResult",
    "SolverError",
]
