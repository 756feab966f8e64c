"""Command line: ``lcen operate|design|report|batch|bench`` and ``lcen case ...``."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from decomp.certificate import WITH_PLAN
from decomp.settings import ENGINE_KEYS, PARALLEL, DWSettings, with_engine
from decomp.solvers import SolveOptions, SolverError
from design.cli.batch import add_batch_parser
from design.cli.bench import add_bench_parser, add_order_argument
from design.cli.common import (
    ADDRESS_HELP,
    CASE_HELP,
    EXECUTOR_HELP,
    HORIZON_HELP,
    SOLVER_HELP,
    WORKERS_HELP,
    HelpFormatter,
    design_overrides,
)
from design.cli.stress import add_stress_parser
from design.network.basis import Basis
from design.network.builtin import builtin_names, resolve_case
from design.network.case import CAPACITY_UNITS, Case, CaseError
from design.network.operate import METHODS, OperationSettings, operate, run_operation
from design.network.results import schedule_table
from design.report.picks import AUTONOMY_COST_LIMIT
from design.report.summary import failure_reason
from design.report.tables import read_settings, read_table


def _fmt(x: float | None, spec: str = ".4g") -> str:
    return "-" if x is None else format(x, spec)


def picked_design(folder: Path, pick: str) -> tuple[str, dict[str, float], pd.Series, dict]:
    """(case, design, its row, run settings) of a front design of a results folder:
    ``pick`` is a row number of ``pareto.csv`` (1 = its first design) or a pick name of
    ``picks.csv`` (cost-weighted, balanced, autonomy-weighted)."""
    settings_path, front_path = folder / "settings.json", folder / "pareto.csv"
    for path in (settings_path, front_path):
        if not path.exists():
            raise CaseError(f"--from {folder}: {path.name} not found (not a results folder "
                            "of lcen design?)")
    settings = json.loads(settings_path.read_text())
    front = read_table(front_path)
    if pick.isdigit():
        n = int(pick)
        if not 1 <= n <= len(front):
            raise CaseError(f"--pick {pick}: {front_path} has designs 1 to {len(front)}")
        row = front.iloc[n - 1]
    else:
        picks_path = folder / "picks.csv"
        picks = read_table(picks_path) if picks_path.exists() else pd.DataFrame()
        names = list(picks["pick"]) if "pick" in picks else []
        if pick not in names:
            raise CaseError(f"--pick {pick!r}: not a row number of {front_path} nor one of "
                            f"the picks {names} in {picks_path}")
        row = picks[picks["pick"] == pick].iloc[0]
    kinds = settings.get("component_kinds", {})
    design = {n: float(row[n]) for n in kinds if n in row.index}
    case = settings.get("case_path") or settings["case"]
    return str(case), design, row, settings


#: DWSettings fields with options of their own
_USER_KEYS = ("gap", "time_limit", "interval", "workers", "parallel")

#: ``lcen operate`` options that set a DWSettings field of the same name
_DW_FLAGS = ("interval", "workers", "parallel")


def _engine(args: argparse.Namespace, dw: DWSettings,
            flags: tuple[str, ...] = _DW_FLAGS) -> DWSettings:
    """``dw`` with this command line's options among ``flags`` and its ``--engine``
    pairs."""
    dw = replace(dw, **{f: getattr(args, f) for f in flags})
    try:
        return with_engine(dw, args.engine or [])
    except ValueError as exc:
        raise CaseError(str(exc)) from None


def _cli_operation(args: argparse.Namespace) -> OperationSettings:
    """Operation settings from the command line alone."""
    method = args.method or "direct"
    gap = args.gap if args.gap is not None else (0.01 if method == "dw" else 1e-4)
    return OperationSettings(
        method=method, weight=args.weight, horizon=args.horizon,
        solve=SolveOptions(solver=args.solver, time_limit=args.time_limit, gap=gap,
                           verbose=args.verbose),
        dw=_engine(args, DWSettings(gap=gap if method == "dw" else 0.01,
                                    time_limit=args.time_limit,
                                    solve=SolveOptions(solver=args.solver,
                                                       verbose=args.verbose))))


def _from_run(args: argparse.Namespace, record: dict, weight: float) -> OperationSettings:
    """The run's operation settings with the options given on this command line on top."""
    given = {k for k, default in args.parser_defaults.items()
             if getattr(args, k, default) != default}
    base = run_operation(record.get("operation", {}))
    solve, dw = base.solve, base.dw
    method = args.method if "method" in given else base.method
    if "gap" in given:
        solve = replace(solve, gap=args.gap)
        dw = replace(dw, gap=args.gap)
    if "time_limit" in given:
        solve = replace(solve, time_limit=args.time_limit)
        dw = replace(dw, time_limit=args.time_limit)
    if "solver" in given or "verbose" in given:
        solve = replace(solve, solver=args.solver, verbose=args.verbose)
        dw = replace(dw, solve=replace(dw.solve, solver=args.solver, verbose=args.verbose))
    dw = _engine(args, dw, tuple(f for f in _DW_FLAGS if f in given))
    return OperationSettings(method=method, weight=weight if "weight" not in given
                             else args.weight,
                             horizon=args.horizon if "horizon" in given else base.horizon,
                             solve=solve, dw=dw)


