"""``lcen batch STUDY.yaml``: every run of a study on one shared Ray queue."""

from __future__ import annotations

import argparse
from pathlib import Path

from design.cli.common import ADDRESS_HELP, WORKERS_HELP


def cmd_batch(args: argparse.Namespace) -> int:
    """Expand the study, run it on one Ray pool, write the study report."""
    from design.search.pool import SharedRayPool
    from design.study.report import write_study_report
    from design.study.runner import expand, run_study
    from design.study.spec import load_study

    path = Path(args.study)
    study = load_study(path)
    prepared = expand(study, path)  # every case and variation checked before Ray starts
    out = Path(args.out or f"results/study-{study.name}")
    pool = SharedRayPool(args.workers, args.address)
    try:
        table = run_study(study, path, out, pool, resume=args.resume, prepared=prepared,
                          progress=lambda m: print(f"  {m}", flush=True))
    finally:
        pool.close()
    write_study_report(out)
    failed = int((table["status"] == "failed").sum())
    print(f"  wrote {out}/ (runs.csv, picks.csv, fronts-<case>.png, summary.md; one results "
          f"folder per run){f'; {failed} runs failed' if failed else ''}")
    return 0 if failed == 0 else 2


def add_batch_parser(sub) -> None:
    """Register ``lcen batch``."""
    b = sub.add_parser("batch", help="run a study (cases x variations x seeds) on one Ray "
                                     "queue, locally or on a cluster")
    b.add_argument("study", help="study file (YAML): cases, variations, seeds, search")
    b.add_argument("--address", default=None, help=ADDRESS_HELP)
    b.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    b.add_argument("--resume", action="store_true",
                   help="continue the study in --out: every run from its own checkpoint")
    b.add_argument("--out", default=None, help="study folder (default: results/study-<name>)")
    b.set_defaults(func=cmd_batch)
