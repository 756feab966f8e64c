"""Prices only on continuous states, thread pricing, LP values for intervals the deadline
cut off, the master path's first centre and the first-prices rule: every bound they give
is still a bound (checked against direct optima)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.dw import DWSettings, solve_dw
from decomp.linking import Linking
from decomp.master import RestrictedMaster
from decomp.methods import solve_direct
from decomp.prices import cost_scale, first_prices_path, priced_linking
from decomp.pricing import SerialPricer, ThreadPricer, lp_fill
from decomp.relaxation import RelaxationSettings, entry_prices, solve_relaxation
from decomp.repair import Repairer
from decomp.rolling import pass_limit, rolling_horizon
from decomp.settings import HEURISTICS
from decomp.solvers import SolveOptions, gurobi_can_take
from tests.conftest import interval_parts
from tests.test_dw import EXACT, assert_sandwich
from tests.test_relaxation import toy
from tests.toy_provider import ToyProvider

STATES = {"level"}  # the toy's one continuous state (on, started_1h_ago are integer)


def _parts(provider, interval: int, **kw):
    s = DWSettings(interval=interval, solve=EXACT, **kw)
    cuts, conditions, linking, solvers = interval_parts(provider, s)
    return s, conditions, linking, solvers


def _toy() -> ToyProvider:
    rng = np.random.default_rng(5)
    return ToyProvider(rng.integers(0, 5, 24).astype(float), rng.uniform(1, 3, 24))


def test_only_continuous_states_carry_prices_and_rows_in_the_master():
    s, _, linking, solvers = _parts(_toy(), 4, first_prices="master")
    # auto on the master path: continuous
    plink = priced_linking(s.priced_states, s.first_prices, linking, solvers)
    assert {r.state for r, p in zip(plink.rows, plink.priced, strict=True) if p} == STATES
    assert all(linking.priced) and linking.size == plink.size
    y = plink.valid(np.ones(plink.size))
    assert np.all(y[~plink.priced] == 0) and np.all(y[plink.priced] == 1)
    master = RestrictedMaster(len(solvers), plink, 1.0)
    assert master.h.getNumRow() == len(solvers) + int(plink.priced.sum())
    # the glued-LP path prices every row unless asked otherwise
    assert priced_linking("auto", "lp", linking, solvers) is linking
    every = priced_linking("all", "master", linking, solvers)
    assert every is linking
    with pytest.raises(ValueError, match="priced_states"):
        DWSettings(priced_states="integer")


def test_a_priced_mask_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="priced mask"):
        Linking([["a"], ["a"]], [["a"], ["a"]], [], priced=np.ones(3, dtype=bool))


@settings(max_examples=12, deadline=None)
@given(provider=toy, interval=st.integers(2, 6))
def test_continuous_prices_bound_the_lp_and_dw_sandwiches_the_optimum(provider, interval):
    s, conditions, linking, solvers = _parts(provider, interval, first_prices="master",
                                             priced_states="continuous")
    glued = Repairer(solvers, linking, EXACT).lp_relaxation().bound
    plink = priced_linking(s.priced_states, s.first_prices, linking, solvers)
    rel = solve_relaxation(solvers, plink, conditions, cost_scale(solvers),
                           RelaxationSettings(tolerance=1e-7, max_rounds=400))
    tol = 1e-6 * max(1.0, abs(glued))
    # rows dropped: the master converges to the LP of a relaxation, below the glued LP
    for row in rel.log:
        if row["lagrangian"] is not None:
            assert row["lagrangian"] <= glued + tol
    assert rel.converged and rel.bound <= glued + tol
    assert np.all(rel.y[~plink.priced] == 0)
    direct = solve_direct(provider, EXACT)
    dw = solve_dw(provider, DWSettings(interval=interval, gap=1e-6, max_iterations=6,
                                       first_prices="master", priced_states="continuous",
                                       solve=SolveOptions(solver="highs")))
    assert dw.plan is not None
    assert_sandwich(dw.bound, direct.objective, dw.objective)


def test_first_prices_auto_follows_the_size_of_the_glued_horizon(monkeypatch):
    import decomp.prices as prices

    _, _, _, solvers = _parts(_toy(), 4)
    assert first_prices_path("auto", solvers) == "lp"
    monkeypatch.setattr(prices, "GLUED_LP_MAX_NONZEROS", 0)
    assert first_prices_path("auto", solvers) == "master"
    assert first_prices_path("zero", solvers) == "zero"
    direct = solve_direct(_toy(), EXACT).objective
    dw = solve_dw(_toy(), DWSettings(interval=4, gap=1e-6, solve=SolveOptions(solver="highs")))
    assert dw.extra["first_prices"] == "master"
    assert any(row.get("phase") == "lp" for row in dw.log)  # the master path ran
    assert_sandwich(dw.bound, direct, dw.objective)
    monkeypatch.setattr(prices, "GLUED_LP_MAX_NONZEROS", 1_000_000)
    glued = solve_dw(_toy(), DWSettings(interval=4, gap=1e-6,
                                        solve=SolveOptions(solver="highs")))
    assert glued.extra["first_prices"] == "lp"
    assert_sandwich(glued.bound, direct, glued.objective)
    # the whole-horizon MILPs run on the glued path only, unless asked for
    assert dw.extra["heuristics"] == ["pass", "windows"]
    assert glued.extra["heuristics"] == list(HEURISTICS)


def test_the_master_path_holds_no_horizon_milp_unless_asked():
    short = dict(interval=4, gap=1e-9, first_prices="master", max_iterations=1,
                 solve=SolveOptions(solver="highs"))
    said: list[str] = []
    dw = solve_dw(_toy(), DWSettings(**short, heuristics=None), progress=said.append)
    assert not any("repair window" in m or "boundary repair" in m for m in said)
    assert not any("repair_window" in row for row in dw.log)
    asked = solve_dw(_toy(), DWSettings(**short, heuristics=("pass", "escalate")),
                     progress=said.append)
    assert any("repair_window" in row for row in asked.log)
    direct = solve_direct(_toy(), EXACT).objective
    for r in (dw, asked):
        assert_sandwich(r.bound, direct, r.objective)


def _prices(solvers, seed: int = 3):
    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, len(s.entry_names)), rng.uniform(-1, 1, len(s.exit_names)))
            for s in solvers]


@pytest.mark.parametrize("solver", ["highs", "gurobi"])
def test_threads_price_as_one_thread_does(solver):
    if solver == "gurobi" and not gurobi_can_take(100, 100):
        pytest.skip("no Gurobi licence for the toy's intervals")
    s = DWSettings(interval=3, solve=SolveOptions(solver=solver, gap=1e-9))
    _, _, _, solvers = interval_parts(_toy(), s)
    assert all(sv.solver.name == solver for sv in solvers)
    prices = _prices(solvers)
    serial = SerialPricer(solvers).price(prices, 1e-9)
    threaded = ThreadPricer(solvers, 2).price(prices, 1e-9)
    assert [r.k for r in threaded] == list(range(len(solvers)))
    for a, b in zip(threaded, serial, strict=True):
        assert a.bound == pytest.approx(b.bound, rel=1e-7, abs=1e-7)
        assert a.column.cost == pytest.approx(b.column.cost, rel=1e-6, abs=1e-6)
    assert ThreadPricer(solvers, 2).price(prices, 1e-9, time.perf_counter() - 1.0) == []
    with pytest.raises(ValueError, match="workers"):
        ThreadPricer(solvers, 0)


@pytest.mark.parametrize("pricer", [SerialPricer, lambda s: ThreadPricer(s, 2)])
def test_intervals_cut_off_by_the_deadline_count_their_lp_value(pricer):
    _, _, _, solvers = _parts(_toy(), 3)
    prices = _prices(solvers)
    exact = SerialPricer(solvers).price(prices, 1e-9)
    # a round whose deadline passed before it began proves nothing and is not filled
    # (an LP per interval after the deadline for nothing a MILP of the round proved)
    assert pricer(solvers).price(prices, 1e-9, time.perf_counter() - 1.0, fill=True) == []
    # a round cut after its first interval: the others count their LP values
    filled = lp_fill(solvers, prices, exact[:1])
    assert [r.k for r in filled] == list(range(len(solvers)))
    assert filled[0] is exact[0]
    for f, e in zip(filled[1:], exact[1:], strict=True):
        # an LP value at the same prices: finite, no column, below the interval's optimum
        assert math.isfinite(f.bound) and f.column is None and f.status == "lp"
        assert f.bound <= e.bound + 1e-7 * max(1.0, abs(e.bound))
    assert not any(sv.relaxed for sv in solvers)  # the intervals are MILPs again
    # nothing cut off: fill changes nothing
    again = pricer(solvers).price(prices, 1e-9, fill=True)
    assert [r.bound for r in again] == pytest.approx([r.bound for r in exact], rel=1e-7)


def test_entry_prices_value_a_state_where_the_next_interval_enters():
    linking = Linking([["s"], ["s"], ["s"]], [["s"], ["s"], ["s"]], [])
    # rows: exit_0 - entry_1 = 0, exit_1 - entry_2 = 0; entry coefficients are -1
    y = entry_prices(linking, [np.array([9.0]), np.array([2.0]), None])
    assert y.tolist() == [2.0, 0.0]


def test_rolling_lp_pass_reports_entry_values_and_restores_each_absolute_gap():
    _, conditions, linking, solvers = _parts(_toy(), 4)
    for sv in solvers:
        sv.set_abs_gap(0.125)
        sv.relax(True)
    values: list = []
    try:
        rolling_horizon(solvers, linking, conditions, None, 0.0, abs_gap=3.0,
                        entry_values=values)
    finally:
        for sv in solvers:
            sv.relax(False)
    assert len(values) == len(solvers) and all(v is not None for v in values)
    assert all(sv.abs_gap == 0.125 for sv in solvers)
    # storing costs nothing and buying later costs at least as much: a unit more in the
    # store is worth >= 0 to the next interval
    assert all(np.all(v[solvers[k].entry_names.index("level")] >= -1e-9)
               for k, v in enumerate(values) if k > 0)


class _CutPricer(SerialPricer):
    """A serial pricer whose first MILP round is cut after ``keep`` intervals, the rest
    filled with their LP values (no column): what a deadline does to a long round."""

    def __init__(self, solvers, keep: int) -> None:
        super().__init__(solvers)
        self.keep, self.rounds = keep, 0

    def price(self, prices, gap, deadline=None, fill=False, interval_limit=None):
        if self.solvers[0].relaxed:  # the LP phase's rounds are not cut
            return super().price(prices, gap, deadline, fill, interval_limit)
        self.rounds += 1
        if self.rounds > 1:
            return super().price(prices, gap, deadline, fill, interval_limit)
        done = SerialPricer(self.solvers[:self.keep]).price(prices[:self.keep], gap)
        return lp_fill(self.solvers, prices, done)


@pytest.mark.parametrize("first_prices", ["master", "lp"])
def test_a_round_without_columns_for_some_intervals_still_ends_in_a_certified_plan(
        monkeypatch, first_prices):
    # district-20's year: the first MILP round was cut by the deadline, its intervals
    # LP-filled; the master had intervals without any column and HiGHS called it infeasible
    import decomp.dw as dw_module

    made: list[_CutPricer] = []

    def cut(solvers):
        made.append(_CutPricer(solvers, keep=2))
        return made[-1]

    monkeypatch.setattr(dw_module, "SerialPricer", cut)
    said: list[str] = []
    r = solve_dw(_toy(), DWSettings(interval=4, gap=1e-9, max_iterations=3,
                                    first_prices=first_prices,
                                    solve=SolveOptions(solver="highs")),
                 progress=said.append)
    assert made and made[0].rounds >= 1
    assert any("no column yet" in m for m in said)
    # the last resort starts from the columns the cut round did give
    assert any("last-resort plan (pricing columns)" in m for m in said), said
    # the glued path escalates after it (gap 1e-9 unmet), the master path does not
    assert r.extra["stop_reason"] == ("no_columns" if first_prices == "master" else "escalated")
    assert r.plan is not None and r.status != "no plan"
    direct = solve_direct(_toy(), EXACT).objective
    assert_sandwich(r.bound, direct, r.objective)
    # the cut round's bound counts (LP values of the cut intervals are below their MILPs)
    assert math.isfinite(r.bound)


def test_master_names_the_intervals_without_a_column():
    _, _, linking, solvers = _parts(_toy(), 6)
    master = RestrictedMaster(len(solvers), linking, 10.0)
    assert master.missing() == [0, 1, 2, 3]
    cols = rolling_horizon(solvers, linking, [], None, 1e-9)
    master.add_many(cols[1:3])
    assert master.missing() == [0, 3]
    master.add_many([cols[0], cols[3]])
    assert master.missing() == []
    assert master.solve() is not None


@settings(max_examples=15, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 4.0]), min_size=12, max_size=12),
       st.sampled_from([3, 4, 6]))
def test_the_rolling_pass_is_a_plan_of_the_horizon_on_its_own(demand, interval):
    provider = ToyProvider(np.array(demand), np.linspace(1.0, 3.0, 12))
    _, conditions, linking, solvers = _parts(provider, interval)
    plan: list[np.ndarray] = []
    cols = rolling_horizon(solvers, linking, conditions, None, 1e-9, plan=plan)
    assert len(plan) == len(solvers)
    repairer = Repairer(solvers, linking, SolveOptions(solver="highs"))
    x = repairer.form.clip(np.concatenate(plan))
    cost = repairer.form.objective(x)
    # every row of the glued horizon (linking rows and horizon conditions included), every
    # bound and integrality hold, and its cost is the columns' own
    repairer.check(cost, x)
    assert cost == pytest.approx(sum(c.cost for c in cols), rel=1e-7, abs=1e-7)
    assert cost >= solve_direct(provider, EXACT).objective - 1e-6


def test_a_pass_shares_the_time_left_among_its_intervals(monkeypatch):
    from decomp.pricing import IntervalSolver

    assert pass_limit(100.0, 10) == pytest.approx(20.0)
    # past the deadline: the least limit, no longer a second each
    assert pass_limit(0.5, 100) == pytest.approx(0.01) and pass_limit(-5.0, 3) == 0.01
    provider = ToyProvider(np.array([0.0, 2.0, 3.5, 1.0] * 3), np.linspace(1.0, 3.0, 12))
    _, conditions, linking, solvers = _parts(provider, 3)
    asked: list[tuple[float, float, int]] = []
    real = IntervalSolver.solve

    def spy(self, *args, time_limit=None, **kw):
        asked.append((time_limit, deadline - time.perf_counter(), len(solvers) - self.k))
        return real(self, *args, time_limit=time_limit, **kw)

    monkeypatch.setattr(IntervalSolver, "solve", spy)
    deadline = time.perf_counter() + 8.0
    rolling_horizon(solvers, linking, conditions, None, 1e-9, deadline=deadline)
    assert len(asked) == len(solvers)
    # no interval may take more than twice its even share of the time left (the first
    # of four: 4 s of 8, not all 8)
    for limit, left, remaining in asked:
        assert limit <= max(1.0, 2.0 * left / remaining) + 0.05  # measured just after
    assert asked[0][0] < 4.0 + 1e-6


def _heuristics(provider, s):
    """The integer phase's heuristics on ``provider`` and the messages they say."""
    from decomp.columns import ColumnPool
    from decomp.fix_optimise import WindowImprover
    from decomp.heuristics import Horizon, Incumbent, PrimalHeuristics
    from decomp.loop import Log

    cuts, conditions, linking, solvers = interval_parts(provider, s)
    repairer = Repairer(solvers, linking, SolveOptions(solver="highs"))
    pool = ColumnPool(len(solvers))
    master = RestrictedMaster(len(solvers), linking, 10.0)
    improver = WindowImprover(solvers, options=SolveOptions(solver="highs"))
    said: list[str] = []
    h = PrimalHeuristics(Horizon(solvers, linking, conditions, [a for a, _ in cuts], repairer,
                                 improver), s, Incumbent(repairer, pool, master),
                         Log(time.perf_counter()), said.append, focus=False)
    return h, said


