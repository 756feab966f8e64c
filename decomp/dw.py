"""Time-domain Dantzig-Wolfe decomposition with column generation: a certified plan.

Loop (each step a small object): prices -> pricing (one MILP per interval) -> Lagrangian
bound -> columns into the pool and the restricted master -> master duals -> stabilised
prices. First prices come from the whole-horizon LP relaxation's duals on the linking rows;
first columns from a rolling-horizon pass valued at those prices. A repair step (choose one
column per interval, fix its binaries away from the boundaries, re-solve the horizon) gives
feasible plans: the upper bound. Certified gap = (UB - LB) / |UB|.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np

from decomp.certificate import FEASIBLE, GAP_MET, NO_PLAN, OPTIMAL, certified_status
from decomp.columns import Column, ColumnPool
from decomp.families import improve_by_families, integer_families
from decomp.fix_optimise import WindowImprover, improve
from decomp.linking import Linking
from decomp.master import RestrictedMaster, choose_columns
from decomp.memory import PeakMemory
from decomp.methods import MethodResult
from decomp.parallel import RayPricer
from decomp.pricing import TROUBLE, IntervalSolver, SerialPricer, ThreadPricer
from decomp.provider import IntervalProvider, lead_components
from decomp.relax_fix import lead_families, relax_and_fix
from decomp.relaxation import RelaxationSettings, aggregate_spans, solve_relaxation
from decomp.repair import EDGE_WEIGHTS, Repairer
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions, SolverError, relative_gap
from decomp.stabilisation import make_stabilisation
from decomp.workspace import MODELS, Workspace, build_intervals

FIRST_PRICES = ("auto", "lp", "master", "zero")
PRICED_STATES = ("auto", "all", "continuous")
PARALLEL = ("threads", "ray")


#: relax-and-fix frees at most this many integers per horizon MILP: a year's
#: electrolyser freed whole (8682 integers) found no plan in 250 s; in MILPs of 1200 the
#: step gained 43.5 EUR in 468 s
RELAX_FIX_MAX_FREE = 1200


@dataclass(frozen=True)
class DWSettings:
    """Column generation as a configurable strategy (all options in one place).

    Each field's meaning, default and the measurements that chose it are in
    ``docs/engine.md`` (section "DWSettings: every field").
    """

    interval: int = 24
    boundary_window: int = 6
    gap: float = 0.01
    max_iterations: int = 30
    time_limit: float | None = None
    stabilisation: str = "wentges"
    alpha: float = 0.5
    pricing_gap: float = 1e-4
    pricing_abs_gap: bool = True
    repair_gap: float | None = None
    repair_every: int = 5
    improve: bool = True
    window_intervals: int = 2
    first_prices: str = "auto"
    lp_max_nonzeros: int = 1_000_000
    fixed_lp_nonzeros: int | None = 2_500_000
    priced_states: str = "auto"
    lp_tolerance: float | None = None
    parallel: str = "threads"
    lp_edge_weights: str = "devex"
    lp_time_share: float = 0.85
    lp_min_share: float = 0.3
    lp_master_share: float = 0.45
    pass_gap_share: float = 0.25
    rolling_start: bool = False
    window_time_limit: float | None = 10.0
    focus_windows: bool | None = None
    window_neighbours: bool = True
    models: str = "auto"
    box_width: float = 10.0
    lp_box_width: float = 0.01
    lp_column_age: int | None = 10
    lp_aggregate: int | tuple[int, ...] | None = (30, 7)
    choice_time_limit: float = 30.0
    repair_time_limit: float | None = 120.0
    workers: int = 1
    escalate: bool | None = None
    family_repair: bool | None = None
    boundary_repair: bool | None = None
    family_time_share: float = 0.5
    pricing_time_limit: float | None = None
    pricing_time_share: float = 0.5
    pricing_min_seconds: float = 1.0
    stall_iterations: int = 3
    exit_tiebreak: float | None = None
    exit_lookahead: float | None = None
    redecide_seconds: float | None = None
    guard_milps: bool = True
    window_lead: bool = True
    relax_fix: bool = False
    relax_fix_share: float = 0.5
    solve: SolveOptions = field(default_factory=SolveOptions)

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"interval must be >= 1 hour, not {self.interval}")
        if self.boundary_window < 0:
            raise ValueError(f"boundary_window must be >= 0, not {self.boundary_window}")
        if not 0 <= self.gap < 1:
            raise ValueError(f"gap must be in [0, 1), not {self.gap}")
        if not 0 < self.lp_time_share <= 1:
            raise ValueError(f"lp_time_share must be in (0, 1], not {self.lp_time_share}")
        if not 0 <= self.lp_min_share <= self.lp_time_share:
            raise ValueError(f"lp_min_share must be in [0, lp_time_share], not "
                             f"{self.lp_min_share}")
        if not 0 < self.lp_master_share <= 1:
            raise ValueError(f"lp_master_share must be in (0, 1], not {self.lp_master_share}")
        if not 0 <= self.pass_gap_share <= 1:
            raise ValueError(f"pass_gap_share must be in [0, 1], not {self.pass_gap_share}")
        if self.max_iterations < 1:
            raise ValueError(f"max_iterations must be >= 1, not {self.max_iterations}")
        if self.window_time_limit is not None and not self.window_time_limit > 0:
            raise ValueError(f"window_time_limit must be positive, not "
                             f"{self.window_time_limit}")
        if self.window_intervals < 2:
            raise ValueError(f"window_intervals must be >= 2, not {self.window_intervals}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, not {self.workers}")
        if self.exit_tiebreak is not None and not 0 <= self.exit_tiebreak < 1:
            raise ValueError(f"exit_tiebreak must be in [0, 1), not {self.exit_tiebreak}")
        if self.redecide_seconds is not None and not self.redecide_seconds > 0:
            raise ValueError(f"redecide_seconds must be positive, not {self.redecide_seconds}")
        if self.exit_lookahead is not None and not 0 <= self.exit_lookahead <= 1:
            raise ValueError(f"exit_lookahead must be in [0, 1], not {self.exit_lookahead}")
        if self.repair_gap is None:
            object.__setattr__(self, "repair_gap", max(self.gap / 4, 1e-9))
        if not 0 < self.relax_fix_share <= 1:
            raise ValueError(f"relax_fix_share must be in (0, 1], not {self.relax_fix_share}")
        if not 0 < self.family_time_share <= 1:
            raise ValueError(f"family_time_share must be in (0, 1], not {self.family_time_share}")
        if self.pricing_time_limit is not None and not self.pricing_time_limit > 0:
            raise ValueError(f"pricing_time_limit must be positive, not "
                             f"{self.pricing_time_limit}")
        if not 0 < self.pricing_time_share <= 1:
            raise ValueError(f"pricing_time_share must be in (0, 1], not "
                             f"{self.pricing_time_share}")
        if not self.pricing_min_seconds > 0:
            raise ValueError(f"pricing_min_seconds must be positive, not "
                             f"{self.pricing_min_seconds}")
        if not self.box_width > 0:
            raise ValueError(f"box_width must be positive, not {self.box_width}")
        if not self.lp_box_width > 0:
            raise ValueError(f"lp_box_width must be positive, not {self.lp_box_width}")
        for name, choices in (("lp_edge_weights", tuple(EDGE_WEIGHTS)),
                              ("first_prices", FIRST_PRICES),
                              ("priced_states", PRICED_STATES), ("parallel", PARALLEL),
                              ("models", MODELS)):
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        if self.lp_column_age is not None and self.lp_column_age < 0:
            raise ValueError(f"lp_column_age must be >= 0 or None, not {self.lp_column_age}")
        aggregate_spans(self.lp_aggregate, "lp_aggregate")
        if self.fixed_lp_nonzeros is not None and self.fixed_lp_nonzeros < 1:
            raise ValueError(f"fixed_lp_nonzeros must be >= 1 or None, not "
                             f"{self.fixed_lp_nonzeros}")
        if self.lp_tolerance is not None and not self.lp_tolerance > 0:
            raise ValueError(f"lp_tolerance must be positive, not {self.lp_tolerance}")
        if self.stabilisation not in ("none", "wentges", "boxstep"):
            raise ValueError(f"stabilisation must be none, wentges or boxstep, not "
                             f"{self.stabilisation!r}")


def lp_time_cap(limit: float, elapsed: float, share: float, probe_seconds: float,
                intervals: int, safety: float = 1.5, min_share: float = 0.0) -> float:
    """Seconds the horizon LP relaxation may take: at most ``share`` of the ``limit``, and
    no more than what leaves the rolling pass ``safety`` times its estimate (one interval's
    solve, ``probe_seconds``, for each of the ``intervals``) before the limit, but at
    least ``min_share`` of the limit while that much is left (the probe, an interval at
    zero prices with its integers free, overstates a pass guided by the LP: on ten homes
    it left the LP no time at all)."""
    rolling = safety * probe_seconds * intervals
    left = max(0.0, limit - elapsed)
    cap = min(share * limit, limit - elapsed - rolling)
    return max(0.0, min(left, max(cap, min_share * limit)))


#: the share of the time left that a pricing round leaves the pass when the run has no
#: plan yet: a 4380 h run of ten homes whose round took all of it made its plan in a
#: pass minutes past the limit
PASS_RESERVE = 0.25

#: the hours at the start of an interval whose integers a pass frees where the interval
#: cannot keep its guide's (its entry states, e.g. a unit's start history, did not fit)
ENTRY_HOURS = 3


def interval_time_cap(s: DWSettings, left: float | None, intervals: int) -> float | None:
    """Seconds each interval's MILP may take in a pricing round begun with ``left`` seconds
    to go (None: uncapped); see ``DWSettings.pricing_time_limit``."""
    if s.pricing_time_limit is not None:
        return s.pricing_time_limit
    if left is None:
        return None
    share = s.pricing_time_share * left * min(s.workers, intervals) / max(1, intervals)
    return max(s.pricing_min_seconds, share)


def _pricing_options(s: DWSettings) -> SolveOptions:
    return SolveOptions(solver=s.solve.solver, gap=s.pricing_gap, threads=1)


def _intervals(provider: IntervalProvider, s: DWSettings, workspace: Workspace | None = None):
    """Cut the horizon and have one loaded pricing model per interval (kept ones from
    ``workspace`` when it holds this structure), lay out the rows."""
    if workspace is None:
        iv = build_intervals(provider, s.interval, _pricing_options(s), s.models,
                             s.lp_max_nonzeros)
    else:
        iv = workspace.intervals(provider, s.interval, _pricing_options(s))
    return iv.cuts, iv.conditions, iv.linking, iv.solvers


class _Clock:
    """Elapsed time against the optional overall limit; caps each step's own limit."""

    def __init__(self, t0: float, limit: float | None) -> None:
        self.t0 = t0
        self.total = limit

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def expired(self) -> bool:
        return self.total is not None and self.elapsed() > self.total

    def cap(self, step_limit: float | None, floor: float = 0.05) -> float | None:
        """The step's limit, shortened to the time left (at least ``floor`` seconds)."""
        if self.total is None:
            return step_limit
        left = max(floor, self.total - self.elapsed())
        return left if step_limit is None else min(step_limit, left)

    def deadline(self) -> float | None:
        """The overall limit as a ``time.perf_counter()`` instant."""
        return None if self.total is None else self.t0 + self.total



