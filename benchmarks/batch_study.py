"""Throughput of a batch study against one design run with the same workers (issue 13).

Usage: ``python benchmarks/batch_study.py [--horizon H] [--budget S] [--workers K]
[--queue hardest-first|fair-share] [--study-only]``.
Runs ``lcen design`` once and a study of 2 variations x 2 seeds (the same search
settings, every run with the same budget), both without seeding and polish so that only
NSGA-II evaluations are timed, and prints evaluations per minute of each.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

RESULTS = Path(__file__).with_name("results")


def main() -> None:
    """Run both and print the comparison."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--horizon", type=int, default=720)
    ap.add_argument("--budget", type=float, default=300.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--queue", choices=("hardest-first", "fair-share"),
                    default="hardest-first")
    ap.add_argument("--study-only", action="store_true",
                    help="skip the single run (compare with an earlier one)")
    args = ap.parse_args()
    search = {"horizon": args.horizon, "time_budget": args.budget, "typical_periods": 0,
              "polish_gap": 0, "generations": 1000, "pop": 10}
    flags = ["--horizon", str(args.horizon), "--time-budget", str(args.budget),
             "--typical-periods", "0", "--polish-gap", "0", "--generations", "1000",
             "--workers", str(args.workers)]
    single = RESULTS / "batch-single"
    t0 = time.perf_counter()
    if not args.study_only:
        subprocess.run([sys.executable, "-m", "design.cli.commands", "design", "reference",
                        *flags, "--out", str(single)], check=True)
    wall_single = time.perf_counter() - t0
    n_single = 0 if args.study_only else len(pd.read_parquet(single / "evaluations.parquet"))
    study = RESULTS / "batch-study.yaml"
    study.write_text(yaml.safe_dump({
        "name": "bench", "cases": ["reference"], "seeds": [1, 2], "search": search,
        "queue": args.queue,
        "variations": [{"name": "base"}, {"name": "pv-30", "changes": [
            {"path": "components.pv.cost.unit_cost", "factor": 0.7}]}]}))
    out = RESULTS / ("batch-study" if args.queue == "hardest-first" else "batch-study-fair")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "design.cli.commands", "batch", str(study),
                    "--workers", str(args.workers), "--out", str(out)], check=True)
    wall_study = time.perf_counter() - t0
    runs = pd.read_csv(out / "runs.csv")
    n_study = int(runs["evaluations"].sum())
    b = 60 * n_study / wall_study
    print(f"study (4 runs, {args.queue}): {n_study} evaluations in {wall_study:.0f} s = "
          f"{b:.2f} per minute; per run {runs['evaluations'].tolist()}")
    if not args.study_only:
        a = 60 * n_single / wall_single
        print(f"single run: {n_single} evaluations in {wall_single:.0f} s = {a:.2f} per "
              f"minute; the study makes {b / a:.1%} of that")


if __name__ == "__main__":
    main()
