"""One operation solve of one design: case -> model -> method -> schedule and objectives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import pandas as pd

from decomp.dw import DWSettings, solve_dw, solve_rolling
from decomp.methods import MethodResult, solve_direct, solve_lp
from decomp.solvers import SolveOptions
from decomp.workspace import Workspace
from design.network.case import Case
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from design.network.results import ObjectiveParts, objective_parts, schedule_frame

Method = Literal["direct", "lp", "dw", "rolling"]
METHODS: tuple[str, ...] = ("direct", "lp", "dw", "rolling")


@dataclass(frozen=True)
class OperationSettings:
    """How to solve the operation of one design: method, weight, horizon, solver options."""

    method: Method = "direct"
    weight: float | None = None
    horizon: int | None = None
    solve: SolveOptions = field(default_factory=SolveOptions)
    dw: DWSettings = field(default_factory=DWSettings)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.weight is not None and not 0.0 <= self.weight <= 1.0:
            raise ValueError(f"weight W must be in [0, 1], not {self.weight}")

    @property
    def time_limit(self) -> float | None:
        """The limit the chosen method runs under (dw and rolling: their own)."""
        return self.dw.time_limit if self.method in ("dw", "rolling") else self.solve.time_limit

    def capped(self, seconds: float) -> OperationSettings:
        """The same settings with every time limit shortened to at most ``seconds`` (a
        search under a wall-time budget gives each candidate only the time left)."""
        seconds = max(1.0, seconds)

        def cap(limit: float | None) -> float:
            return seconds if limit is None else min(limit, seconds)

        return replace(self, solve=replace(self.solve, time_limit=cap(self.solve.time_limit)),
                       dw=replace(self.dw, time_limit=cap(self.dw.time_limit)))


@dataclass
class OperationOutcome:
    """A solved operation: the method's result, the hourly schedule and the objective parts."""

    design: dict[str, float]
    weight: float
    result: MethodResult
    schedule: pd.DataFrame | None
    parts: ObjectiveParts | None

    def summary(self) -> dict:
        """Flat dictionary for summary.json."""
        r = self.result
        out = {
            "method": r.method,
            "status": r.status,
            "objective": r.objective,
            "bound": r.bound,
            "gap": r.gap,
            "seconds": r.seconds,
            "build_seconds": r.build_seconds,
            "solve_seconds": r.solve_seconds,
            "peak_rss_mb": r.peak_rss_mb,
            "solver": r.solver,
            "weight": self.weight,
            "design": self.design,
        }
        if self.parts is not None:
            out |= asdict(self.parts)
        else:
            out |= {"c_op": None, "autonomy": None, "capex": None, "annual_total_cost": None}
        out |= r.extra
        return out


def operate(
    case: Case, design: dict[str, float], settings: OperationSettings, progress=None,
    workspace: Workspace | None = None,
) -> OperationOutcome:
    """Build the operation model of ``design`` and solve it with the chosen method.

    ``workspace`` (dw only): interval models kept from the last design with the same
    installed components take this design's sizes and W instead of being built again."""
    weight = case.spec.weight if settings.weight is None else settings.weight
    data = prepare(case, design, settings.horizon)
    provider = EnergyProvider(data, weight)
    if settings.method == "lp":
        result = solve_lp(provider, settings.solve)
    elif settings.method == "dw":
        result = solve_dw(provider, settings.dw, progress, workspace)
    elif settings.method == "rolling":
        result = solve_rolling(provider, settings.dw, progress)
    else:
        result = solve_direct(provider, settings.solve)
    schedule = parts = None
    if result.plan is not None:
        schedule = schedule_frame([result.plan], data)
        parts = objective_parts(schedule, data, case, design)
    return OperationOutcome(design, weight, result, schedule, parts)