class _Log:
    def __init__(self, t0: float) -> None:
        self.t0 = t0
        self.rows: list[dict] = []

    def add(self, **row) -> None:
        row["elapsed"] = time.perf_counter() - self.t0
        self.rows.append(row)


def solve_dw(
    provider: IntervalProvider, settings: DWSettings, progress=None,
    workspace: Workspace | None = None,
) -> MethodResult:
    """Decompose the horizon into intervals and generate columns to a certified gap.

    With a ``workspace`` the interval models of the last problem of the same structure are
    given this provider's values instead of being built again (design candidates)."""
    s = settings
    t0 = time.perf_counter()
    log = _Log(t0)
    clock = _Clock(t0, s.time_limit)
    say = progress or (lambda msg: None)
    with PeakMemory() as mem:
        reuses = 0 if workspace is None else workspace.stats.reused
        cuts, conditions, linking, solvers = _intervals(provider, s, workspace)
        kept = workspace is not None and workspace.stats.reused > reuses
        starts = [a for a, _ in cuts]
        n = len(cuts)
        build_s = time.perf_counter() - t0
        local = ThreadPricer(solvers, s.workers) if s.workers > 1 else SerialPricer(solvers)
        if s.workers > 1 and s.parallel == "ray":
            # Ray actors with dynamic dispatch; this process's models if none can start
            pricer = RayPricer(provider, cuts, solvers[0].solver.options, s.workers,
                               fallback=solvers, say=say)
        else:
            pricer = local
        first = first_prices(s, solvers)
        if first != s.first_prices:
            say(f"first prices: {first} (glued horizon {_nonzeros(solvers):,} nonzeros)")
        s = replace(s, first_prices=first)
        if s.focus_windows is None:
            s = replace(s, focus_windows=s.first_prices == "master")
        s = replace(s, exit_tiebreak=_exit_tiebreak(s), exit_lookahead=_exit_lookahead(s))
        s = _horizon_milps(s)
        plink = priced_linking(s, linking, solvers)
        repairer = Repairer(solvers, linking,
                            SolveOptions(solver="highs", threads=s.solve.threads),
                            s.lp_edge_weights, block_nonzeros=s.fixed_lp_nonzeros,
                            guard=s.guard_milps)
        best_lb, lp_bound, lp = -math.inf, None, None
        if s.first_prices != "zero":
            cap = None
            if s.time_limit is not None and s.first_prices == "master":
                # column generation stops by itself once converged: its share is a cap
                cap = max(0.0, min(s.lp_master_share * s.time_limit,
                                   s.time_limit - clock.elapsed()))
            elif s.time_limit is not None:
                # the glued LP gets at most its share of the limit and leaves the rolling
                # pass (or, without one, a pricing round on the workers) the time one
                # interval's solve says it needs, so a run whose LP is slow still ends in time
                tprobe = time.perf_counter()
                solvers[0].solve(gap=s.pricing_gap, time_limit=clock.cap(None))
                after = n if s.rolling_start else math.ceil(n / s.workers)
                cap = lp_time_cap(s.time_limit, clock.elapsed(), s.lp_time_share,
                                  time.perf_counter() - tprobe, after,
                                  min_share=s.lp_min_share)
            if cap is None or cap > 0:
                lp = _first_relaxation(s, solvers, plink, conditions, repairer, clock, cap,
                                       log, say, local)
        if lp is not None:
            lp_bound, y = lp.bound, lp.y
            best_lb = lp_bound
            say(f"LP relaxation bound {lp_bound:.6g} ({time.perf_counter() - t0:.1f} s)")
        else:
            if s.first_prices != "zero":
                say("LP relaxation not solved within the time limit; zero start prices")
            y = np.zeros(linking.size)
        y = plink.valid(y)
        if lp_bound is not None:
            _scale_pricing_gap(s, lp_bound, solvers, pricer)
        best = _Incumbent(repairer)
        improver = WindowImprover(solvers, options=SolveOptions(
            solver=s.solve.solver, gap=s.pricing_gap, threads=1), width=s.window_intervals,
            window_time_limit=s.window_time_limit, workers=s.workers,
            lead=lead_components(provider) if s.window_lead else ())
        totals = {"pricing": 0.0, "master": 0.0, "repair": 0.0}
        pool = ColumnPool(n)
        # the master's dual box starts around the first prices, as wide as box_width times
        # the largest cost coefficient: scaled to the problem, not a big M
        width = s.box_width * _cost_scale(solvers)
        stab = make_stabilisation(s.stabilisation, y.copy(), s.alpha, width)
        master = RestrictedMaster(n, plink, width)
        last_picked = None
        if s.rolling_start:
            # rolling pass: binaries integral in the LP relaxation fixed, exit states valued
            # at the LP duals; its columns fit together and seed the master
            tr = time.perf_counter()
            try:
                guided = rolling_horizon(solvers, linking, conditions, y, s.pricing_gap,
                                         guide=None if lp is None else lp.binaries,
                                         deadline=clock.deadline())
            except Exception as exc:  # noqa: BLE001 - a heuristic failing only costs columns
                guided = None
                say(f"rolling-horizon start failed ({exc}); starting from pricing only")
            if guided is not None:
                _add_columns(pool, master, guided)
                # every binary fixed: an LP, not capped by the overall limit, so a
                # run that is out of time still ends with a plan
                # the first plan's repair gets at least a tenth of the limit, so that a
                # run out of time still ends with a plan (at most 10 % late)
                floor = 0.0 if s.time_limit is None else 0.1 * s.time_limit
                rep = repairer.repair(guided, starts, 0, s.repair_gap,
                                      clock.cap(s.repair_time_limit, floor))
                best.offer(rep, guided, pool, master)
                if lp_bound is None and best.upper is not None:
                    _scale_pricing_gap(s, best.upper, solvers, pricer)
                how = "LP-guided rolling plan" if lp is not None else "rolling plan"
                say(f"{how}: UB {best.ub:.6g} ({time.perf_counter() - tr:.1f} s)")
            totals["repair"] += time.perf_counter() - tr
        gap = relative_gap(best.upper, best_lb)
        log.add(iteration=0, lower_bound=best_lb, lagrangian=None, master_objective=None,
                upper_bound=best.upper, gap=gap, columns_added=0,
                columns=0, pricing_seconds=0.0, master_seconds=0.0,
                repair_seconds=totals["repair"])
        done = gap is not None and gap <= s.gap
        status_reason = "gap" if done else "max_iterations"
        if not done and clock.expired():
            done, status_reason = True, "time_limit"
        master_sol = None
        # each interval's column from the latest pricing round that gave it one
        latest: list[Column | None] = [None] * n
        progress_mark = (math.inf, -math.inf, 0)
        families_tried = False
        # the commitments already repaired (a later round that picks the same ones would
        # repeat the same pass, sweeps and boundary MILP)
        repaired: set[bytes] = set()
        for it in range(1, 0 if done else s.max_iterations + 1):
            tp = time.perf_counter()
            # an interval the deadline leaves without a proven bound counts its LP value
            # at the same prices: a round cut short still gives a valid bound
            prices = [plink.interval_prices(y, k) for k in range(n)]
            left = None if s.time_limit is None else s.time_limit - clock.elapsed()
            # without a plan yet, the round stops early enough to leave the pass that
            # makes one a share of the time left (past the deadline a pass gets at least
            # a second an interval); the interval caps are not shortened by it (a round
            # within its share, a year of ten homes, is not cut)
            reserve = 0.0 if left is None or best.x is not None else PASS_RESERVE * left
            icap = interval_time_cap(s, left, n)
            deadline = clock.deadline()
            results = pricer.price(prices, s.pricing_gap,
                                   None if deadline is None else deadline - reserve,
                                   fill=True, interval_limit=icap)
            pricing_s = time.perf_counter() - tp
            # intervals stopped by their cap (their bound counts, weaker)
            capped = sum(r.status not in (OPTIMAL, GAP_MET) for r in results)
            if len(results) < n or not all(math.isfinite(r.bound) for r in results):
                # no bound from this round, its columns still count: out of time within
                # the round ends the rounds; an interval whose solver ended twice without
                # a verdict (its LP too) costs only this round's bound
                totals["pricing"] += pricing_s
                _add_columns(pool, master, [r.column for r in results if r.column is not None])
                trouble = sum(r.status == TROUBLE for r in results)
                if len(results) == n and trouble and not clock.expired():
                    say(f"iter {it:3d}  no bound from this round: solver trouble on "
                        f"{trouble} interval(s)")
                    continue
                say(f"iter {it:3d}  time limit reached while pricing "
                    f"({sum(math.isfinite(r.bound) for r in results)} of {n} intervals "
                    "priced)")
                status_reason = "time_limit"
                break
            lagrangian = sum(r.bound for r in results) + plink.constant(y)
            improved = not math.isfinite(best_lb) or (
                lagrangian > best_lb + 1e-9 * max(1.0, abs(best_lb)))
            priced = [r.column for r in results]
            for r in results:
                if r.column is not None:
                    latest[r.k] = r.column
            lb_columns_new = (improved or it == 1) and all(c is not None for c in priced)
            if improved:
                best_lb = lagrangian
                if s.focus_windows:
                    # the windows now know what each can gain at most: the plan's priced
                    # cost less these proven interval bounds
                    improver.focus(prices, [r.bound for r in results])
            added = repeated = 0
            for r in results:
                col = r.column
                if col is None:
                    continue
                if master_sol is not None:
                    rc = master_sol.reduced_cost(col, plink)
                    if rc >= -1e-7 * max(1.0, abs(col.cost)):
                        continue
                if pool.add(col):
                    master.add(col)
                    added += 1
                elif master_sol is not None:
                    # a column already in the master cannot price out negatively at the
                    # master's own duals: if it does, the duals are stale or mis-indexed
                    repeated += 1
            missing = master.missing()
            if missing:
                # an interval whose MILP was cut short without a plan (deadline) has no
                # column yet: its convexity row cannot be met, there is no master to solve
                totals["pricing"] += pricing_s
                if improved:
                    log.add(iteration=it, lower_bound=best_lb, lagrangian=lagrangian,
                            master_objective=None, upper_bound=best.upper,
                            gap=relative_gap(best.upper, best_lb), columns_added=added,
                            columns=len(pool), pricing_seconds=pricing_s,
                            master_seconds=0.0, repair_seconds=0.0)
                say(f"iter {it:3d}  LB {best_lb:.6g}; {len(missing)} of {n} intervals have "
                    "no column yet (their MILPs were cut short): no master")
                status_reason = "time_limit" if clock.expired() else "no_columns"
                break
            tm = time.perf_counter()
            master.set_box(*stab.box())
            master_sol = master.solve(clock.cap(None))
            master_s = time.perf_counter() - tm
            if master_sol is None:
                totals["pricing"] += pricing_s
                log.add(iteration=it, lower_bound=best_lb, lagrangian=lagrangian,
                        master_objective=None, upper_bound=best.upper,
                        gap=relative_gap(best.upper, best_lb), columns_added=added,
                        columns=len(pool), pricing_seconds=pricing_s,
                        master_seconds=time.perf_counter() - tm, repair_seconds=0.0)
                say(f"iter {it:3d}  time limit reached in the master")
                status_reason = "time_limit"
                break
            repair_s = 0.0
            binding = master.box_binding(master_sol)
            converged = not binding and (
                master_sol.objective - best_lb <= 1e-6 * max(1.0, abs(master_sol.objective)))
            last = it == s.max_iterations or converged or clock.expired()
            reached = best.upper is not None and relative_gap(best.upper, best_lb) <= s.gap
            if not reached and not clock.expired() and (
                    lb_columns_new or it % s.repair_every == 0 or last):
                # one column per interval (those that proved the bound, else the column
                # choice), binaries freed near the boundaries, then fix-and-optimise
                tr = time.perf_counter()
                if lb_columns_new:
                    picked = priced
                else:
                    picked = _choose(pool, linking, stab.center, master_sol, s, say, clock)
                key = _commitments(picked)
                again = key in repaired
                repaired.add(key)
                if again:
                    say("repair skipped: these columns' commitments were repaired before")
                else:
                    x, fitted = _sequential_repair(picked, best, pool, master, repairer,
                                                   solvers, linking, conditions, stab.center,
                                                   starts, s, clock, say, scale=best_lb)
                    last_picked = fitted or picked
                    if x is not None:
                        # polished from these columns' commitments, cheaper or not yet
                        _polish(best, x, fitted, repairer, improver, best_lb, s, clock, say,
                                pool, master)
                above = relative_gap(best.upper, best_lb)
                if (s.boundary_repair and lb_columns_new and not again and not clock.expired()
                        and (above is None or above > s.gap)):
                    # the columns that proved the bound, their commitments re-decided
                    # together within boundary_window hours of every boundary: one horizon
                    # MILP (what the time windows cannot do: move seasonal storage by
                    # changing many days' commitments at once)
                    _boundary_step(best, picked, repairer, improver, starts, best_lb, s,
                                   clock, say, pool, master, start=x)
                if (s.family_repair and not families_tried and best.x is not None
                        and relative_gap(best.upper, best_lb) > s.gap and not clock.expired()):
                    # the time windows are done with this plan and it is still above the
                    # target: re-decide each unit's commitments over the whole horizon
                    families_tried = True
                    _family_step(best, repairer, best_lb, s, clock, say, log, pool, master,
                                 it)
                repair_s += time.perf_counter() - tr
            gap = relative_gap(best.upper, best_lb)
            totals["pricing"] += pricing_s
            totals["master"] += master_s
            totals["repair"] += repair_s
            log.add(iteration=it, lower_bound=best_lb, lagrangian=lagrangian,
                    master_objective=master_sol.objective,
                    upper_bound=best.upper, gap=gap,
                    columns_added=added, columns=len(pool), repeated_columns=repeated,
                    box_width=stab.width, box_binding=binding, alpha=stab.alpha,
                    pricing_seconds=pricing_s, master_seconds=master_s,
                    repair_seconds=repair_s, interval_cap=icap, intervals_capped=capped)
            # a master held by its box pays for its slacks: its value is then no estimate
            # of the DW bound (ten homes' first round: 3e5 against a bound of 1e4)
            held = " (box slacks in use)" if binding else ""
            say(f"iter {it:3d}  LB {best_lb:.6g}  master {master_sol.objective:.6g}{held}  "
                f"UB {best.ub:.6g}  gap {gap if gap is not None else float('nan'):.3%}  "
                f"+{added} cols  pricing {pricing_s:.1f}s master {master_s:.2f}s "
                f"repair {repair_s:.1f}s"
                + (f"  ({capped} of {n} intervals stopped early"
                   + (f" at {icap:.3g}s" if icap is not None else "") + ")"
                   if capped else ""))
            if gap is not None and gap <= s.gap:
                status_reason = "gap"
                break
            if converged:
                status_reason = "converged"
                break
            scale = 1e-4 * max(1.0, abs(master_sol.objective))
            if (master_sol.objective < progress_mark[0] - scale
                    or best_lb > progress_mark[1] + scale or binding):
                # a master held by its box has not converged, whatever its value does
                progress_mark = (master_sol.objective, best_lb, it)
            elif it - progress_mark[2] >= s.stall_iterations:
                status_reason = "stalled"
                break
            if clock.expired():
                status_reason = "time_limit"
                break
            mispriced = added == 0
            stab.update(y, improved, mispriced, binding)
            y = plink.valid(stab.prices(master_sol.y))
        if best.x is None:
            # stopped (by the time limit or the master) before any plan: one is made
            # anyway, as the rolling start would have: the pricing rounds' columns
            # repaired in sequence, else the guided rolling pass
            tr = time.perf_counter()
            _last_resort_plan(best, latest, lp, repairer, solvers, linking,
                              conditions, stab.center, starts, s, clock, say, pool, master)
            totals["repair"] += time.perf_counter() - tr
        gap = relative_gap(best.upper, best_lb)
        if (s.family_repair and not families_tried and best.x is not None
                and (gap is None or gap > s.gap) and not clock.expired()):
            tr = time.perf_counter()
            _family_step(best, repairer, best_lb, s, clock, say, log, pool, master,
                         len(log.rows) + 1)
            totals["repair"] += time.perf_counter() - tr
            gap = relative_gap(best.upper, best_lb)
        window = s.boundary_window
        chosen = best.columns or last_picked or (
            latest if all(c is not None for c in latest) else None)
        while ((s.escalate or best.x is None) and chosen is not None
               and (gap is None or gap > s.gap)):
            # Column generation stopped short of the target: free more binaries around the
            # boundaries. Freeing all of them is the full MILP (started from the best plan),
            # whose proven bound is then a valid lower bound too.
            if clock.expired():
                break
            window = max(1, 2 * window)
            full = window >= provider.horizon
            tr = time.perf_counter()
            limit = clock.cap(None)
            values = np.concatenate([c.binaries for c in chosen])
            free = (np.ones(len(values), dtype=bool) if full
                    else repairer.window_mask(starts, window))
            # the best plan fits every wider window (its binaries outside the window are
            # the chosen columns'): a complete MIP start, so the repair starts there
            rep = repairer.repair_values(values, free,
                                         min(s.repair_gap, s.gap / 2) if full else s.repair_gap,
                                         limit, window, start=best.x)
            repair_s = time.perf_counter() - tr
            totals["repair"] += repair_s
            best.offer(rep, best.columns)
            if full and rep.solve.bound is not None:
                best_lb = max(best_lb, rep.solve.bound)
            gap = relative_gap(best.upper, best_lb)
            log.add(iteration=len(log.rows) + 1, lower_bound=best_lb, lagrangian=None,
                    master_objective=None, upper_bound=best.upper,
                    gap=gap, columns_added=0, columns=len(pool), pricing_seconds=0.0,
                    master_seconds=0.0, repair_seconds=repair_s, repair_window=window)
            say(f"repair window {window} h: UB {best.ub:.6g}  LB {best_lb:.6g}  "
                f"gap {gap if gap is not None else float('nan'):.3%}  {repair_s:.1f}s")
            status_reason = "escalated"
            if full:
                break
        pricer.close()
        ub = best.ub if math.isfinite(best.ub) else None
        if best.x is not None:
            repairer.check(ub, best.x)
            repairer.load(best.x)
    seconds = time.perf_counter() - t0
    gap = relative_gap(ub, best_lb)
    status = certified_status(best.x is not None, gap, s.gap)
    return MethodResult(
        method="dw",
        status=status,
        objective=ub,
        bound=best_lb,
        gap=gap,
        seconds=seconds,
        build_seconds=build_s,
        solve_seconds=seconds - build_s,
        peak_rss_mb=mem.peak_mb,
        solver=f"pricing {solvers[0].solver.name}, master highs, repair highs",
        plan=repairer.plan if best.x is not None else None,
        log=log.rows,
        extra={"lower_bound": best_lb, "upper_bound": ub,
               "lp_bound": lp_bound, "iterations": len(log.rows), "columns": len(pool),
               "intervals": n, "stop_reason": status_reason,
               "pricing_seconds": totals["pricing"], "master_seconds": totals["master"],
               "repair_seconds": totals["repair"], "models_kept": kept,
               "models_dropped": not repairer.models_kept,
               "rolling_start": s.rolling_start, "first_prices": s.first_prices,
               "focus_windows": s.focus_windows, "window_neighbours": s.window_neighbours,
               "exit_tiebreak": s.exit_tiebreak, "exit_lookahead": s.exit_lookahead,
               "redecide_seconds": s.redecide_seconds,
               "lp_master_share": s.lp_master_share, "pass_gap_share": s.pass_gap_share,
               "lp_aggregate": s.lp_aggregate,
               "boundary_repair": s.boundary_repair,
               "family_repair": s.family_repair, "escalate": s.escalate,
               "guard_milps": s.guard_milps, "window_lead": sorted(improver.lead),
               "relax_fix": s.relax_fix, "relax_fix_share": s.relax_fix_share},
    )


