"""``lcen bench operation|design|scaling``: argument parsing and printed summaries."""

from __future__ import annotations

import argparse
from pathlib import Path

from decomp.dw import DWSettings
from decomp.solvers import SolveOptions
from design.cli.common import (
    ADDRESS_HELP,
    CASE_HELP,
    EXECUTOR_HELP,
    HORIZON_HELP,
    OUT_HELP,
    SOLVER_HELP,
    WORKERS_HELP,
    HelpFormatter,
    design_overrides,
)
from design.network.operate import METHODS, OperationSettings
from design.search.executors import ORDERS


def _say(msg: str) -> None:
    print(f"  {msg}", flush=True)


def _design_pairs(items: list[str] | None) -> tuple[tuple[str, float], ...]:
    return tuple(design_overrides(items or []).items())


def cmd_bench_operation(args: argparse.Namespace) -> int:
    """direct vs dw vs lp vs rolling on one case."""
    from design.bench.operation import OperationBench, bench_operation
    from design.network.builtin import resolve_case

    resolve_case(args.case)  # a bad case name fails here, before any run
    bench = OperationBench(
        case=args.case, methods=tuple(args.methods),
        weights=tuple(args.weights) if args.weights else (None,),
        design=_design_pairs(args.design), horizon=args.horizon,
        time_limit=args.time_limit, gap=args.gap, solver=args.solver)
    out = Path(args.out or f"results/bench-operation-{args.case}")
    df = bench_operation(bench, out, _say)
    cols = ["method", "weight", "status", "lower_bound", "upper_bound", "gap",
            "seconds_to_5%", "seconds_to_2%", "seconds_to_1%", "seconds", "peak_rss_mb"]
    print(df[cols].to_string(index=False))
    print(f"wrote {out}/operation.csv and operation.png")
    return 0


def cmd_bench_design(args: argparse.Namespace) -> int:
    """Design MILP per weight vs NSGA-II + decomposition under equal wall time."""
    from design.bench.design_compare import DesignBench, bench_design
    from design.network.builtin import resolve_case
    from design.search.executors import make_executor
    from design.search.settings import SearchSettings

    case = resolve_case(args.case)
    op = OperationSettings(
        method=args.method, horizon=args.horizon,
        solve=SolveOptions(time_limit=args.eval_time_limit),
        dw=DWSettings(gap=args.gap, time_limit=args.eval_time_limit))
    search = SearchSettings(pop=args.pop, generations=args.max_generations, seed=args.seed,
                            operation=op)
    bench = DesignBench(weights=args.weights, time_per_weight=args.time_per_weight,
                        horizon=args.horizon, search_budget=args.search_budget, search=search)
    out = Path(args.out or f"results/bench-design-{case.name}")
    executor = make_executor(args.executor, case, op, 1, args.workers, args.address,
                             longest_first=args.order == "longest-first")
    try:
        res = bench_design(case, bench, executor, out, _say)
    finally:
        executor.close()
    print(res["comparison"].to_string(index=False))
    print(f"wrote {out}/ (design-milp.csv, comparison.csv, fronts.csv, fronts.png, search/)")
    return 0


def cmd_bench_front(args: argparse.Namespace) -> int:
    """A reference set of full-year designs; the front of a results folder judged on it."""
    from design.bench.front import FrontBench, bench_front
    from design.network.builtin import resolve_case
    from design.search.executors import make_executor

    case = resolve_case(args.case)
    op = OperationSettings(method="dw", horizon=args.horizon,
                           dw=DWSettings(gap=args.gap, time_limit=args.eval_time_limit))
    bench = FrontBench(typical_periods=args.typical_periods,
                       seed_time_limit=args.seed_time_limit, add_seeds=args.add_seeds,
                       screen_periods=args.screen_periods,
                       simple_fractions=tuple(args.simple_fractions),
                       simple_limit=args.simple_limit, milp_weights=args.milp_weights,
                       time_per_weight=args.time_per_weight,
                       milp_lp_solver=args.milp_lp_solver, operation=op)
    out = Path(args.out or f"results/bench-front-{case.name}")
    executor = make_executor(args.executor, case, op, 1, args.workers, None)
    try:
        res = bench_front(case, bench, executor, out,
                          Path(args.front) if args.front else None, args.reuse, _say)
    finally:
        executor.close()
    if "metrics" in res:
        m = res["metrics"]
        print(f"epsilon indicator {m['epsilon']:.4f}, hypervolume share "
              f"{m['hypervolume_share']:.1%}, {m['covered_within_1pct']} of "
              f"{m['reference_points']} reference points covered within 1 %")
    print(f"wrote {out}/ (reference.csv, reference-all.csv, metrics.json, fronts.png)")
    return 0


