"""One ``lcen operate`` run in its own process, so its peak memory is its own."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

GAP_TARGETS: tuple[float, ...] = (0.05, 0.02, 0.01)


@dataclass(frozen=True)
class OperateRun:
    """What to run: case, method, horizon, weight, design overrides and limits."""

    case: str
    method: str
    horizon: int | None = None
    weight: float | None = None
    design: tuple[tuple[str, float], ...] = ()
    time_limit: float | None = None
    gap: float | None = None
    solver: str = "auto"

    def command(self, out: Path) -> list[str]:
        """The ``lcen operate`` command line writing into ``out``."""
        cmd = [sys.executable, "-m", "design.cli.commands", "operate", self.case, "--method",
               self.method, "--solver", self.solver, "--out", str(out)]
        for flag, value in (("--horizon", self.horizon), ("--weight", self.weight),
                            ("--time-limit", self.time_limit), ("--gap", self.gap)):
            if value is not None:
                cmd += [flag, str(value)]
        if self.design:
            cmd += ["--design", *(f"{k}={v}" for k, v in self.design)]
        return cmd


def time_to_gap(log: pd.DataFrame, target: float) -> float | None:
    """First elapsed time at which the certified gap was <= target (from a dw log)."""
    hit = log[log["gap"].notna() & (log["gap"] <= target)]
    return None if hit.empty else float(hit["elapsed"].iloc[0])


def gap_trace(method: str, summary: dict, log: pd.DataFrame | None) -> list[tuple[float, float]]:
    """(seconds, certified gap) points: every dw log row, else the final result."""
    if log is not None and "gap" in log:
        rows = log[log["gap"].notna()]
        return [(float(t), float(g)) for t, g in zip(rows["elapsed"], rows["gap"], strict=True)]
    if summary.get("gap") is not None and method != "lp":
        return [(float(summary["seconds"]), float(summary["gap"]))]
    return []


def run_operate(run: OperateRun, out: Path, quiet: bool = True) -> dict:
    """Run it; returns a flat row: status, LB, UB, gap, seconds, peak memory and the time to
    each certified gap target (None when not reached or, for direct, not known before the
    end: a direct solve reports its gap only when it stops)."""
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(run.command(out), capture_output=quiet, text=True, check=False)
    path = out / "summary.json"
    if not path.exists():
        tail = (proc.stderr or "")[-2000:] if quiet else ""
        raise RuntimeError(f"lcen operate {run.case} --method {run.method} wrote no "
                           f"{path} (exit {proc.returncode}): {tail}")
    summary = json.loads(path.read_text())
    log = pd.read_csv(out / "log.csv") if (out / "log.csv").exists() else None
    row = {
        "case": run.case, "method": run.method, "horizon": run.horizon,
        "weight": summary.get("weight"), "status": summary["status"],
        "lower_bound": summary["bound"],
        "upper_bound": None if run.method == "lp" else summary["objective"],
        "gap": None if run.method == "lp" else summary["gap"], "seconds": summary["seconds"],
        "peak_rss_mb": summary["peak_rss_mb"], "solver": summary["solver"],
    }
    trace = gap_trace(run.method, summary, log)
    for target in GAP_TARGETS:
        hit = [t for t, g in trace if g <= target]
        row[f"seconds_to_{target:.0%}"] = min(hit) if hit else None
    row["trace"] = json.dumps(trace)
    return row