@dataclass(frozen=True)
class _FirstRelaxation:
    """The first bound, prices and integer values of the LP relaxation, however found."""

    bound: float
    y: np.ndarray
    binaries: np.ndarray | None


def _first_relaxation(s: DWSettings, solvers, linking, conditions, repairer, clock, cap,
                      log, say, pricer=None) -> _FirstRelaxation | None:
    """The LP relaxation's bound and prices: the horizon LP solved whole, or column
    generation over the intervals' LPs (``first_prices``); None if nothing was proven
    within ``cap`` seconds."""
    if s.first_prices == "lp":
        lp = repairer.lp_relaxation(clock.cap(cap))
        return None if lp is None else _FirstRelaxation(lp.bound, lp.y, lp.binaries)
    begun = time.perf_counter()
    deadline = None if cap is None else begun + cap
    rel = solve_relaxation(solvers, linking, conditions, _cost_scale(solvers),
                           RelaxationSettings(tolerance=_lp_tolerance(s),
                                              stabilisation=s.stabilisation, alpha=s.alpha,
                                              box_width=s.lp_box_width,
                                              column_age=s.lp_column_age,
                                              aggregate=s.lp_aggregate),
                           deadline=deadline, say=say, pricer=pricer)
    log.rows += [row | {"elapsed": begun - log.t0 + row["elapsed"]} for row in rel.log]
    if not math.isfinite(rel.bound):
        return None
    return _FirstRelaxation(rel.bound, rel.y, rel.binaries)