def cmd_bench_scaling(args: argparse.Namespace) -> int:
    """Throughput against workers; dw and direct time against horizon and node count."""
    from design.bench.scaling import ScalingBench, bench_scaling

    bench = ScalingBench(
        case=args.case, workers=tuple(args.workers), candidates=args.candidates,
        candidate_horizon=args.candidate_horizon, horizons=tuple(args.horizons),
        nodes=tuple(args.nodes), node_horizon=args.node_horizon,
        methods=tuple(args.methods), time_limit=args.time_limit, gap=args.gap,
        seed=args.seed, orders=tuple(args.orders),
        operation=OperationSettings(method=args.eval_method,
                                    dw=DWSettings(gap=args.gap, time_limit=args.time_limit),
                                    solve=SolveOptions(time_limit=args.time_limit)))
    out = Path(args.out or "results/bench-scaling")
    res = bench_scaling(bench, out, _say)
    if len(res["throughput"]):
        print(res["throughput"].to_string(index=False))
    if len(res["time"]):
        cols = ["axis", "value", "method", "status", "gap", "seconds", "peak_rss_mb"]
        print(res["time"][cols].to_string(index=False))
    print(f"wrote {out}/ (throughput.csv, time.csv, scaling.png)")
    return 0


def add_order_argument(parser: argparse.ArgumentParser) -> None:
    """``--order``: how a Ray executor hands out a batch of candidates."""
    parser.add_argument("--order", choices=ORDERS, default=ORDERS[0],
                        help="Ray: hardest candidates first (less idle time at the end of a "
                             "batch) or in the order NSGA-II gives them")


