"""Direct and LP solves of the reference case at several horizons (issue: foundation).

Each run is a separate ``lcen operate`` process so that peak memory belongs to it.
Usage: ``python benchmarks/foundation.py [--horizons 168 720 2160 8760] [--time-limit S]``;
writes ``benchmarks/results/foundation.csv`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd


def run(case: str, method: str, hours: int, time_limit: float | None, weight: float) -> dict:
    """One ``lcen operate`` run in its own process; returns its summary.json."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "design.cli.commands", "operate", case, "--method", method,
               "--horizon", str(hours), "--weight", str(weight), "--solver", "highs",
               "--out", tmp]
        if time_limit:
            cmd += ["--time-limit", str(time_limit)]
        subprocess.run(cmd, check=False, capture_output=True, text=True)
        path = Path(tmp) / "summary.json"
        if not path.exists():
            return {"method": method, "status": "failed"}
        return json.loads(path.read_text())


def main() -> None:
    """Run the grid of horizons x methods and write the table."""
    p = argparse.ArgumentParser()
    p.add_argument("--case", default="reference")
    p.add_argument("--horizons", type=int, nargs="*", default=[168, 720, 2160, 8760])
    p.add_argument("--methods", nargs="*", default=["lp", "direct"])
    p.add_argument("--time-limit", type=float, default=1800)
    p.add_argument("--weight", type=float, default=0.5)
    args = p.parse_args()
    rows = []
    for hours in args.horizons:
        for method in args.methods:
            s = run(args.case, method, hours, args.time_limit, args.weight)
            row = {"case": args.case, "hours": hours, "method": method,
                   "status": s.get("status"), "objective": s.get("objective"),
                   "bound": s.get("bound"), "gap": s.get("gap"),
                   "build_s": s.get("build_seconds"), "solve_s": s.get("solve_seconds"),
                   "peak_mb": s.get("peak_rss_mb"), "solver": s.get("solver")}
            rows.append(row)
            print(row, flush=True)
    df = pd.DataFrame(rows)
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    df.to_csv(out / f"foundation-{args.case}.csv", index=False)
    print(f"\nmachine: {platform.machine()}, {platform.processor() or ''} python "
          f"{platform.python_version()}")
    print(df.to_string(index=False))


if __name__ == "__main__":
    main()