def first_prices(s: DWSettings, solvers: list[IntervalSolver]) -> str:
    """The first-prices path ``auto`` stands for: the glued horizon LP while it is small
    enough to solve whole quickly (``lp_max_nonzeros``), else column generation over the
    intervals' LPs (a glued year of ten homes took HiGHS longer than half an hour)."""
    if s.first_prices != "auto":
        return s.first_prices
    return "lp" if _nonzeros(solvers) <= s.lp_max_nonzeros else "master"


def _nonzeros(solvers: list[IntervalSolver]) -> int:
    return int(sum(sv.form.A.nnz for sv in solvers))


def priced_linking(s: DWSettings, linking: Linking, solvers: list[IntervalSolver]) -> Linking:
    """The linking rows that carry prices (``priced_states``; ``auto``: only continuous
    states on the ``master`` path)."""
    mode = s.priced_states
    if mode == "auto":
        mode = "continuous" if s.first_prices == "master" else "all"
    if mode == "all":
        return linking
    return linking.pricing_only(continuous_states(solvers))


def _exit_tiebreak(s: DWSettings) -> float:
    """The ``exit_tiebreak`` a run uses: its own, or for None 1e-3 on the ``master``
    path (degenerate column-generation prices) and 0 on the glued LP's."""
    if s.exit_tiebreak is not None:
        return s.exit_tiebreak
    return 1e-3 if s.first_prices == "master" else 0.0


