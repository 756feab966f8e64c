"""``lcen stress RESULTS_DIR --scenarios FILE``: a front's designs on every scenario."""

from __future__ import annotations

import argparse
from pathlib import Path

from design.cli.common import ADDRESS_HELP, EXECUTOR_HELP, WORKERS_HELP, RunProgress


def cmd_stress(args: argparse.Namespace) -> int:
    """Solve the designs on every scenario, write the tables, figures and report."""
    from design.scenarios.report import write_stress_report
    from design.scenarios.stress import StressSettings, run_stress

    folder = Path(args.dir)
    how = StressSettings(picks_only=args.picks, executor=args.executor,
                         workers=args.workers, address=args.address, retries=args.retries,
                         gap=args.gap, time_limit=args.time_limit)
    out = Path(args.out or folder / f"stress-{Path(args.scenarios).stem}")
    print(f"lcen stress: the {'picks' if args.picks else 'front'} of {folder} on the "
          f"scenarios of {args.scenarios}; results in {out}/", flush=True)
    progress = RunProgress()
    try:
        long = run_stress(folder, Path(args.scenarios), out, how, resume=args.resume,
                          overwrite=args.overwrite, progress=progress)
    finally:
        progress.close()
    write_stress_report(out)
    failed = int((~long["ok"].astype(bool)).sum())
    print(f"  wrote {out}/ (summary.md and report.html to read; stress.csv, robustness.csv, "
          f"figures){f'; {failed} evaluations without a plan' if failed else ''}")
    return 0 if failed == 0 else 2


def add_stress_parser(sub) -> None:
    """Register ``lcen stress``."""
    s = sub.add_parser("stress", help="solve a front's designs (or its picks) on every "
                                      "scenario of a scenario file: expected, worst and "
                                      "best figures and regrets")
    s.add_argument("dir", help="results folder of lcen design")
    s.add_argument("--scenarios", required=True, metavar="FILE",
                   help="scenario file (YAML): named scenarios with changes and "
                        "probabilities, e.g. cases/scenarios/reference-stress.yaml")
    s.add_argument("--picks", action="store_true",
                   help="only the picks (cost-weighted, balanced, autonomy-weighted), not "
                        "the whole front")
    s.add_argument("--executor", choices=("ray", "serial"), default="ray", help=EXECUTOR_HELP)
    s.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    s.add_argument("--address", default=None, help=ADDRESS_HELP)
    s.add_argument("--retries", type=int, default=1,
                   help="retries of an evaluation that raised (a node lost)")
    s.add_argument("--gap", type=float, default=None,
                   help="certified gap each evaluation aims at (default: the run's polish "
                        "gap, the gap its front was certified to)")
    s.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="time limit of each evaluation (default: the run's polish time "
                        "limit)")
    s.add_argument("--resume", action="store_true",
                   help="continue the stress run in --out from its checkpoint")
    s.add_argument("--overwrite", action="store_true",
                   help="replace the stress run in --out")
    s.add_argument("--out", default=None,
                   help="folder (default: RESULTS_DIR/stress-<scenario file name>)")
    s.set_defaults(func=cmd_stress)
