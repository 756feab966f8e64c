"""Interval models kept across a series of problems of one structure (design candidates).

Building and compiling every interval's Pyomo model and loading it into its solver costs
seconds per problem on a full year; between design candidates only numbers change (sizes
in bounds and coefficients, weights in the objective). A :class:`Workspace` keeps the
last problem's interval models loaded; a provider of the same structure
(:class:`~decomp.provider.ReusableProvider`) assigns its values to them, each model is
recompiled and its solver takes the differences in place. Anything else (another
structure, another cut of the horizon, another solver) builds afresh and replaces what
was kept: one structure is held at a time, so memory stays that of one problem.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

from decomp.horizon import interval_cuts
from decomp.linking import Linking
from decomp.pricing import IntervalSolver
from decomp.provider import BoundaryCondition, IntervalProvider, ReusableProvider
from decomp.settings import MODELS
from decomp.solvers import SolveOptions


@dataclass
class Intervals:
    """The horizon cut into intervals, each with its loaded pricing model."""

    cuts: list[tuple[int, int]]
    conditions: list[BoundaryCondition]
    linking: Linking
    solvers: list[IntervalSolver]
    reused: bool = False
    seconds: float = 0.0




def build_intervals(provider: IntervalProvider, interval: int, options: SolveOptions,
                    models: str = "keep", max_nonzeros: int = 1_000_000) -> Intervals:
    """Cut the horizon, build one loaded pricing model per interval, lay out the rows.

    ``models``: ``keep`` the Pyomo models (plans are written into them, a workspace can
    give them new values), ``drop`` each once it is compiled (one model alive at a time;
    plans are read through the models' ``series``), or ``auto``: drop them when the
    horizon's matrices would have more than ``max_nonzeros`` entries (estimated from the
    first interval) and the models declare series.
    """
    if models not in MODELS:
        raise ValueError(f"models must be one of {', '.join(MODELS)}, not {models!r}")
    t0 = time.perf_counter()
    cuts = interval_cuts(provider.horizon, interval)
    conditions = provider.boundary_conditions()
    entries, exits, solvers = [], [], []
    keep = models != "drop"
    for k, (a, b) in enumerate(cuts):
        im = provider.build(a, b)
        if models == "drop" and not im.series:
            raise ValueError(f"models='drop' needs the provider's interval models to "
                             f"declare series (interval {k}, hours {a}..{b} has none)")
        entries.append(list(im.entry))
        exits.append(list(im.exit))
        sv = IntervalSolver(k, im, options)
        if k == 0 and models == "auto":
            keep = not (im.series and sv.form.A.nnz * len(cuts) > max_nonzeros)
        if not keep:
            sv.drop_model()
            del im
            if k % 32 == 31:
                gc.collect()  # Pyomo models hold cycles: free them while building
        solvers.append(sv)
    linking = Linking(entries, exits, conditions)
    return Intervals(cuts, conditions, linking, solvers, False, time.perf_counter() - t0)


@dataclass
class WorkspaceStats:
    """How often a problem found its models kept (``reused``) or built them (``built``)."""

    built: int = 0
    reused: int = 0
    reloaded: int = 0
    seconds: list[float] = field(default_factory=list)


class Workspace:
    """Keeps the last problem's interval models for the next problem of the same structure.

    Not shared between threads or processes: each worker keeps its own.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._kept: Intervals | None = None
        self.stats = WorkspaceStats()

    def clear(self) -> None:
        """Drop the kept models."""
        self._key, self._kept = None, None

    def intervals(self, provider: IntervalProvider, interval: int,
                  options: SolveOptions) -> Intervals:
        """The provider's intervals: the kept models given its values when the structure,
        the cut and the solver options match, else built afresh (and kept)."""
        t0 = time.perf_counter()
        key = None
        if isinstance(provider, ReusableProvider):
            key = (provider.structure(), provider.horizon, interval, options)
        kept = self._kept
        if key is not None and key == self._key and kept is not None:
            for sv in kept.solvers:
                provider.assign(sv.im)
            reloaded = sum(not sv.refresh() for sv in kept.solvers)
            conditions = provider.boundary_conditions()
            linking = Linking([sv.entry_names for sv in kept.solvers],
                              [sv.exit_names for sv in kept.solvers], conditions)
            out = Intervals(kept.cuts, conditions, linking, kept.solvers, True,
                            time.perf_counter() - t0)
            self.stats.reused += 1
            self.stats.reloaded += reloaded
        else:
            self.clear()
            out = build_intervals(provider, interval, options)
            self.stats.built += 1
        self._key = key
        self._kept = out if key is not None else None
        self.stats.seconds.append(out.seconds)
        return out