def continuous_states(solvers: list[IntervalSolver]) -> set[str]:
    """Names of the boundary states that are continuous in every interval (storage
    levels, not units' on/off)."""
    integer, names = set(), set()
    for sv in solvers:
        for cols, states in ((sv.entry_cols, sv.entry_names), (sv.exit_cols, sv.exit_names)):
            names |= set(states)
            integer |= {nm for nm, j in zip(states, cols, strict=True) if sv.form.integer[j]}
    return names - integer


def tiebreak_prices(y: np.ndarray, linking: Linking, solvers: list[IntervalSolver],
                    bonus: float) -> np.ndarray:
    """``y`` with ``bonus`` added on the boundary rows of continuous states: what an
    interval solved on its own is paid for each unit of such a state it leaves at its end,
    so that at prices that leave it indifferent it keeps storage rather than spending it
    for nothing. Only for heuristics (a row's price changes the Lagrangian's)."""
    if bonus == 0:
        return y
    keep = continuous_states(solvers)
    mask = np.array([r.kind == "link" and r.state in keep for r in linking.rows], dtype=bool)
    return y + bonus * mask


#: the share of the next positive price a state priced 0 is worth to the sequential
#: repair by default on the ``master`` path (a year of ten homes)
LOOKAHEAD_SHARE = 0.3