def _scenario_of_run(args: argparse.Namespace, run: dict, case: Case,
                     row: pd.Series) -> tuple[Case, pd.Series]:
    """For a robust run (``--scenarios``): the case of the scenario asked for (the first
    by default) and the run's figures for the design on that scenario, not its
    expectation; otherwise the case and the row as they are."""
    record = run.get("scenarios")
    if not record:
        if args.scenario is not None:
            raise CaseError(f"--scenario {args.scenario!r}: the run in {args.from_dir} was "
                            "made without --scenarios")
        return case, row
    from design.scenarios.spec import load_scenarios

    scenarios = load_scenarios(record["file"], case)
    if scenarios.digest() != record["digest"]:
        raise CaseError(f"{record['file']}: changed since the run in {args.from_dir} used "
                        "it; its scenarios can no longer be solved as the run solved them")
    name = args.scenario = args.scenario or scenarios.names[0]
    if name not in scenarios.cases:
        raise CaseError(f"--scenario {name!r}: the run's scenarios are "
                        f"{', '.join(scenarios.names)}")
    print(f"  scenario {name} of {record['file']} (the run's figures are expectations over "
          f"{len(scenarios.names)} scenarios; compared with its figures on this one)",
          flush=True)
    row = row.copy()
    for figure in ("annual_total_cost", "autonomy", "gap"):
        row[figure] = row.get(f"scenario.{name}.{figure}")
    return scenarios.cases[name], row


def _run_figures(row: pd.Series, outcome) -> str:
    """How the drill-down compares with the run's figures for the same design."""
    p = outcome.parts
    if p is None or "annual_total_cost" not in row:
        return ""
    run_cost, run_a = float(row["annual_total_cost"]), float(row["autonomy"])
    gap = row.get("gap")
    gap_text = "" if gap is None or pd.isna(gap) else f", certified gap {gap:.2%}"
    return (f"  the run reported: annual total cost {run_cost:,.2f} EUR/a, A {run_a:,.2f} "
            f"EUR/a{gap_text}; this solve: {p.annual_total_cost:,.2f} and "
            f"{p.autonomy * outcome.basis.scale:,.2f} EUR/a")


