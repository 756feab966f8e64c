"""Fix-and-optimise windows and the horizon glued from compiled interval matrices: plans
stay feasible, costs never rise, the glue is the Pyomo-built horizon."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.certificate import CertificateError
from decomp.fix_optimise import WindowImprover, improve, neighbours
from decomp.horizon import interval_cuts
from decomp.linking import Linking
from decomp.matrix_form import label_component
from decomp.methods import solve_direct
from decomp.pricing import IntervalSolver
from decomp.provider import lead_components
from decomp.repair import Repairer
from decomp.rolling import rolling_horizon
from decomp.solvers import SolveOptions
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from tests.toy_provider import ToyProvider

EXACT = SolveOptions(solver="highs", gap=1e-9)
DEMANDS = st.lists(st.floats(0, 5), min_size=8, max_size=16)
PRICES = st.lists(st.floats(0.2, 5), min_size=16, max_size=16)
# on a 0.1 grid: no demand a solver tolerance away from a unit's size (a plan may then
# undercut a proven bound by the tolerance, HISTORY 17.5)
GRID_DEMANDS = st.lists(st.integers(0, 50).map(lambda v: v / 10), min_size=8, max_size=16)


def pieces(provider, interval: int, options: SolveOptions = EXACT):
    cuts = interval_cuts(provider.horizon, interval)
    solvers = [IntervalSolver(k, provider.build(a, b), options) for k, (a, b) in enumerate(cuts)]
    conditions = provider.boundary_conditions()
    linking = Linking([s.entry_names for s in solvers], [s.exit_names for s in solvers],
                      conditions)
    return cuts, solvers, linking, conditions, Repairer(solvers, linking, EXACT)


def myopic_plan(cuts, solvers, linking, conditions, repairer):
    """A feasible but poor plan: the rolling pass at zero prices, binaries as it chose."""
    columns = rolling_horizon(solvers, linking, conditions, None, 1e-9)
    values = np.concatenate([c.binaries for c in columns])
    rep = repairer.repair_values(values, np.zeros(len(values), dtype=bool), 1e-9)
    assert rep.solve.has_solution
    return repairer.x.copy(), rep.solve.objective


@settings(max_examples=15, deadline=None)
@given(demand=DEMANDS, price=PRICES, interval=st.integers(2, 5), width=st.integers(2, 3))
def test_windows_keep_the_plan_feasible_and_never_raise_its_cost(demand, price, interval,
                                                                  width):
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]))
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    improver = WindowImprover(solvers, EXACT, width=width)
    y, sweep = improver.sweep(x, repairer.offsets, 1e-9)
    assert sweep.complete and sweep.after <= sweep.before + 1e-9
    assert 0 < sweep.slowest <= sweep.seconds or sweep.windows == 0
    assert sweep.before == pytest.approx(cost, rel=1e-7, abs=1e-7)
    repairer.check(sweep.after, y)  # every row, bound and integrality of the horizon
    # windows cut off at once, or stopping at a large absolute gap, start from the plan:
    # still a feasible plan no dearer than it
    for limit, abs_gap in ((1e-6, None), (None, 1e3)):
        for sv in solvers:
            sv.set_abs_gap(abs_gap)
        z, cut = WindowImprover(solvers, EXACT, width=width, window_time_limit=limit).sweep(
            x, repairer.offsets, 1e-9)
        assert cut.after <= cut.before + 1e-9
        repairer.check(cut.after, z)
    best, best_cost, _ = improve(repairer, improver, x, 1e-9)
    repairer.check(best_cost, best)
    optimum = solve_direct(provider, EXACT).objective
    assert optimum - 1e-6 <= best_cost <= cost + 1e-9


def test_windows_improve_a_myopic_plan_of_the_small_case(small_case):
    # 48 h of the small case (heat pump with minimum up/down times, storage) in 6 h
    # intervals: the myopic plan is improved towards the optimum and stays feasible
    provider = EnergyProvider(prepare(small_case, small_case.design(), 48), 0.5)
    cuts, solvers, linking, conditions, repairer = pieces(provider, 6)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    best, best_cost, sweeps = improve(repairer, WindowImprover(solvers, EXACT), x, 1e-9)
    repairer.check(best_cost, best)
    optimum = solve_direct(provider, EXACT).objective
    assert optimum - 1e-6 <= best_cost < cost
    assert sweeps and all(s.after <= s.before + 1e-9 for s in sweeps)


def test_glued_matrix_check_catches_a_broken_plan():
    provider = ToyProvider(np.array([2.0, 3.0, 1.0, 4.0, 0.5, 2.0]), np.full(6, 3.0))
    cuts, solvers, linking, conditions, repairer = pieces(provider, 3)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    repairer.check(cost, x)
    with pytest.raises(CertificateError, match="reported"):
        repairer.check(cost - 1.0, x)
    # an exit state moved alone breaks its balance and the linking row to the next entry
    broken = x.copy()
    broken[repairer.offsets[0] + solvers[0].exit_cols[0]] += 0.5
    with pytest.raises(CertificateError, match="violates"):
        repairer.check(None, broken)


def test_a_fixed_horizon_lp_records_its_time_for_the_sweeps_before_it():
    provider = ToyProvider(np.array([1, 3, 0, 2, 4, 1, 0, 3.0]), np.full(8, 2.0))
    cuts, solvers, linking, conditions, repairer = pieces(provider, 3)
    assert repairer.fixed_lp_seconds == 0.0
    myopic_plan(cuts, solvers, linking, conditions, repairer)
    assert repairer.fixed_lp_seconds > 0.0
    with pytest.raises(ValueError, match="window_time_limit"):
        WindowImprover(solvers, EXACT, window_time_limit=0.0)


def test_window_width_must_span_twointervals():
    provider = ToyProvider(np.ones(4), np.ones(4))
    _, solvers, *_ = pieces(provider, 2)
    with pytest.raises(ValueError, match="at least 2"):
        WindowImprover(solvers, EXACT, width=1)


@settings(max_examples=12, deadline=None)
@given(demand=GRID_DEMANDS, price=PRICES, interval=st.integers(2, 4),
       scale=st.floats(0.0, 2.0))
def test_focused_windows_gain_at_most_their_local_gaps(demand, price, interval, scale):
    # a pricing round at prices y (scaled LP-like duals: any prices give valid bounds)
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]))
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    lp = repairer.lp_relaxation()
    y = linking.valid(scale * lp.y)
    prices = [linking.interval_prices(y, k) for k in range(len(solvers))]
    bounds = []
    for sv, p in zip(solvers, prices, strict=True):
        sv.set_prices(*p)
        bounds.append(sv.solve(gap=1e-9).bound)
    improver = WindowImprover(solvers, EXACT, width=2)
    improver.focus(prices, bounds)
    local = improver.local_gaps(x, repairer.offsets)
    lagrangian = sum(bounds) + linking.constant(y)
    tol = 1e-6 * max(1.0, abs(cost))
    # every interval's share is >= 0, and they add up to at most the plan's gap to the
    # Lagrangian bound (equal when the cyclic rows are tight)
    assert np.all(local >= -tol)
    assert local.sum() <= cost - lagrangian + tol
    # each window, solved alone to optimality, gains at most its intervals' local gaps
    for k in range(len(solvers) - 1):
        seg, values, _ = improver._solve_window(k, x, repairer.offsets, 1e-9, None)
        if values is not None:
            gain = _segment_cost(solvers, x, repairer.offsets, k) - _segment_cost(
                solvers, np.r_[x[:seg.start], values, x[seg.stop:]], repairer.offsets, k)
            assert gain <= local[k] + local[k + 1] + tol
    # the focused sweep (two windows side by side) keeps a feasible plan, no dearer
    z, sweep = WindowImprover(solvers, EXACT, width=2, workers=2).focus(
        prices, bounds).sweep(x, repairer.offsets, 1e-9)
    assert sweep.after <= sweep.before + 1e-9
    repairer.check(sweep.after, z)


def _segment_cost(solvers, x, offsets, k):
    return sum(solvers[j].form.objective(x[offsets[j]:offsets[j + 1]]) for j in (k, k + 1))


def test_focused_windows_skip_what_cannot_beat_their_absolute_gap():
    provider = ToyProvider(np.array([0, 4, 0, 5, 1, 0, 3, 2.0]), np.full(8, 3.0))
    cuts, solvers, linking, conditions, repairer = pieces(provider, 2)
    x, _ = myopic_plan(cuts, solvers, linking, conditions, repairer)
    y = np.zeros(linking.size)
    prices = [linking.interval_prices(y, k) for k in range(len(solvers))]
    bounds = [sv.solve(gap=1e-9).bound for sv in solvers]
    improver = WindowImprover(solvers, EXACT, width=2)
    improver.focus(prices, bounds)
    for sv in solvers:
        sv.set_abs_gap(1e6)
    _, sweep = improver.sweep(x, repairer.offsets, 1e-9)
    assert sweep.windows == 0 and sweep.complete
    with pytest.raises(ValueError, match="finite"):
        improver.focus(prices, [-np.inf] * len(solvers))
    with pytest.raises(ValueError, match="all 4 intervals"):
        improver.focus(prices[:2], bounds[:2])
    with pytest.raises(ValueError, match="workers"):
        WindowImprover(solvers, EXACT, workers=0)


@settings(max_examples=10, deadline=None)
@given(demand=GRID_DEMANDS, price=st.floats(0.2, 5), interval=st.integers(2, 5),
       seed=st.integers(0, 99))
def test_fixed_lp_without_the_integer_columns_is_the_whole_lp(demand, price, interval,
                                                               seed):
    # the horizon LP with every integer fixed is solved with the fixed columns taken out
    # (their terms moved to the row sides): the same optimum as the whole glued LP with
    # those columns held by their bounds, and a plan that passes the whole form's check
    provider = ToyProvider(np.array(demand), np.full(len(demand), price))
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, _ = myopic_plan(cuts, solvers, linking, conditions, repairer)
    values = x[repairer.bin_cols].copy()
    rng = np.random.default_rng(seed)
    values[rng.random(len(values)) < 0.3] = 1.0  # some units on (may be infeasible)
    none = np.zeros(len(values), dtype=bool)
    rep = repairer.repair_values(values, none, 1e-9)
    whole, _ = repairer._solve(True, 0.0, None)  # the bounds repair_values set
    assert rep.solve.status == whole.status
    if whole.has_solution:
        assert rep.solve.objective == pytest.approx(whole.objective, rel=1e-7, abs=1e-7)
        repairer.check(rep.solve.objective, repairer.x)
        assert np.array_equal(repairer.x[repairer.bin_cols], np.round(values))


def test_neighbours_are_the_windows_sharing_an_interval_or_boundary():
    # windows of 2 intervals over 10 intervals start at 0..8; window 4 covers 4, 5 and
    # touches the boundaries at 4 and 6: windows 2..6 share an interval or a boundary
    assert neighbours([4], 2, 10) == frozenset(range(2, 7))
    assert neighbours([0, 8], 2, 10) == frozenset({0, 1, 2, 6, 7, 8})
    assert neighbours([3], 3, 8) == frozenset(range(0, 6))
    assert neighbours([], 2, 10) == frozenset()


@settings(max_examples=12, deadline=None)
@given(demand=GRID_DEMANDS, price=PRICES, interval=st.integers(2, 4), width=st.integers(2, 3))
def test_neighbourhood_sweeps_keep_plans_feasible_and_end_on_a_full_sweep(demand, price,
                                                                          interval, width):
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]))
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    improver = WindowImprover(solvers, EXACT, width=width)
    # a sweep given some windows solves only those, and changes only those
    only = frozenset(range(0, len(solvers) - improver.width + 1, 2))
    z, part = improver.sweep(x, repairer.offsets, 1e-9, only=only)
    assert not part.full and set(part.changed) <= only
    assert part.windows <= len(only) and part.after <= part.before + 1e-9
    repairer.check(part.after, z)
    for local in (True, False):
        best, best_cost, sweeps = improve(repairer, improver, x, 1e-9, local=local)
        repairer.check(best_cost, best)
        assert best_cost <= cost + 1e-9
        # the polish stops only after a full sweep (a neighbourhood sweep that gains
        # little hands over to one)
        assert sweeps[-1].full
        assert local or all(sw.full for sw in sweeps)
        for before, after in zip(sweeps, sweeps[1:], strict=False):
            if not after.full:
                assert before.improved > 0
                assert set(after.changed) <= neighbours(before.changed, improver.width,
                                                        len(solvers))


def test_restricted_windows_re_decide_only_the_named_units(small_case):
    # 48 h of the small case in 6 h intervals: windows restricted to the heat pump of the
    # house change none of the other units' integers, and the plan stays feasible
    provider = EnergyProvider(prepare(small_case, small_case.design(), 48), 0.5)
    cuts, solvers, linking, conditions, repairer = pieces(provider, 6)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    names = {"heat_pump_house__on", "heat_pump_house__start", "heat_pump_house__stop",
             "heat_pump_house__on_in", "heat_pump_house__start_hist",
             "heat_pump_house__stop_hist"}
    restricted = WindowImprover(solvers, EXACT).restricted(names)
    assert restricted.restriction and not WindowImprover(solvers, EXACT).restriction
    y, sweep = restricted.sweep(x, repairer.offsets, 1e-9)
    assert sweep.restricted and sweep.complete and sweep.after <= sweep.before + 1e-9
    repairer.check(sweep.after, y)
    form = repairer.form
    ints = np.flatnonzero(form.integer)
    own = np.array([label_component(form.columns, int(j)) in names for j in ints])
    assert own.any() and (~own).any()
    # every integer outside the named components is the plan's (within integrality)
    np.testing.assert_allclose(y[ints[~own]], x[ints[~own]], atol=1e-6)
    # nothing named: no window has anything to re-decide, so none is solved
    z, none = WindowImprover(solvers, EXACT).restricted(set()).sweep(x, repairer.offsets, 1e-9)
    assert none.windows == 0 and np.array_equal(z, x)


@pytest.mark.parametrize("weight, interval", [(0.5, 6), (0.9, 8)])
def test_a_lead_sweep_goes_first_and_the_polish_still_ends_on_a_full_sweep(
        small_case, weight, interval):
    provider = EnergyProvider(prepare(small_case, small_case.design(), 32), weight)
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    lead = lead_components(provider)
    assert "electrolyser__on" in lead and "fuel_cell__on" in lead
    assert not any(n.startswith("heat_pump") for n in lead)
    best, best_cost, sweeps = improve(repairer, WindowImprover(solvers, EXACT, lead=lead),
                                      x, 1e-9)
    repairer.check(best_cost, best)
    optimum = solve_direct(provider, EXACT).objective
    assert optimum - 1e-6 <= best_cost <= cost + 1e-9
    # one restricted sweep (over every window) comes first, then sweeps with every
    # integer free, the last of them full
    assert sweeps[0].restricted and sweeps[0].full
    assert not any(sw.restricted for sw in sweeps[1:])
    assert len(sweeps) >= 2 and sweeps[-1].full


def test_the_lead_names_every_integer_of_the_hydrogen_units_and_no_other(small_case):
    # the names are written in two places (the builder and the lead): a built model says
    # whether they still agree
    provider = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5)
    im = provider.build(6, 18)
    integer = {v.parent_component().local_name for v in im.model.component_data_objects(
        pyo.Var) if v.is_integer() or v.is_binary()}
    hydrogen = {n for n in integer if n.split("__")[0] in ("electrolyser", "fuel_cell")}
    assert hydrogen and hydrogen <= lead_components(provider)
    assert not (lead_components(provider) & (integer - hydrogen))


def test_a_provider_lead_must_name_components():
    class Bad:
        lead_components = "electrolyser__on"

    class Good:
        lead_components = ("a", "b")

    with pytest.raises(TypeError, match="lead_components"):
        lead_components(Bad())
    assert lead_components(Good()) == frozenset({"a", "b"})
    assert lead_components(object()) == frozenset()