#: a boundary price at most this share of its state's largest (over the horizon) counts
#: as 0 for :func:`lookahead_prices` (column generation leaves such prices at ~4e-5
#: where the state's are ~0.45 elsewhere)
ZERO_SHARE = 1e-3


def lookahead_prices(y: np.ndarray, linking: Linking, states: set[str],
                     cyclic: Collection[str] = (), share: float = 1.0) -> np.ndarray:
    """``y`` with each boundary price of a state in ``states`` that is 0 (within
    ``ZERO_SHARE`` of the state's largest price) raised to ``share`` of that state's next
    positive price along the horizon (for a state in ``cyclic``, past the horizon's end
    from its start again; otherwise none past the last, which leaves the price as it
    is). Where a relaxation prices storage at 0 while it fills it for later (free energy
    now, the store full at some later boundary), an interval solved on its own then sees
    what the store is worth once full instead of nothing. Only for heuristics (a row's price
    changes the Lagrangian's)."""
    out = np.array(y, dtype=float, copy=True)
    rows: dict[str, list[tuple[int, int]]] = {}
    for r, row in enumerate(linking.rows):
        if row.kind == "link" and row.state in states:
            rows.setdefault(row.state, []).append((row.k, r))
    for state, pairs in rows.items():
        index = np.array([r for _, r in sorted(pairs)])
        values = out[index]
        zero = ZERO_SHARE * max(float(values.max()), 0.0)
        m = len(index)
        later = None
        # walk backwards (twice round for a cyclic state) carrying the next positive price
        for j in range(2 * m - 1 if state in cyclic else m - 1, -1, -1):
            v = values[j % m]
            if v > zero:
                later = v
            elif j < m and later is not None and v >= -zero:
                out[index[j]] = max(v, share * later)
    return out


def _exit_lookahead(s: DWSettings) -> float:
    """The ``exit_lookahead`` a run uses: its own, or for None ``LOOKAHEAD_SHARE`` on the
    ``master`` path (whose column-generation prices are degenerate through the summer)
    and 0 on the glued LP's."""
    if s.exit_lookahead is not None:
        return s.exit_lookahead
    return LOOKAHEAD_SHARE if s.first_prices == "master" else 0.0


def _horizon_milps(s: DWSettings) -> DWSettings:
    """The whole-horizon MILP steps (boundary repair, family step, escalation) left
    unset: on unless the first prices come from the ``master`` path, where the horizon
    is too large to hold whole (a year of ten homes: the boundary repair was infeasible in
    2.3 s and the family step gave nothing in 2.1 s, yet loading them made the run's
    memory peak, +0.75 GB)."""
    on = s.first_prices != "master"
    return replace(s, **{name: on for name in ("escalate", "family_repair", "boundary_repair")
                         if getattr(s, name) is None})


def _lp_tolerance(s: DWSettings) -> float:
    """How close the ``master`` path's master must come to its bound: a tenth of the
    target gap unless set (the MILP rounds and repairs need prices, not the LP's last
    digits)."""
    if s.lp_tolerance is not None:
        return s.lp_tolerance
    return max(1e-5, s.gap / 10)


def _scale_pricing_gap(s: DWSettings, scale: float, solvers, pricer) -> None:
    """Let every interval MILP stop at an absolute gap of ``pricing_gap`` times the
    horizon's objective (``scale``: a bound or a plan's cost) shared among the intervals:
    the round's Lagrangian bound then loses at most ``pricing_gap`` of the objective,
    however close to 0 an interval's priced objective is (a relative gap alone asks
    such an interval for far more precision than the certificate needs)."""
    if not s.pricing_abs_gap or not math.isfinite(scale):
        return
    value = interval_share(_pricing_share(s), scale, len(solvers))
    for sv in solvers:
        sv.set_abs_gap(value)
    pricer.set_abs_gap(value)


def _pricing_share(s: DWSettings) -> float:
    """The share of the objective a round's Lagrangian may lose to the intervals'
    absolute gaps: ``pricing_gap``, or a twentieth of the target gap if that is more
    (asking HiGHS for more than the certificate needs costs minutes on ten homes)."""
    return max(s.pricing_gap, s.gap / 20)


def _cost_scale(solvers: list[IntervalSolver]) -> float:
    """The largest absolute cost coefficient of the intervals: the scale of the prices
    the master's duals are boxed to at first."""
    scale = max((float(np.abs(sv.form.cost).max(initial=0.0)) for sv in solvers), default=0.0)
    return scale if scale > 0 else 1.0


class _Incumbent:
    """The best plan so far: its cost (the upper bound), its column values in the glued
    horizon and the columns it was repaired from."""

    def __init__(self, repairer: Repairer) -> None:
        self.repairer = repairer
        self.ub = math.inf
        self.x: np.ndarray | None = None
        self.columns: list[Column] | None = None

    def offer(self, rep, columns, pool=None, master=None) -> bool:
        """Keep ``rep``'s plan if it is cheaper; its intervals also enter the master."""
        if rep is None or rep.solve.objective is None:
            return False
        return self.offer_plan(self.repairer.x, rep.solve.objective, columns, pool, master)

    def offer_plan(self, x, cost: float, columns, pool=None, master=None) -> bool:
        """Keep plan ``x`` of cost ``cost`` if it is cheaper."""
        if cost >= self.ub:
            return False
        self.ub = cost
        self.x = x.copy()
        self.columns = columns
        if pool is not None:
            _add_columns(pool, master, self.repairer.columns(self.x))
        return True

    @property
    def upper(self) -> float | None:
        """The upper bound, None while no plan is known."""
        return self.ub if math.isfinite(self.ub) else None


def _family_step(best, repairer: Repairer, lower: float, s: DWSettings, clock, say, log,
                 pool, master, iteration: int) -> None:
    """Fix-and-optimise by decision family (:mod:`decomp.families`) on the best plan,
    within ``family_time_share`` of the time left: each horizon MILP MIP-started from the
    plan and capped by ``repair_time_limit``, every better plan offered to the incumbent
    (and its columns to the master).
    Its log rows carry ``iteration``: the column-generation iteration it ran in."""
    families = integer_families(repairer.form, repairer.bin_cols)
    left = clock.cap(None)
    deadline = None if left is None else time.perf_counter() + s.family_time_share * left

    def solve(values: np.ndarray, free: np.ndarray, limit: float | None):
        # each MILP also within the repair limit (without an overall limit there is no
        # deadline, and a horizon MILP need not end on its own)
        if s.repair_time_limit is not None:
            limit = s.repair_time_limit if limit is None else min(limit, s.repair_time_limit)
        start = best.x if np.array_equal(best.x[repairer.bin_cols], values) else None
        rep = repairer.repair_values(values, free, s.repair_gap, limit, start=start)
        if not rep.solve.has_solution:
            return None, math.inf
        best.offer(rep, best.columns, pool, master)
        return repairer.x[repairer.bin_cols].copy(), rep.solve.objective

    _, _, steps = improve_by_families(
        solve, best.x[repairer.bin_cols], best.ub, families, deadline,
        stop=lambda cost: relative_gap(cost, lower) <= s.gap)
    for st in steps:
        log.add(iteration=iteration, lower_bound=lower, lagrangian=None,
                master_objective=None, upper_bound=best.upper,
                gap=relative_gap(best.upper, lower), columns_added=0, columns=len(pool),
                pricing_seconds=0.0, master_seconds=0.0, repair_seconds=st.seconds,
                repair_window=f"{st.free} ({st.binaries} integers)")
        say(f"{st.free} free ({st.binaries} integers): {st.before:.6g} -> {st.after:.6g} "
            f"({st.status}, {st.seconds:.1f} s)")