@pytest.mark.parametrize("limit", [None, 600.0])
def test_a_last_resort_under_a_limit_keeps_the_columns_integers(monkeypatch, limit):
    from decomp.heuristics import PrimalHeuristics
    from decomp.loop import Clock

    seen: list = []
    monkeypatch.setattr(PrimalHeuristics, "sequential",
                        lambda self, chosen, clock, y, window=None, guide=None, gap=None,
                        abs_gap=None: seen.append((window, gap, abs_gap)) or (None, None))
    s = DWSettings(interval=4, time_limit=limit, solve=EXACT, gap=0.02)
    h, _ = _heuristics(_toy(), s)
    h.center = np.zeros(1)
    for bound in (None, -500.0):
        h.last_resort(Clock(time.perf_counter(), limit), None, bound)
    # under a limit a run gets here only short of time: every column's integers are
    # kept (a pass of LPs), not freed near the boundaries (a pass of MILPs), and each
    # interval's MILP stops at the run's target gap (with the LP bound: that share of it
    # as an absolute gap too), not at pricing_gap
    if limit is None:
        assert seen == [(None, None, None)] * 2
    else:
        n = len(h.h.solvers)
        assert seen == [(0, 0.02, None), (0, 0.02, pytest.approx(0.02 * 500.0 / n))]


