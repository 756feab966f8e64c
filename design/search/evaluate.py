"""Evaluate one candidate design: operation solve -> objectives, or a recorded failure."""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from decomp.workspace import Workspace
from design.network.case import Case
from design.network.operate import OperationSettings, operate
from design.network.results import cost_breakdown, energy_figures, storage_limits


@dataclass(frozen=True)
class Candidate:
    """A design (component sizes) and the operation weight W."""

    design: dict[str, float]
    weight: float

    @property
    def key(self) -> str:
        """Cache key (sizes and W are already rounded by the design space)."""
        return json.dumps({"design": self.design, "W": self.weight}, sort_keys=True)


@dataclass(frozen=True)
class Evaluation:
    """Objectives and solve record of one candidate (``ok`` False: failed, with reason).

    Every money figure is annual (EUR/a): the operation of the ``hours`` solved scaled by
    ``scale_to_year``. ``lower_bound``/``upper_bound`` bound the solved objective
    ``W C_op + (1-W) A - 1e-4 sales`` (the tie-break towards selling) on that annual
    basis; ``weighted_objective`` is ``W C_op + (1-W) A`` of the plan, as a reader
    recomputes it from ``c_op`` and ``autonomy``."""

    design: dict[str, float]
    weight: float
    ok: bool
    annual_total_cost: float | None = None
    autonomy: float | None = None
    capex: float | None = None
    c_op: float | None = None
    status: str | None = None
    gap: float | None = None
    lower_bound: float | None = None
    upper_bound: float | None = None
    weighted_objective: float | None = None
    hours: int | None = None
    scale_to_year: float | None = None
    seconds: float = 0.0
    started_at: float | None = None
    worker: str | None = None
    node: str | None = None
    attempts: int = 1
    error: str | None = None
    peak_rss_mb: float | None = None
    models_kept: bool | None = None
    build_seconds: float | None = None
    costs: dict = field(default_factory=dict)
    energy: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        """Flat record for tables: capacities, W, objectives and certificate, the columns
        an evaluation adds (``extra["columns"]``: a robust one's per-scenario figures),
        then the cost breakdown (``cost.<item>``, EUR/a) and the energy figures."""
        d = asdict(self)
        design = d.pop("design")
        columns = d.pop("extra").get("columns", {})
        costs, energy = d.pop("costs"), d.pop("energy")
        if d["started_at"] is not None:  # ISO 8601 (UTC) for readers; the field stays UNIX
            d["started_at"] = datetime.fromtimestamp(d["started_at"], UTC).isoformat(
                timespec="seconds")
        return {**design, "W": d.pop("weight"), **d, **columns,
                **{f"cost.{k}": v for k, v in costs.items()}, **energy}


def expected_work(case: Case, candidate: Candidate) -> tuple[int, int]:
    """How hard the candidate's operation MILP is expected to be, for ordering only:
    (installed units with on/off binaries, installed components). Binaries are what make
    the year-long MILP slow; handing out the hardest candidates first shortens the tail in
    which one Ray worker waits for another (longest-processing-time-first scheduling)."""
    binaries = installed = 0
    for c in case.spec.components:
        if candidate.design.get(c.name, 0.0) > 0:
            installed += 1
            binaries += hasattr(c, "commitment")
    return binaries, installed


def evaluate(case: Case, candidate: Candidate, settings: OperationSettings,
             workspace: Workspace | None = None) -> Evaluation:
    """Solve the operation of a candidate; any exception becomes a failed evaluation.

    The record says when (``started_at``, UNIX time) and where (``worker``: host and
    process) it ran, so a batch's timeline can be drawn. With a ``workspace`` the
    candidate's dw solve starts from the interval models kept from the last candidate of
    the same structure (``extra["models_kept"]``)."""
    started_at, t0 = time.time(), time.perf_counter()
    where = {"started_at": started_at, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        out = operate(case, candidate.design, replace(settings, weight=candidate.weight),
                      workspace=workspace)
    except Exception as exc:  # noqa: BLE001 - a failing candidate is recorded, not fatal
        return Evaluation(candidate.design, candidate.weight, ok=False,
                          seconds=time.perf_counter() - t0, **where,
                          error=f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
    r, p = out.result, out.parts
    levels = {}
    if out.schedule is not None:
        levels = {c: out.schedule[c].to_numpy(dtype="float32")
                  for c in out.schedule.columns if c.endswith(".level")}
    if p is None:
        return Evaluation(candidate.design, candidate.weight, ok=False, status=r.status,
                          seconds=time.perf_counter() - t0, peak_rss_mb=r.peak_rss_mb, **where,
                          error=f"no operation plan found ({r.status})")
    scale = 8760.0 / p.hours
    w = candidate.weight
    return Evaluation(
        candidate.design, candidate.weight, ok=True,
        annual_total_cost=p.annual_total_cost, autonomy=p.autonomy * scale,
        capex=p.capex, c_op=p.c_op * scale, status=r.status, gap=r.gap,
        lower_bound=None if r.bound is None else r.bound * scale,
        upper_bound=None if r.objective is None else r.objective * scale,
        weighted_objective=(w * p.c_op + (1 - w) * p.autonomy) * scale,
        hours=p.hours, scale_to_year=scale,
        seconds=time.perf_counter() - t0, peak_rss_mb=r.peak_rss_mb,
        costs=cost_breakdown(p, case, candidate.design),
        energy=energy_figures(out.schedule, case),
        models_kept=bool(r.extra.get("models_kept")), build_seconds=r.build_seconds,
        **where, extra={"levels": levels,
                        "limits": storage_limits(case, candidate.design) if levels else {}},
    )