def _add_columns(pool: ColumnPool, master: RestrictedMaster, columns: list[Column]) -> None:
    """Put new columns into the pool and the master (duplicates are skipped)."""
    for col in columns:
        if pool.add(col):
            master.add(col)


def _choose(pool, linking, center, master_sol, s, say, clock) -> list[Column]:
    """One column per interval: the column-choice MILP, else the heaviest master columns."""
    penalty = np.abs(center) + 1e-3
    chosen = choose_columns(pool.columns, linking, penalty, clock.cap(s.choice_time_limit))
    if chosen is None:
        best: dict[int, tuple[float, Column]] = {}
        for col, w in master_sol.weights:
            if col.k not in best or w > best[col.k][0]:
                best[col.k] = (w, col)
        n = len(pool.columns)
        chosen = [best[k][1] if k in best else pool.columns[k][0] for k in range(n)]
        say("column choice MILP found nothing; using the heaviest master columns")
    return chosen


def _sequential_repair(chosen, best, pool, master, repairer, solvers, linking, conditions,
                       y, starts, s, clock, say, window: int | None = None,
                       missing_guide: np.ndarray | None = None, gap: float | None = None,
                       abs_gap: float | None = None, scale: float | None = None
                       ) -> tuple[np.ndarray | None, list | None]:
    """The chosen columns made into a plan of the horizon without a horizon MILP: the
    intervals in order, each starting where the last ended, with the columns' binaries
    fixed except within ``window`` hours of a boundary (default ``boundary_window``; an
    interval without a column, None, takes the integral values of ``missing_guide``
    instead, e.g. the LP relaxation's, fractional ones free, or all free without one; an
    interval that cannot keep them is solved with its binaries free) and exits valued at
    ``y`` (continuous states ``exit_tiebreak`` above it: :func:`tiebreak_prices`). The
    pass's own plan is offered first (it needs no horizon model, so a run out of time
    still ends with one); then the horizon's LP with every binary fixed
    moves storage across the whole horizon, within the time left. Returns the better of
    the two plans and the pass's columns (which fit together), or (None, None). Each
    interval's MILP stops at ``gap`` (default ``pricing_gap``) or ``abs_gap`` (default,
    given the objective's ``scale``: ``pass_gap_share`` of the target gap's share of it
    per interval, :func:`pass_abs_gap`)."""
    if abs_gap is None and scale is not None:
        abs_gap = pass_abs_gap(s, scale, len(solvers))
    sizes = [sv.n_binaries for sv in solvers]
    ends = np.cumsum([0] + sizes)
    parts = [c.binaries.astype(float) if c is not None
             else np.full(sv.n_binaries, np.nan) if missing_guide is None
             else np.asarray(missing_guide[ends[k]:ends[k + 1]], dtype=float)
             for k, (c, sv) in enumerate(zip(chosen, solvers, strict=True))]
    values = np.concatenate(parts)
    window = s.boundary_window if window is None else window
    # an interval without a column keeps its guide near the boundaries too (the LP
    # relaxation's integers already fit the neighbouring intervals' states)
    own = np.repeat([c is not None for c in chosen], sizes)
    guide = np.where(repairer.window_mask(starts, window) & own, np.nan, values)
    # where an interval cannot keep its guide (a priced column's first hours rarely fit
    # the entry the pass gives it), its integers in its first ENTRY_HOURS hours are freed,
    # then those within boundary_window hours of either of its ends, before all of them
    # are: small MILPs (or fast proofs that they have no plan), where all of them took
    # seconds a day. Each frees all the guide frees and more; one that frees
    # nothing more is left out.
    first = repairer.entry_mask(starts, ENTRY_HOURS)
    w = s.boundary_window
    ends = first | repairer.near([*starts, solvers[-1].stop], w, w)
    fallback, freed = [], np.isnan(guide)
    for mask in (first, ends):
        wider = freed | mask
        if (wider & ~freed).any():
            fallback.append(np.where(wider, np.nan, values))
            freed = wider
    plan: list[np.ndarray] = []
    redecide: set[int] = set()
    share = _exit_lookahead(s)
    if share > 0:
        cyclic = {bc.state for bc in conditions if bc.kind == "cyclic"}
        ahead = lookahead_prices(y, linking, continuous_states(solvers), cyclic, share)
        if s.redecide_seconds:
            # only ``link`` rows change: each is the exit of its interval ``k``
            redecide = {linking.rows[r].k for r in np.flatnonzero(ahead != y)}
        y = ahead
    exits = tiebreak_prices(y, linking, solvers, _exit_tiebreak(s) * _cost_scale(solvers))
    made: list[int] = []
    t_pass = time.perf_counter()
    try:
        columns = rolling_horizon(solvers, linking, conditions, exits,
                                  s.pricing_gap if gap is None else gap, guide=guide,
                                  abs_gap=abs_gap,
                                  deadline=clock.deadline(), plan=plan, redecide=redecide,
                                  redecide_seconds=s.redecide_seconds or 0.0,
                                  fallback=fallback, made=made)
    except SolverError as exc:
        say(f"sequential repair found no plan ({exc})")
        return None, None
    x = repairer.form.clip(np.concatenate(plan))
    cost = repairer.form.objective(x)
    passed = (f"pass {cost:.6g} in {time.perf_counter() - t_pass:.1f} s "
              f"({pass_counts(made, len(fallback))})")
    best.offer_plan(x, cost, columns, pool, master)
    if clock.expired():
        # no time for the horizon LP: loading it alone made the peak of twenty homes (5.3 GB)
        say(f"sequential repair: {passed}; no time left for the horizon LP")
        return x, columns
    t_lp = time.perf_counter()
    rep = repairer.fixed_lp(x, clock.cap(s.repair_time_limit))
    if rep.solve.has_solution and rep.solve.objective < cost:
        x, cost = repairer.x.copy(), rep.solve.objective
        best.offer(rep, columns, pool, master)
    say(f"sequential repair: {passed}, plan {cost:.6g} (horizon LP "
        f"{rep.solve.status}, {time.perf_counter() - t_lp:.1f} s)")
    return x, columns


def pass_abs_gap(s: DWSettings, scale: float, intervals: int) -> float | None:
    """The absolute gap at which each interval MILP of a sequential pass stops: the
    larger of ``pass_gap_share`` of the target gap and the pricing rounds' share, times
    the objective's ``scale`` shared among the ``intervals``; None (the solvers' own) when
    ``pass_gap_share`` is 0 or the scale is unknown."""
    if not s.pass_gap_share or not math.isfinite(scale):
        return None
    return interval_share(max(s.pass_gap_share * s.gap, _pricing_share(s)), scale,
                          intervals)