def _priced_toy(provider):
    """The toy cut into 4 h intervals, its repairer and one priced column per interval."""
    s = DWSettings(interval=4, solve=EXACT)
    cuts, conditions, linking, solvers = interval_parts(provider, s)
    repairer = Repairer(solvers, linking, SolveOptions(solver="highs"))
    cols = [r.column for r in SerialPricer(solvers).price(_prices(solvers), 1e-9)]
    return s, cuts, conditions, linking, solvers, repairer, cols


@pytest.mark.parametrize("with_lp", [False, True])
def test_a_last_resort_past_the_deadline_ends_with_a_checked_plan(with_lp):
    from decomp.loop import Clock

    provider = _toy()
    s, cuts, conditions, linking, solvers, repairer, cols = _priced_toy(provider)
    h, said = _heuristics(provider, s)
    h.latest = list(cols)
    h.latest[1] = None  # an interval the round left without a column
    h.center = np.zeros(h.h.linking.size)
    lp = h.h.repairer.lp_relaxation() if with_lp else None
    # the interval without a column takes the LP relaxation's integers
    h.last_resort(Clock(time.perf_counter() - 10.0, 1.0), None if lp is None else lp.binaries,
                  None if lp is None else lp.bound)
    best = h.best
    assert best.x is not None and any("last-resort plan" in m for m in said)
    # past the deadline the horizon LP is not even loaded
    assert any("no time left for the horizon LP" in m for m in said)
    h.h.repairer.check(best.ub, best.x)
    assert best.ub >= solve_direct(provider, EXACT).objective - 1e-6
    assert len(best.pool) >= len(solvers)  # the plan's columns entered the pool


