"""Time the main job: ``lcen design`` with its defaults (reference case, full year, dw).

Usage: ``python benchmarks/design_search.py [extra lcen design arguments]``; runs
``lcen design ... --out benchmarks/results/design-default`` and prints wall time,
evaluations per minute and the per-generation history (hypervolume).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    """Run the search and summarise its history."""
    out = Path(__file__).with_name("results") / "design-default"
    cmd = [sys.executable, "-m", "design.cli.commands", "design", *sys.argv[1:], "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    hist = pd.read_csv(out / "history.csv")
    evals = pd.read_parquet(out / "evaluations.parquet")
    front = pd.read_csv(out / "pareto.csv")
    print(f"wall {wall:.0f} s, {len(evals)} evaluations ({(~evals['ok']).sum()} failed), "
          f"{len(evals) / wall * 60:.2f} evaluations per minute, front {len(front)} designs")
    print(f"mean evaluation {evals['seconds'].mean():.0f} s (max {evals['seconds'].max():.0f})")
    print(hist.to_string(index=False))


if __name__ == "__main__":
    main()
