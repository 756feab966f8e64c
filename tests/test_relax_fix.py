"""Relax-and-fix by family (decomp.relax_fix): the partial horizon solves agree with the
whole-horizon ones they generalise, plans are never dearer, always feasible and never
below the direct optimum; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.dw import DWSettings, solve_dw
from decomp.families import integer_families
from decomp.matrix_form import label_component
from decomp.methods import solve_direct
from decomp.provider import lead_components
from decomp.relax_fix import _chunks, freed_hours, lead_families, relax_and_fix
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from tests.test_dw import assert_sandwich
from tests.test_fix_optimise import EXACT, GRID_DEMANDS, PRICES, myopic_plan, pieces
from tests.toy_provider import ToyProvider


def _small(small_case, hours: int = 24, interval: int = 6):
    provider = EnergyProvider(prepare(small_case, small_case.design(), hours), 0.5)
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    return provider, repairer, x, cost


def _families(repairer) -> list[tuple[str, np.ndarray]]:
    out = []
    for i, pos in enumerate(integer_families(repairer.form, repairer.bin_cols)):
        mask = np.zeros(len(repairer.bin_cols), dtype=bool)
        mask[pos] = True
        out.append((f"family {i + 1}", mask))
    return out


def test_partial_solves_match_the_horizon_solves_they_generalise(small_case):
    provider, repairer, x, cost = _small(small_case)
    every = np.ones(len(repairer.bin_cols), dtype=bool)
    none = ~every
    # every integer relaxed: the LP relaxation of the horizon
    lp, values = repairer.partial(x, every, relaxed=True)
    relaxation = repairer.lp_relaxation()
    assert lp.objective == pytest.approx(relaxation.bound, rel=1e-7, abs=1e-7)
    assert np.any(np.abs(values[repairer.bin_cols] - np.round(values[repairer.bin_cols])) > 1e-6)
    # none relaxed: the LP with every integer fixed at the plan's
    fixed, values = repairer.partial(x, none, relaxed=True)
    assert fixed.objective == pytest.approx(repairer.fixed_lp(x).solve.objective, rel=1e-7,
                                            abs=1e-7)
    assert np.array_equal(values[repairer.bin_cols], np.round(x[repairer.bin_cols]))
    # every integer free in a MILP: the direct optimum, a plan of the whole horizon
    milp, plan = repairer.partial(x, every, relaxed=False, gap=1e-9, time_limit=60)
    direct = solve_direct(provider, EXACT).objective
    assert milp.objective == pytest.approx(direct, rel=1e-6, abs=1e-6)
    repairer.check(milp.objective, plan)
    assert np.array_equal(repairer.x, plan)


def test_a_partial_milp_keeps_the_held_integers(small_case):
    _, repairer, x, cost = _small(small_case)
    name, family = _families(repairer)[0]
    res, plan = repairer.partial(x, family, relaxed=False, gap=1e-9)
    assert res.has_solution and res.objective <= cost + 1e-7  # the plan is its start
    held = repairer.bin_cols[~family]
    assert np.array_equal(plan[held], np.round(x[held]))
    repairer.check(res.objective, plan)


def test_partial_refuses_masks_of_the_wrong_size(small_case):
    _, repairer, x, _ = _small(small_case)
    with pytest.raises(ValueError, match="free flags"):
        repairer.partial(x, np.ones(3, dtype=bool), relaxed=True)


def test_freed_hours_widen_the_differing_hours_within_the_family():
    hours = np.array([0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5])
    family = np.array([True] * 6 + [False] * 6)
    differ = np.zeros(12, dtype=bool)
    differ[2] = True
    differ[9] = True  # outside the family: ignored
    free = freed_hours(differ, family, hours, 1)
    assert np.flatnonzero(free).tolist() == [1, 2, 3]
    assert not freed_hours(np.zeros(12, dtype=bool), family, hours, 2).any()


def test_chunks_split_the_freed_integers_in_hour_order():
    hours = np.array([5, 0, 3, 1, 4, 2])
    free = np.array([True, True, False, True, True, True])
    parts = _chunks(free, hours, 2)
    assert [sorted(hours[p].tolist()) for p in parts] == [[0, 1], [2, 4], [5]]
    assert np.array_equal(np.logical_or.reduce(parts), free)
    assert len(_chunks(free, hours, None)) == 1 and len(_chunks(free, hours, 5)) == 1


def test_relax_and_fix_never_raises_the_cost_and_its_lp_bounds_each_step(small_case):
    provider, repairer, x, cost = _small(small_case)
    best, best_cost, steps = relax_and_fix(repairer, x, _families(repairer), 1e-9, None)
    assert len(steps) == len(_families(repairer))
    for st_ in steps:
        assert st_.after <= st_.before + 1e-9
        # the family relaxed bounds what re-deciding it alone can reach
        assert st_.lp_value is None or st_.lp_value <= st_.after + 1e-6
    assert best_cost < cost  # the myopic plan is improved
    repairer.check(best_cost, best)
    assert solve_direct(provider, EXACT).objective - 1e-6 <= best_cost


def test_the_lp_anchor_holds_the_lp_integral_values_and_bad_anchors_are_refused(small_case):
    provider, repairer, x, cost = _small(small_case)
    best, best_cost, steps = relax_and_fix(repairer, x, _families(repairer), 1e-9, None,
                                           anchor="lp")
    assert all(st_.after <= st_.before + 1e-9 for st_ in steps)
    repairer.check(best_cost, best)
    assert solve_direct(provider, EXACT).objective - 1e-6 <= best_cost
    with pytest.raises(ValueError, match="anchor"):
        relax_and_fix(repairer, x, _families(repairer), 1e-9, None, anchor="middle")


def test_a_deadline_already_past_runs_no_step(small_case):
    _, repairer, x, cost = _small(small_case)
    best, best_cost, steps = relax_and_fix(repairer, x, _families(repairer), 1e-9, 0.0)
    assert steps == [] and best_cost == pytest.approx(cost) and np.array_equal(best, x)


@settings(max_examples=10, deadline=None)
@given(demand=GRID_DEMANDS, price=PRICES, interval=st.integers(2, 5), widen=st.integers(0, 3),
       anchor=st.sampled_from(["plan", "lp"]), max_free=st.sampled_from([None, 1, 3]))
def test_relax_and_fix_plans_are_feasible_and_never_below_the_optimum(demand, price,
                                                                      interval, widen, anchor,
                                                                      max_free):
    provider = ToyProvider(np.array(demand), np.array(price[:len(demand)]), units=2)
    cuts, solvers, linking, conditions, repairer = pieces(provider, interval)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    best, best_cost, steps = relax_and_fix(repairer, x, _families(repairer), 1e-9, None,
                                           widen=widen, anchor=anchor, max_free=max_free)
    assert best_cost <= cost + 1e-9
    repairer.check(best_cost, best)
    assert solve_direct(provider, EXACT).objective - 1e-6 <= best_cost


def test_lead_families_are_the_hydrogen_units(small_case):
    provider, repairer, x, _ = _small(small_case)
    families = lead_families(repairer, lead_components(provider))
    names = sorted(name.split("__")[0] for name, _ in families)
    assert names == ["electrolyser", "fuel_cell"]
    for _, mask in families:
        comps = {label_component(repairer.form.columns, int(j))
                 for j in repairer.bin_cols[mask]}
        assert comps <= lead_components(provider)
    assert lead_families(repairer, frozenset()) == []


def test_dw_with_relax_and_fix_keeps_the_sandwich_and_says_its_steps(small_case):
    provider = EnergyProvider(prepare(small_case, small_case.design(), 48), 0.5)
    direct = solve_direct(provider, EXACT).objective
    for on in (True, False):
        said: list[str] = []
        r = solve_dw(provider, DWSettings(interval=12, solve=EXACT, gap=0.0, max_iterations=2,
                                          relax_fix=on, first_prices="master"),
                     progress=said.append)
        assert_sandwich(r.bound, direct, r.objective)
        assert any(m.startswith("relax-and-fix") for m in said) == on
        assert r.extra["relax_fix"] is on


def test_relax_fix_share_is_checked():
    with pytest.raises(ValueError, match="relax_fix_share"):
        DWSettings(relax_fix_share=0.0)