def _guide(solvers, on: dict[int, int], started: set[int]) -> np.ndarray:
    """Every binary of the toy's intervals: the unit on at the hours in ``on`` (value) and
    started at the hours in ``started``."""
    out = []
    for sv in solvers:
        for j in sv.bin_cols:
            name = sv.form.columns[j].name
            hour = int(name[name.index("[") + 1:-1])
            out.append(float(on[hour]) if name.startswith("u[") else float(hour in started))
    return np.array(out)


@pytest.mark.parametrize("with_fallback", [True, False])
def test_a_pass_frees_an_intervals_entry_hours_before_all_its_integers(monkeypatch,
                                                                      with_fallback):
    """A guide whose second interval starts off while the unit entered it just started
    (its 2-hour minimum up time) cannot be kept: the pass frees that interval's first
    ENTRY_HOURS hours (a MILP of 6 integers), not all 8 of them, and the plan holds."""
    from decomp.heuristics import ENTRY_HOURS, pass_counts
    from decomp.pricing import IntervalSolver

    provider = ToyProvider(np.full(12, 2.0), np.linspace(1.0, 3.0, 12))
    _, conditions, linking, solvers = _parts(provider, 4)
    starts = [sv.start for sv in solvers]
    guide = _guide(solvers, {t: int(t == 3 or t >= 5) for t in range(12)}, {3, 5})
    repairer = Repairer(solvers, linking, SolveOptions(solver="highs"))
    near = repairer.entry_mask(starts, ENTRY_HOURS)
    hours = repairer.var_hour
    assert near.any() and all(any(a <= h < a + ENTRY_HOURS for a in starts)
                              for h in hours[near])
    assert not any(any(a <= h < a + ENTRY_HOURS for a in starts) for h in hours[~near])
    fallback = [np.where(near, np.nan, guide)] if with_fallback else []
    solved: list[tuple[int, int, bool]] = []
    real = IntervalSolver.solve

    def spy(self, *args, **kw):
        r = real(self, *args, **kw)
        free = sum(int(j) not in self._saved for j in self.bin_cols)
        solved.append((self.k, free, r.column is not None))
        return r

    monkeypatch.setattr(IntervalSolver, "solve", spy)
    plan: list[np.ndarray] = []
    made: list[int] = []
    cols = rolling_horizon(solvers, linking, conditions, None, 1e-9, guide=guide, plan=plan,
                           fallback=fallback, made=made)
    second = [(free, ok) for k, free, ok in solved if k == 1]
    assert second[0] == (0, False)  # the guide's commitments do not fit the entry
    if with_fallback:
        assert second[1:] == [(2 * ENTRY_HOURS, True)]
        assert all(free == 0 for k, free, _ in solved if k != 1)  # the others keep theirs
        # the pass says which guide made each interval's plan
        assert made == [0, 1, 0] and pass_counts(made, 1) == "2 guide kept, 1 fallback 1"
    else:
        assert second[1:] == [(8, True)]
        # with every integer of the second freed, the third's guide no longer fits either
        assert made == [0, 1, 1] and pass_counts(made, 0) == "1 guide kept, 2 all free"
    x = repairer.form.clip(np.concatenate(plan))
    repairer.check(repairer.form.objective(x), x)
    assert repairer.form.objective(x) == pytest.approx(sum(c.cost for c in cols), rel=1e-7)


