"""One operation solve of one design: case -> model -> method -> schedule and objectives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import pandas as pd

from decomp.dw import DWSettings, solve_dw, solve_rolling
from decomp.methods import MethodResult, solve_direct, solve_lp
from decomp.settings import ENGINE_KEYS
from decomp.solvers import SolveOptions
from decomp.workspace import Workspace
from design.network.basis import Basis
from design.network.case import Case
from design.network.model import TIE_BREAK, EnergyProvider
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
    basis: Basis

    @property
    def weighted_objective(self) -> float | None:
        """``W C_op + (1-W) A`` of the plan over the solved hours (no tie-break term)."""
        p = self.parts
        return None if p is None else self.weight * p.c_op + (1 - self.weight) * p.autonomy

    def annual(self) -> dict[str, float | None]:
        """The plan's figures on an annual basis (EUR/a; per-horizon values x scale)."""
        r, p, k = self.result, self.parts, self.basis.scale

        def scaled(v: float | None) -> float | None:
            return None if v is None else v * k

        out = {"objective": scaled(r.objective), "bound": scaled(r.bound),
               "weighted_objective": scaled(self.weighted_objective)}
        if p is not None:
            out |= {"c_op": p.c_op * k, "autonomy": p.autonomy * k,
                    "purchase_cost": p.purchase_cost * k, "sales_revenue": p.sales_revenue * k,
                    "fuel_cost": p.fuel_cost * k, "start_cost": p.start_cost * k,
                    "capex": p.capex, "annual_total_cost": p.annual_total_cost}
        return out

    def summary(self) -> dict:
        """Dictionary for summary.json: what was solved (``basis``), the solver's figures
        over the solved hours, and ``annual`` the same on a yearly basis."""
        r, p = self.result, self.parts
        out = {
            "method": r.method,
            "status": r.status,
            "basis": self.basis.as_dict(),
            "meaning": {
                "objective": f"W C_op + (1-W) A - {TIE_BREAK:g} sales of the plan over the "
                             "solved hours (the solved objective; the small last term breaks "
                             "ties towards selling)",
                "bound": "proven lower bound on that objective over the solved hours",
                "weighted_objective": "W C_op + (1-W) A of the plan over the solved hours",
                "per_horizon": "EUR over the solved hours",
                "annual": "EUR/a: per-horizon figures x basis.scale_to_year; capex is "
                          "annual by definition",
            },
            "objective": r.objective,
            "bound": r.bound,
            "weighted_objective": self.weighted_objective,
            "gap": r.gap,
            "seconds": r.seconds,
            "build_seconds": r.build_seconds,
            "solve_seconds": r.solve_seconds,
            "peak_rss_mb": r.peak_rss_mb,
            "solver": r.solver,
            "weight": self.weight,
            "design": self.design,
        }
        out["per_horizon"] = None if p is None else {
            k: v for k, v in asdict(p).items() if k not in ("capex", "annual_total_cost")}
        out["annual"] = self.annual()
        out["capex"] = None if p is None else p.capex
        out["annual_total_cost"] = None if p is None else p.annual_total_cost
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
    return OperationOutcome(design, weight, result, schedule, parts,
                            Basis.of(case, settings.horizon))


def run_operation(record: dict) -> OperationSettings:
    """The operation settings a design run used (``settings.json``'s ``operation``), so a
    drill-down solves the pick as the run did: method, horizon, gap, limits, dw settings.
    Keys a newer lcen no longer knows are left out."""
    solve = SolveOptions(**{k: v for k, v in record.get("solve", {}).items()
                            if k in SolveOptions.__dataclass_fields__})
    dw = record.get("dw", {})
    dw_kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in dw.items()
                 if k in ENGINE_KEYS}
    dw_solve = SolveOptions(**{k: v for k, v in dw.get("solve", {}).items()
                               if k in SolveOptions.__dataclass_fields__})
    return OperationSettings(method=record.get("method", "dw"), horizon=record.get("horizon"),
                             solve=solve, dw=DWSettings(**dw_kwargs, solve=dw_solve))