def _progress(verbose: bool):
    """The engine's own messages with ``--verbose``; otherwise a line at most every 30 s
    saying the solve goes on (its messages speak of columns and prices)."""
    if verbose:
        return lambda msg: print(f"  {msg}", flush=True)
    t0, last = time.monotonic(), [time.monotonic()]

    def heartbeat(_msg: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 30.0:
            last[0] = now
            print(f"  solving: {now - t0:.0f} s so far (--verbose shows each step)",
                  flush=True)

    return heartbeat


def cmd_operate(args: argparse.Namespace) -> int:
    """Solve the operation of one design and write summary.json and schedule.csv."""
    row = None
    if args.from_dir is not None:
        if args.pick is None:
            raise CaseError("--from needs --pick (a row of pareto.csv or a pick name)")
        if args.design:
            raise CaseError("--from and --design exclude each other: the design comes from "
                            "the results folder")
        name, picked, row, run = picked_design(Path(args.from_dir), args.pick)
        args.case = args.case or name
        case = resolve_case(args.case)
        design = case.design(picked)
        settings = _from_run(args, run, float(row["W"]))
        case, row = _scenario_of_run(args, run, case, row)
    elif args.scenario is not None:
        raise CaseError("--scenario needs --from RESULTS_DIR (a run with --scenarios)")
    elif args.pick is not None:
        raise CaseError("--pick needs --from RESULTS_DIR")
    else:
        if args.case is None:
            raise CaseError("a case is needed (or --from RESULTS_DIR)")
        case = resolve_case(args.case)
        design = case.design(design_overrides(args.design or []))
        settings = _cli_operation(args)
    if settings.horizon is not None and not 1 <= settings.horizon <= case.hours:
        raise ValueError(f"--horizon must be between 1 and the case's {case.hours} h, "
                         f"not {settings.horizon}")
    basis = Basis.of(case, settings.horizon)
    weight = settings.weight if settings.weight is not None else case.spec.weight
    print(f"lcen operate: {basis.describe()}", flush=True)
    print(f"  method {settings.method}, W = {weight:g}"
          + (f", settings of the run in {args.from_dir} (pick {args.pick})"
             if row is not None else ""), flush=True)
    outcome = operate(case, design, settings, progress=_progress(args.verbose))
    default_out = f"results/operate-{case.name}-{settings.method}"
    if row is not None:
        default_out = str(Path(args.from_dir) / (f"operate-{args.pick}"
                          + (f"-{args.scenario}" if args.scenario else "")))
    out = Path(args.out or default_out)
    out.mkdir(parents=True, exist_ok=True)
    summary = outcome.summary()
    summary["case"] = case.name
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    kinds = {c.name: c.kind for c in case.spec.components}
    if outcome.schedule is not None:
        schedule_table(outcome.schedule, basis, kinds).to_csv(out / "schedule.csv")
        levels = [c for c in outcome.schedule.columns if c.endswith(".level")]
        if levels:
            from design.network.results import storage_limits
            from design.report.figures import draw_levels

            draw_levels(outcome.schedule[levels], out / "storage.png",
                        f"{case.name}: storage levels (W = {outcome.weight:g})", kinds,
                        storage_limits(case, design), start=basis.start)
    if outcome.result.log:
        pd.DataFrame(outcome.result.log).to_csv(out / "log.csv", index=False)
    r, p = outcome.result, outcome.parts
    gap = _fmt(r.gap, ".3%") if r.gap is not None else "-"
    print(f"  status {r.status} ({r.solver}), certified gap {gap}; "
          f"{r.seconds:.1f} s, peak memory {r.peak_rss_mb:.0f} MiB")
    if p is not None:
        a = outcome.annual()
        print(f"  over the {basis.hours} solved hours: C_op {p.c_op:,.2f} EUR, autonomy A "
              f"{p.autonomy:,.2f} EUR, W C_op + (1-W) A {outcome.weighted_objective:,.2f} EUR "
              f"(bound {_fmt(r.bound, ',.2f')})")
        scaled = f" (x{basis.scale:.4g})" if basis.scaled else ""
        print(f"  annual{scaled}: C_op {a['c_op']:,.2f} EUR/a, autonomy A "
              f"{a['autonomy']:,.2f} EUR/a, annualised capex {p.capex:,.2f} EUR/a, "
              f"annual total cost {p.annual_total_cost:,.2f} EUR/a")
        if row is not None:
            print(_run_figures(row, outcome))
    print(f"  wrote {out / 'summary.json'}" + (
        f" and {out / 'schedule.csv'}" if outcome.schedule is not None else ""))
    return 0 if r.status in WITH_PLAN else 2


def _check_run_settings(args: argparse.Namespace, case: Case) -> None:
    """Run settings are checked before anything is solved; messages name the flag."""
    if args.horizon is not None and not 1 <= args.horizon <= case.hours:
        raise ValueError(f"--horizon must be between 1 and the case's {case.hours} h, "
                         f"not {args.horizon}")
    if not 0 < args.gap < 1:
        raise ValueError(f"--gap must be in (0, 1), not {args.gap}")
    for flag, value in (("--time-limit", args.time_limit),
                        ("--seed-time-limit", args.seed_time_limit),
                        ("--polish-time-limit", args.polish_time_limit),
                        ("--time-budget", args.time_budget)):
        if value is not None and not value > 0:
            raise ValueError(f"{flag} must be positive seconds, not {value}")
    if not 0 <= args.polish_gap < 1:
        raise ValueError(f"--polish-gap must be in [0, 1), not {args.polish_gap}")
    if args.typical_periods < 0:
        raise ValueError(f"--typical-periods must be >= 0, not {args.typical_periods}")
    if args.refine < 0:
        raise ValueError(f"--refine must be >= 0, not {args.refine}")
    if not 0 <= args.seed_fallback_gap <= 1:
        raise ValueError(f"--seed-fallback-gap must be in [0, 1], not "
                         f"{args.seed_fallback_gap}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1, not {args.workers}")
    if args.interval < 1:
        raise ValueError(f"--interval must be >= 1 hour, not {args.interval}")


def prepare_out(out: Path, resume: bool, overwrite: bool) -> None:
    """Refuse to mix runs in one results folder: ``--resume`` needs a checkpoint there,
    and a folder holding a run is replaced only with ``--overwrite``."""
    from design.search.nsga import CHECKPOINT

    has_run = (out / CHECKPOINT).exists() or (out / "settings.json").exists()
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    if resume:
        if not (out / CHECKPOINT).exists():
            where = "does not exist" if not out.exists() else f"has no {CHECKPOINT}"
            raise ValueError(f"--resume: {out} {where}: there is no run to resume (leave "
                             "out --resume to start one)")
        return
    if has_run and not overwrite:
        raise ValueError(f"{out} holds an earlier run: --resume continues it, --overwrite "
                         "replaces it, or choose another --out")
    if out.exists() and any(out.iterdir()):
        if not has_run:
            raise ValueError(f"{out} is not empty and not a results folder of lcen design: "
                             "choose another --out")
        shutil.rmtree(out)


def cmd_design(args: argparse.Namespace) -> int:
    """NSGA-II over capacities and W; writes the results folder."""
    from design.cli.common import RunProgress
    from design.search.executors import make_executor
    from design.search.nsga import CHECKPOINT, load_checkpoint
    from design.search.run import run_design
    from design.search.settings import search_settings

    case = resolve_case(args.case)
    _check_run_settings(args, case)
    if not args.autonomy_cost_limit > 0:
        raise ValueError(f"--autonomy-cost-limit must be positive, not "
                         f"{args.autonomy_cost_limit}")
    settings = search_settings(
        pop=args.pop, generations=args.generations, seed=args.seed, retries=args.retries,
        method=args.method, horizon=args.horizon, gap=args.gap, interval=args.interval,
        time_limit=args.time_limit, solver=args.solver, typical_periods=args.typical_periods,
        seed_time_limit=args.seed_time_limit, seed_fallback_gap=args.seed_fallback_gap,
        polish_gap=args.polish_gap, polish_time_limit=args.polish_time_limit,
        refine=args.refine)
    op = settings.operation
    out = Path(args.out or f"results/design-{case.name}")
    start = _earlier_front(args, case)
    prepare_out(out, args.resume, args.overwrite)
    spent = load_checkpoint(out).spent if args.resume and (out / CHECKPOINT).exists() else 0.0
    basis = Basis.of(case, args.horizon)
    budget = "" if args.time_budget is None else f", budget {args.time_budget:,.0f} s"
    print(f"lcen design: {basis.describe()}", flush=True)
    print(f"  method {args.method}, population {args.pop}, at most {args.generations} "
          f"generations, seed {args.seed}, executor {args.executor}{budget}; "
          f"results in {out}/", flush=True)
    record = {"executor": args.executor, "workers": args.workers, "order": args.order,
              "autonomy_cost_limit": args.autonomy_cost_limit}
    if start:
        record["seeds_from"] = {"folder": str(Path(args.seeds_from).resolve()),
                                "designs": len(start)}
        print(f"  the {len(start)} front designs of {args.seeds_from} join the first "
              "population", flush=True)
    scenarios = _run_scenarios(args, case, out)
    if scenarios is None:
        executor = make_executor(args.executor, case, op, args.retries, args.workers,
                                 args.address, longest_first=args.order == "longest-first")
    else:
        from design.scenarios.executor import ScenarioExecutor

        record["scenarios"] = scenarios.record()
        print(f"  objectives: expected annual total cost and autonomy over "
              f"{len(scenarios.names)} scenarios of {args.scenarios} ("
              + ", ".join(f"{n} {p:g}" for n, p in scenarios.probabilities.items())
              + "), the operation solved per scenario", flush=True)
        executor = ScenarioExecutor(scenarios, op, args.executor, args.retries, args.workers,
                                    args.address, args.order == "longest-first")
    progress = RunProgress(args.time_budget, spent)
    try:
        state = run_design(case, settings, executor, out, resume=args.resume,
                           time_budget=args.time_budget, progress=progress, record=record,
                           scenarios=None if scenarios is None else scenarios.pairs(),
                           start=start)
    finally:
        progress.close()
        executor.close()
    print(f"  {len(state.front())} designs on the front of {len(state.cache)} evaluated; "
          f"wrote {out}/ (summary.md and report.html to read; pareto.csv, picks.csv, "
          "evaluations.parquet, history.csv, figures)")
    if state.cache and not any(e.ok for e in state.cache.values()):
        reason = failure_reason(pd.DataFrame([e.row() for e in state.cache.values()]))
        print(f"lcen: error: every candidate failed: {reason}", file=sys.stderr)
        return 2
    return 0


def _earlier_front(args: argparse.Namespace, case: Case) -> list | None:
    """The designs of ``--seeds-from`` (None without): they start a run, so a resume,
    whose first population is long made, refuses them."""
    if args.seeds_from is None:
        return None
    if args.resume:
        raise ValueError("--seeds-from starts a run with an earlier front; --resume "
                         "continues a run whose first population is made: use one of them")
    from design.search.seeding import earlier_front

    return earlier_front(Path(args.seeds_from), case)


def _run_scenarios(args: argparse.Namespace, case: Case, out: Path):
    """The scenario set of ``--scenarios`` (None without); a resumed run must use the set
    it began with, or none if it began without."""
    scenarios = None
    if args.scenarios is not None:
        from design.scenarios.spec import load_scenarios

        scenarios = load_scenarios(args.scenarios, case)
    if args.resume:
        before = read_settings(out).get("scenarios")
        if (before or {}).get("digest") != (scenarios and scenarios.digest()):
            why = (f"with --scenarios {before['file']}: give it again" if scenarios is None
                   else f"without scenarios; {args.scenarios} given" if before is None
                   else f"with another scenario set; {args.scenarios} differs")
            raise ValueError(f"--resume: {out} was made {why} (--overwrite starts afresh)")
    return scenarios


def cmd_report(args: argparse.Namespace) -> int:
    """Redraw figures and summary.md from a results folder."""
    from design.report.results_folder import draw, repick

    out = Path(args.dir)
    if not (out / "evaluations.parquet").exists():
        raise CaseError(f"{out}: not a design results folder (no evaluations.parquet)")
    if args.autonomy_cost_limit is not None:
        if not args.autonomy_cost_limit > 0:
            raise ValueError(f"--autonomy-cost-limit must be positive, not "
                             f"{args.autonomy_cost_limit}")
        repick(out, args.autonomy_cost_limit)
    draw(out)
    print(f"redrew figures, summary.md and report.html in {out}")
    return 0


def case_info_text(case: Case) -> str:
    """Human summary of a case: horizon, nodes, demands, components, design space."""
    spec = case.spec
    lines = [f"case {spec.name}: {spec.description}", f"  hours: {case.hours}",
             f"  location: {spec.location.latitude}, {spec.location.longitude} "
             f"({spec.location.timezone}, start {spec.location.start})"]
    for n in spec.nodes:
        el = sum(case.column(c).sum() for c in n.electricity)
        heat = sum(case.column(c).sum() for c in n.heat)
        lines.append(f"  node {n.name}: electricity {el:,.0f} kWh, heat {heat:,.0f} kWh over the "
                     f"{case.hours} h")
    for label, ref in (("purchase", spec.tariff.purchase), ("sale", spec.tariff.sale)):
        p = case.column(ref)
        src = f"column {ref!r}" if isinstance(ref, str) else "constant"
        lines.append(f"  {label} price ({src}): min {p.min():.4f}, mean {p.mean():.4f}, "
                     f"max {p.max():.4f} EUR/kWh")
    lines.append(f"  links: {len(spec.links)}; grid at {spec.tariff.node}; W = {spec.weight}")
    lines.append("  components (design space; default):")
    for c in spec.components:
        rng = spec.design_space.get(c.name)
        shown = "fixed" if rng is None else (
            f"{rng.values}" if rng.values is not None else f"{rng.min}..{rng.max}")
        lines.append(f"    {c.name:<18} {c.kind:<15} {shown} {CAPACITY_UNITS[c.kind]}; "
                     f"default {spec.default_design.get(c.name, 0.0)}")
    for name, group in spec.design_groups.items():
        members = group.components
        shown = ", ".join(members[:3]) + (f" and {len(members) - 3} more"
                                          if len(members) > 3 else "")
        lines.append(f"  group {name}: one factor {group.min:g}..{group.max:g} x {group.scale} "
                     f"sizes {shown}")
    for key, text in spec.sources.items():
        lines.append(f"  source {key}: {text}")
    return "\n".join(lines)


def write_template(folder: Path) -> list[Path]:
    """Write the documented template case (``case.yaml``, every field with its unit and
    meaning) and its series into ``folder``; existing files are not overwritten."""
    from cases import BUILTIN, CASES_DIR

    files = {folder / "case.yaml": CASES_DIR / "template" / "case.yaml",
             folder / "series.csv": BUILTIN["small"].parent / "series.csv"}
    there = [str(p) for p in files if p.exists()]
    if there:
        raise CaseError(f"case template: {', '.join(there)} exist already (choose another "
                        "folder)")
    folder.mkdir(parents=True, exist_ok=True)
    for target, source in files.items():
        shutil.copyfile(source, target)
    return list(files)


def cmd_case(args: argparse.Namespace) -> int:
    """``case info CASE``, ``case validate PATH`` or ``case template DIR``."""
    if args.case_command == "template":
        written = write_template(Path(args.dir))
        print(f"wrote {', '.join(map(str, written))}: every field is explained in "
              f"{written[0]}; check your edits with lcen case validate {written[0]}")
        return 0
    case = resolve_case(args.case)
    if args.case_command == "info":
        print(case_info_text(case))
    else:
        print(f"{args.case}: valid ({case.hours} hours, {len(case.spec.nodes)} nodes, "
              f"{len(case.spec.components)} components)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``lcen`` argument parser."""
    from design.search.settings import (
        EVALUATION_GAP,
        EVALUATION_TIME_LIMIT,
        INTERVAL,
        TIME_BUDGET,
        PolishSettings,
        SearchSettings,
        SeedSettings,
    )
    p = argparse.ArgumentParser(prog="lcen", description="Low-carbon energy network design")
    sub = p.add_subparsers(dest="command", required=True)

    op = sub.add_parser("operate", help="solve the year-long operation of one design")
    op.add_argument("case", nargs="?", default=None,
                    help=f"built-in case ({', '.join(builtin_names())}) or YAML path "
                         "(with --from: the run's case)")
    op.add_argument("--design", nargs="*", metavar="COMPONENT=SIZE",
                    help="sizes that differ from the case's default design")
    op.add_argument("--from", dest="from_dir", default=None, metavar="RESULTS_DIR",
                    help="take the design and W from a results folder of lcen design "
                         "(with --pick); the schedule goes to RESULTS_DIR/operate-PICK")
    op.add_argument("--pick", default=None,
                    help="with --from: a row number of pareto.csv (1 = first design) or a "
                         "pick name (cost-weighted, balanced, autonomy-weighted)")
    op.add_argument("--scenario", default=None, metavar="NAME",
                    help="with --from a robust run (--scenarios): the scenario to solve "
                         "the design on (default: its first)")
    op.add_argument("--weight", type=float, default=None, help="W in [0, 1]")
    op.add_argument("--method", choices=METHODS, default=None,
                    help="default direct; with --from the run's method")
    op.add_argument("--horizon", type=int, default=None, help="first HOURS of the series")
    op.add_argument("--time-limit", type=float, default=None,
                    help="seconds; direct: the solver's limit, dw: every step within it "
                         "(default: none)")
    op.add_argument("--gap", type=float, default=None,
                    help="target relative gap (default 1e-4 direct, 0.01 dw)")
    op.add_argument("--interval", type=int, default=24, help="dw/rolling interval hours")
    op.add_argument("--engine", nargs="+", metavar="KEY=VALUE", default=None,
                    help="dw: engine settings (docs/engine.md, 'DWSettings: every field'): "
                         f"{', '.join(k for k in ENGINE_KEYS if k not in _USER_KEYS)}; "
                         "e.g. --engine first_prices=master heuristics=pass,windows")
    op.add_argument("--workers", type=int, default=1,
                    help="dw: intervals priced in parallel, each worker taking the next "
                         "interval not yet taken (default 1)")
    op.add_argument("--parallel", choices=PARALLEL, default="threads",
                    help="dw with --workers > 1: threads in this process (no second copy of "
                         "a model) or Ray actors (a cluster) (default threads)")
    op.add_argument("--solver", choices=("auto", "highs", "gurobi"), default="auto",
                    help=SOLVER_HELP)
    op.add_argument("--out", default=None, help="output folder")
    op.add_argument("--verbose", action="store_true", help="show the solver log")
    op.set_defaults(func=cmd_operate,
                    parser_defaults={a.dest: a.default for a in op._actions})

    de = sub.add_parser("design", help="search capacities and W (NSGA-II): Pareto front")
    de.add_argument("case", nargs="?", default="reference", help=CASE_HELP)
    de.add_argument("--pop", type=int, default=SearchSettings().pop,
                    help="NSGA-II population (default %(default)s)")
    de.add_argument("--generations", type=int, default=SearchSettings().generations,
                    help="most generations; the time budget usually ends the run first "
                         "(default %(default)s)")
    de.add_argument("--method", choices=METHODS, default="dw",
                    help="how each candidate's year-long operation is solved")
    de.add_argument("--horizon", type=int, default=None, help=HORIZON_HELP)
    de.add_argument("--gap", type=float, default=EVALUATION_GAP,
                    help="dw target certified gap per evaluation (default %(default)s)")
    de.add_argument("--interval", type=int, default=INTERVAL,
                    help="dw: hours per decomposition interval")
    de.add_argument("--time-limit", type=float, default=EVALUATION_TIME_LIMIT,
                    help="per evaluation: dw stops there with its best certified plan "
                         "(default %(default)s s)")
    de.add_argument("--typical-periods", type=int, default=SeedSettings().typical_periods,
                    help="seeding: design MILP on this many typical days (tsam), one per "
                         "seed weight; 0 = no seeding (default %(default)s)")
    de.add_argument("--seed-time-limit", type=float, default=SeedSettings().time_limit,
                    help="seeding: seconds per weight (default %(default)s)")
    de.add_argument("--seed-fallback-gap", type=float,
                    default=SeedSettings().fallback_gap,
                    help="seeding: a weight whose design MILP ends above this gap is solved "
                         f"on {SeedSettings().fallback_periods} typical days as well; 0 = "
                         "every weight, 1 = none (default %(default)s)")
    de.add_argument("--polish-gap", type=float, default=PolishSettings().gap,
                    help="front designs are solved again to this certified gap before the "
                         "results are written; 0 = no polish (default %(default)s)")
    de.add_argument("--polish-time-limit", type=float,
                    default=PolishSettings().time_limit,
                    help="polish: seconds per design (default %(default)s)")
    de.add_argument("--refine", type=int, default=PolishSettings().refine,
                    help="polish: workers it leaves idle evaluate this many designs per "
                         "round between neighbouring front designs, where the front's gaps "
                         "are widest, until the budget ends; 0 = none (default %(default)s)")
    de.add_argument("--solver", choices=("auto", "highs", "gurobi"), default="auto",
                    help=SOLVER_HELP)
    de.add_argument("--workers", type=int, default=None, help=WORKERS_HELP)
    de.add_argument("--executor", choices=("ray", "serial"), default="ray",
                    help=EXECUTOR_HELP)
    de.add_argument("--address", default=None, help=ADDRESS_HELP)
    add_order_argument(de)
    de.add_argument("--time-budget", type=float, default=TIME_BUDGET, metavar="SECONDS",
                    help="wall time of seeding, search and polish together; the search "
                         "stops when only the polish share (20 %%) is left (checkpointed; "
                         "--resume goes on; default %(default)s s)")
    de.add_argument("--retries", type=int, default=SearchSettings().retries,
                    help="times a candidate whose evaluation raised is tried again (one "
                         "that ended without a plan is not: it would end the same way)")
    de.add_argument("--seed", type=int, default=1,
                    help="random seed: the same seed and settings give the same front")
    de.add_argument("--resume", action="store_true",
                    help="continue the run checkpointed in --out (same case and settings; "
                         "the time budget counts the run's wall time over all its sessions; "
                         "more --generations or a larger --time-budget extend a finished "
                         "run)")
    de.add_argument("--overwrite", action="store_true",
                    help="replace the run in --out (without it, a folder holding a run is "
                         "refused)")
    de.add_argument("--autonomy-cost-limit", type=float, default=AUTONOMY_COST_LIMIT,
                    metavar="EUR_PER_EUR",
                    help="the autonomy-weighted pick is the most autonomous front design "
                         "before the marginal cost of autonomy (EUR/a of cost per EUR/a of "
                         "A removed) exceeds this (default %(default)s)")
    de.add_argument("--scenarios", default=None, metavar="FILE",
                    help="scenario file (YAML): search designs by their expected annual "
                         "total cost and autonomy over its scenarios, the operation solved "
                         "per scenario (default: the case alone)")
    de.add_argument("--seeds-from", default=None, metavar="RESULTS_DIR",
                    help="the front designs of an earlier run of the same case (its "
                         "pareto.csv) join the first population, after the seeding's: e.g. "
                         "a search under --scenarios starts from the plain run's front "
                         "(default: none)")
    de.add_argument("--out", default=None,
                    help="results folder (default: results/design-<case>)")
    de.set_defaults(func=cmd_design)

    rep = sub.add_parser("report", help="redraw figures, summary.md and report.html "
                                           "of a results folder")
    rep.add_argument("dir", help="results folder of lcen design")
    rep.add_argument("--autonomy-cost-limit", type=float, default=None, metavar="EUR_PER_EUR",
                     help="choose the picks again with this limit on the marginal cost of "
                          "autonomy (default: keep the run's picks)")
    rep.set_defaults(func=cmd_report)

    case = sub.add_parser("case", help="inspect or validate a case")
    case_sub = case.add_subparsers(dest="case_command", required=True)
    info = case_sub.add_parser("info", help="print a summary of a case")
    info.add_argument("case", help=CASE_HELP)
    val = case_sub.add_parser("validate", help="check a case file and its series")
    val.add_argument("case", help=CASE_HELP)
    tpl = case_sub.add_parser("template", help="write a documented starting case (every "
                              "field with its unit and meaning) and its series")
    tpl.add_argument("dir", help="folder to write case.yaml and series.csv into")
    case.set_defaults(func=cmd_case)
    add_bench_parser(sub)
    add_batch_parser(sub)
    add_stress_parser(sub)
    _use_formatter(p)
    return p


def _use_formatter(parser: argparse.ArgumentParser) -> None:
    """Every (sub)command's help shows the options' defaults."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _use_formatter(sub)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lcen`` console script."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # progress shows through a pipe or a file
            stream.reconfigure(line_buffering=True)
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (CaseError, SolverError, ValueError) as exc:
        print(f"lcen: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