def add_bench_parser(sub) -> None:
    """Register ``lcen bench`` and its three commands."""
    bench = sub.add_parser("bench", help="comparisons with direct solves, scaling studies",
                           formatter_class=HelpFormatter)
    bs = bench.add_subparsers(dest="bench_command", required=True)

    op = bs.add_parser("operation", help="direct vs dw vs lp vs rolling on one case")
    op.add_argument("case", help=CASE_HELP)
    op.add_argument("--methods", nargs="+", choices=METHODS,
                    default=["direct", "dw", "lp", "rolling"], help="methods to compare")
    op.add_argument("--weights", nargs="*", type=float, default=None,
                    help="operation weights W to run (default: the case's W)")
    op.add_argument("--design", nargs="*", metavar="COMPONENT=SIZE",
                    help="sizes that differ from the case's default design")
    op.add_argument("--horizon", type=int, default=None, help=HORIZON_HELP)
    op.add_argument("--time-limit", type=float, default=3600.0, help="per method run")
    op.add_argument("--gap", type=float, default=0.01, help="dw/rolling target gap")
    op.add_argument("--solver", choices=("auto", "highs", "gurobi"), default="auto",
                    help=SOLVER_HELP)
    op.add_argument("--out", default=None, help=OUT_HELP)
    op.set_defaults(func=cmd_bench_operation)

    de = bs.add_parser("design", help="design MILP per weight vs NSGA-II, equal wall time")
    de.add_argument("case", nargs="?", default="reference", help=CASE_HELP)
    de.add_argument("--weights", type=int, default=10, help="number of fixed weights")
    de.add_argument("--time-per-weight", type=float, default=600.0,
                    help="seconds of the design MILP per weight")
    de.add_argument("--search-budget", type=float, default=None, metavar="SECONDS",
                    help="the search's wall time (default: what the design MILPs took)")
    de.add_argument("--horizon", type=int, default=None, help=HORIZON_HELP)
    de.add_argument("--method", choices=METHODS, default="dw",
                    help="how the search solves each candidate's operation")
    de.add_argument("--gap", type=float, default=0.03, help="dw gap per evaluation")
    de.add_argument("--eval-time-limit", type=float, default=90.0,
                    help="seconds per candidate evaluation")
    de.add_argument("--pop", type=int, default=10, help="NSGA-II population")
    de.add_argument("--max-generations", type=int, default=1000,
                    help="the wall-time budget normally ends the search first")
    de.add_argument("--seed", type=int, default=1, help="random seed of the search")
    de.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    de.add_argument("--executor", choices=("ray", "serial"), default="ray",
                    help=EXECUTOR_HELP)
    de.add_argument("--address", default=None, help=ADDRESS_HELP)
    add_order_argument(de)
    de.add_argument("--out", default=None, help=OUT_HELP)
    de.set_defaults(func=cmd_bench_design)

    fr = bs.add_parser("front", help="reference set of full-year designs; judge a front "
                                     "(epsilon indicator, hypervolume share)")
    fr.add_argument("case", nargs="?", default="reference", help=CASE_HELP)
    fr.add_argument("--front", default=None, metavar="RESULTS_DIR",
                    help="results folder whose pareto.csv is judged")
    fr.add_argument("--reuse", action="store_true",
                    help="read the reference set back from --out instead of building it")
    fr.add_argument("--typical-periods", type=int, default=48,
                    help="typical days of the reference seeds' design MILP (default 48, "
                         "not the search's 24, so the seeds are not the search's own)")
    fr.add_argument("--seed-time-limit", type=float, default=120.0,
                    help="seconds per reference seed's design MILP (default 120)")
    fr.add_argument("--add-seeds", action="store_true",
                    help="with --reuse: add this run's seeds (--typical-periods) to the "
                         "reference set read back, solving only designs not in it")
    fr.add_argument("--screen-periods", type=int, default=12,
                    help="typical days of the simple designs' screen (default 12)")
    fr.add_argument("--simple-fractions", nargs="+", type=float, default=[0.5, 1.0],
                    help="each installed component of a simple design at this fraction "
                         "of its largest size (default 0.5 1)")
    fr.add_argument("--simple-limit", type=int, default=24,
                    help="simple designs solved on the full year (the screen's "
                         "non-dominated ones, spread; default 24)")
    fr.add_argument("--milp-weights", type=int, default=0,
                    help="full-year design MILP for this many weights, MIP-started from "
                         "the best known design (default 0: none)")
    fr.add_argument("--time-per-weight", type=float, default=600.0,
                    help="seconds of the full-year design MILP per weight")
    fr.add_argument("--milp-lp-solver", choices=("choose", "simplex", "ipm"),
                    default="choose",
                    help="HiGHS' LP solver inside the design MILP (mip_lp_solver; default "
                         "choose)")
    fr.add_argument("--horizon", type=int, default=None, help=HORIZON_HELP)
    fr.add_argument("--gap", type=float, default=0.01, help="dw gap per full-year design")
    fr.add_argument("--eval-time-limit", type=float, default=240.0,
                    help="seconds per full-year design evaluation (dw)")
    fr.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    fr.add_argument("--executor", choices=("ray", "serial"), default="ray",
                    help=EXECUTOR_HELP)
    fr.add_argument("--out", default=None, help=OUT_HELP)
    fr.set_defaults(func=cmd_bench_front)

    sc = bs.add_parser("scaling", help="throughput vs workers; time vs horizon and nodes")
    sc.add_argument("--case", default="reference", help=CASE_HELP)
    sc.add_argument("--workers", nargs="*", type=int, default=[1, 2],
                    help="worker counts of the throughput study")
    sc.add_argument("--candidates", type=int, default=8,
                    help="seeded candidate designs evaluated per worker count")
    sc.add_argument("--candidate-horizon", type=int, default=720,
                    help="hours of each candidate's operation (8760: a full year)")
    sc.add_argument("--orders", nargs="+", choices=ORDERS, default=[ORDERS[0]],
                    help="Ray hand-out orders to measure (each with every worker count)")
    sc.add_argument("--eval-method", choices=METHODS, default="dw",
                    help="operation method of the throughput study")
    sc.add_argument("--horizons", nargs="*", type=int, default=[168, 720, 2160, 8760],
                    help="horizons (hours) of the time-vs-horizon study")
    sc.add_argument("--nodes", nargs="*", type=int, default=[1, 5, 10, 20],
                    help="district sizes (nodes) of the time-vs-nodes study")
    sc.add_argument("--node-horizon", type=int, default=168,
                    help="hours of the time-vs-nodes study")
    sc.add_argument("--methods", nargs="+", choices=METHODS, default=["dw", "direct"],
                    help="methods of the time studies")
    sc.add_argument("--time-limit", type=float, default=600.0,
                    help="seconds per solve of the time studies")
    sc.add_argument("--gap", type=float, default=0.01, help="dw target gap")
    sc.add_argument("--seed", type=int, default=1, help="seed of the candidate sample")
    sc.add_argument("--out", default=None, help=OUT_HELP)
    sc.set_defaults(func=cmd_bench_scaling)
