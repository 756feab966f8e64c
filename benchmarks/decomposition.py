"""direct vs dw vs lp vs rolling on one case: time to certified gaps, final bounds, memory.

Each method runs as its own ``lcen operate`` process (peak memory belongs to it).
Usage: ``python benchmarks/decomposition.py --case reference [--horizon 8760]
[--time-limit 3600] [--methods dw rolling lp direct]``; writes
``benchmarks/results/decomposition-<case>.csv`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

OUT = Path(__file__).with_name("results")


def time_to_gap(log: pd.DataFrame, target: float) -> float | None:
    """First elapsed time at which the certified gap was <= target (from a dw log)."""
    hit = log[log["gap"].notna() & (log["gap"] <= target)]
    return None if hit.empty else float(hit["elapsed"].iloc[0])


def run(case: str, method: str, horizon: int | None, time_limit: float, gap: float) -> dict:
    """One method in its own process; returns the summary plus times to 5/2/1 % gaps."""
    out = OUT / f"{method}-{case}-{horizon or 'full'}"
    cmd = [sys.executable, "-m", "design.cli", "operate", case, "--method", method,
           "--time-limit", str(time_limit), "--gap", str(gap), "--out", str(out)]
    if horizon:
        cmd += ["--horizon", str(horizon)]
    subprocess.run(cmd, check=False)
    summary = json.loads((out / "summary.json").read_text())
    row = {"method": method, "status": summary["status"], "LB": summary["bound"],
           "UB": summary["objective"] if method != "lp" else None, "gap": summary["gap"],
           "seconds": summary["seconds"], "peak_mb": summary["peak_rss_mb"],
           "solver": summary["solver"]}
    log_path = out / "log.csv"
    for target in (0.05, 0.02, 0.01):
        if log_path.exists():
            row[f"t_{target:.0%}"] = time_to_gap(pd.read_csv(log_path), target)
        elif summary["gap"] is not None and method == "direct" and summary["gap"] <= target:
            row[f"t_{target:.0%}"] = summary["seconds"]  # upper estimate: total solve time
        else:
            row[f"t_{target:.0%}"] = None
    return row


def main() -> None:
    """Run the methods and write the comparison table."""
    p = argparse.ArgumentParser()
    p.add_argument("--case", default="reference")
    p.add_argument("--horizon", type=int, default=None)
    p.add_argument("--methods", nargs="*", default=["dw", "rolling", "lp", "direct"])
    p.add_argument("--time-limit", type=float, default=3600)
    p.add_argument("--gap", type=float, default=0.001)
    args = p.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = [run(args.case, m, args.horizon, args.time_limit, args.gap) for m in args.methods]
    df = pd.DataFrame(rows)
    df.to_csv(OUT / f"decomposition-{args.case}-{args.horizon or 'full'}.csv", index=False)
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