def interval_share(share: float, scale: float, intervals: int) -> float:
    """``share`` of an objective of size ``scale`` (at least 1) divided among the
    ``intervals``: the absolute gap each interval MILP may leave."""
    return share * max(1.0, abs(scale)) / max(1, intervals)


def pass_counts(made: list[int], fallbacks: int) -> str:
    """How many intervals of a pass kept their guide, needed each fallback guide, or
    every integer free (``made`` from :func:`~decomp.rolling.rolling_horizon`)."""
    counts = np.bincount(np.asarray(made, dtype=int), minlength=fallbacks + 2)
    names = ["guide kept"] + [f"fallback {j}" for j in range(1, fallbacks + 1)] + ["all free"]
    return ", ".join(f"{c} {name}" for c, name in zip(counts, names, strict=True) if c)


def _commitments(columns: list[Column]) -> bytes:
    """What a repair of ``columns`` starts from: their integers, interval by interval."""
    return np.concatenate([np.asarray(c.binaries, dtype=float) for c in columns]).tobytes()


def _last_resort_plan(best, columns, lp, repairer, solvers, linking, conditions, y, starts,
                      s, clock, say, pool, master) -> None:
    """A plan for a run that has none: the pricing rounds' ``columns`` (one per interval,
    None where none came: those take the LP relaxation's integral values) repaired in
    sequence; without any column that is the rolling pass guided by the LP relaxation's
    integers. The pass is a plan of its own (each interval gets at least a second), so a
    run out of time still ends with one; the horizon LP only improves it in the time
    left. Under a time limit the columns' binaries are kept near the boundaries too (an
    interval that cannot keep them is solved with them free): most intervals are then
    LPs. A run gets here under a limit only when time ran short (a round whose interval
    MILPs were cut before a plan): freeing 2 x ``boundary_window`` hours of every
    interval there made a pass of 183 MILPs that ran minutes past the limit;
    for the same reason each interval's MILP there stops at the run's target gap
    (and that share of the LP bound as an absolute gap), not at ``pricing_gap``."""
    short = s.time_limit is not None
    scale = abs(lp.bound) if lp is not None and math.isfinite(lp.bound) else None
    _sequential_repair(columns, best, pool, master, repairer, solvers, linking, conditions,
                       y, starts, s, clock, say, window=0 if short else None,
                       missing_guide=None if lp is None else lp.binaries,
                       gap=s.gap if short else None,
                       abs_gap=interval_share(s.gap, scale, len(solvers))
                       if short and scale is not None else None)
    how = "pricing columns" if any(c is not None for c in columns) else "rolling pass"
    say(f"last-resort plan ({how}): UB {best.ub:.6g}")


def _boundary_step(best, columns, repairer, improver, starts, lower, s, clock, say, pool,
                   master, start=None) -> None:
    """The horizon MILP with ``columns``' integers fixed except within
    ``boundary_window`` hours of each interval boundary (capped by
    ``repair_time_limit``), MIP-started from ``start`` where that plan fits (the
    sequential repair's plan of the same columns does: it keeps their integers outside
    the same windows); a cheaper plan becomes the incumbent and is polished."""
    t0 = time.perf_counter()
    rep = repairer.repair(columns, starts, s.boundary_window, s.repair_gap,
                          clock.cap(s.repair_time_limit), start=start)
    before = best.ub
    better = best.offer(rep, columns, pool, master)
    cost = rep.solve.objective if rep.solve.has_solution else math.inf
    say(f"boundary repair ({s.boundary_window} h around each boundary, "
        f"{rep.free_binaries} integers free): {cost:.6g} against {before:.6g} "
        f"({rep.solve.status}, {time.perf_counter() - t0:.1f} s)")
    if better:
        _polish(best, best.x.copy(), columns, repairer, improver, lower, s, clock, say, pool,
                master)


def _polish(best, x, columns, repairer, improver, lower, s, clock, say, pool, master
            ) -> None:
    """Fix-and-optimise on plan ``x`` until a round gains less than a twentieth of the
    plan's gap to ``lower`` (or 1e-4 of its cost), the gap is met or time is up; the
    result becomes the incumbent if it is cheaper."""
    if not s.improve or clock.expired():
        return

    def met(cost: float) -> bool:
        gap = relative_gap(cost, lower)
        return gap is not None and gap <= s.gap

    start = repairer.form.objective(x)
    gap = relative_gap(start, lower) if math.isfinite(lower) else None
    tolerance = max(1e-4, 0.05 * gap) if gap is not None else 1e-4
    families = lead_families(repairer, improver.lead) if s.relax_fix else []
    if families and not met(start):
        left = clock.cap(None)
        deadline = None if left is None else time.perf_counter() + s.relax_fix_share * left
        x, cost, _ = relax_and_fix(repairer, x, families, s.repair_gap, deadline, stop=met,
                                   say=say, max_free=RELAX_FIX_MAX_FREE)
        best.offer_plan(x, cost, columns, pool, master)
    x, cost, _ = improve(repairer, improver, x, s.pricing_gap, clock.deadline(),
                         stop=met, say=say, tolerance=tolerance, local=s.window_neighbours)
    best.offer_plan(x, cost, columns, pool, master)


def solve_rolling(provider: IntervalProvider, settings: DWSettings, progress=None) -> MethodResult:
    """Rolling-horizon heuristic: intervals in order, binaries integral in the LP relaxation
    fixed, exit states valued at the LP duals; the plan is re-solved with its binaries
    fixed. Its bound is the LP relaxation bound (dw's first step, as a method of its own).
    """
    s = settings
    say = progress or (lambda msg: None)
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        cuts, conditions, linking, solvers = _intervals(provider, s)
        build_s = time.perf_counter() - t0
        repairer = Repairer(solvers, linking,
                            SolveOptions(solver="highs", threads=s.solve.threads),
                            s.lp_edge_weights)
        lp = repairer.lp_relaxation()
        lp_bound, y = lp.bound, lp.y
        say(f"LP relaxation bound {lp_bound:.6g}")
        columns = rolling_horizon(solvers, linking, conditions, linking.valid(y), s.pricing_gap,
                                  guide=lp.binaries)
        rep = repairer.repair(columns, [a for a, _ in cuts], 0, s.repair_gap)
        ub = rep.solve.objective
        if rep.solve.has_solution:
            repairer.check(ub)
            repairer.load(repairer.x)
    seconds = time.perf_counter() - t0
    return MethodResult(
        method="rolling",
        status=FEASIBLE if rep.solve.has_solution else NO_PLAN,
        objective=ub,
        bound=lp_bound,
        gap=relative_gap(ub, lp_bound),
        seconds=seconds,
        build_seconds=build_s,
        solve_seconds=seconds - build_s,
        peak_rss_mb=mem.peak_mb,
        solver=f"intervals {solvers[0].solver.name}, LP and plan highs",
        plan=repairer.plan if rep.solve.has_solution else None,
        extra={"lower_bound": lp_bound, "upper_bound": ub, "lp_bound": lp_bound,
               "rolling_cost": sum(c.cost for c in columns), "intervals": len(cuts)},
    )