def test_a_sequential_repair_hands_the_pass_its_entry_hours_then_its_ends_as_fallback(monkeypatch):
    import decomp.heuristics as heuristics
    from decomp.loop import Clock
    from decomp.solvers import SolverError

    provider = _toy()
    s, cuts, conditions, linking, solvers, repairer, cols = _priced_toy(provider)
    h, _ = _heuristics(provider, s)
    repairer = h.h.repairer
    handed: list = []

    def fake(*args, fallback=None, **kw):
        handed.append(fallback)
        raise SolverError("stop here")

    monkeypatch.setattr(heuristics, "rolling_horizon", fake)
    starts = [a for a, _ in cuts]
    for window in (0, None):
        out = h.sequential(cols, Clock(time.perf_counter(), None), np.zeros(linking.size),
                           window=window)
        assert out == (None, None)
    # boundary_window (6 h) frees every integer of these 4 h intervals already: no
    # fallback frees more
    assert handed[1] == []
    values = np.concatenate([c.binaries for c in cols])
    first, ends = handed[0]
    near = repairer.entry_mask(starts, heuristics.ENTRY_HOURS)
    assert np.array_equal(np.isnan(first), near)
    # then every integer within boundary_window hours of an interval's ends
    hours, stops = repairer.var_hour, [*starts[1:], provider.horizon]
    wide = np.array([any(a <= h < a + s.boundary_window or b - s.boundary_window <= h < b
                         for a, b in zip(starts, stops, strict=True)) for h in hours])
    assert np.array_equal(np.isnan(ends), wide) and (wide & ~near).any()
    for guide in (first, ends):
        kept = ~np.isnan(guide)
        assert np.array_equal(guide[kept], values[kept])
