"""Fix-and-optimise by decision family (decomp.families): families found from the rows
alone, plans never dearer and always feasible, dw's certificates unchanged."""

from __future__ import annotations

import numpy as np

from decomp.dw import DWSettings, solve_dw
from decomp.families import improve_by_families, integer_families
from decomp.methods import solve_direct
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from tests.test_dw import assert_sandwich
from tests.test_fix_optimise import EXACT, myopic_plan, pieces
from tests.toy_provider import ToyProvider


def _unit(name: str) -> str:
    return name.split("__")[0].split("[")[0]


def test_families_are_the_units_of_the_energy_model(small_case):
    provider = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5)
    _, _, _, _, repairer = pieces(provider, 6)
    families = integer_families(repairer.form, repairer.bin_cols)
    units = []
    for fam in families:
        names = {_unit(repairer.form.columns[repairer.bin_cols[i]].parent_component().local_name)
                 for i in fam}
        assert len(names) == 1, names  # one unit's on/off, starts and stops, all intervals
        units.append(names.pop())
    with_binaries = [c.name for c in small_case.spec.components if hasattr(c, "commitment")]
    assert sorted(units) == sorted(with_binaries)
    # every integer in exactly one family
    assert sorted(np.concatenate(families)) == list(range(len(repairer.bin_cols)))


def test_family_steps_never_raise_the_cost_and_keep_the_plan_feasible(small_case):
    provider = EnergyProvider(prepare(small_case, small_case.design(), 24), 0.5)
    cuts, solvers, linking, conditions, repairer = pieces(provider, 4)
    x, cost = myopic_plan(cuts, solvers, linking, conditions, repairer)
    plans = {cost: x}

    def solve(values, free, limit):
        start = plans[min(plans)]  # the best plan so far: its integers are ``values``
        assert np.array_equal(start[repairer.bin_cols], values)
        rep = repairer.repair_values(values, free, 1e-6, limit, start=start)
        if not rep.solve.has_solution:
            return None, np.inf
        plans[rep.solve.objective] = repairer.x.copy()
        return repairer.x[repairer.bin_cols].copy(), rep.solve.objective

    families = integer_families(repairer.form, repairer.bin_cols)
    best, best_cost, steps = improve_by_families(solve, x[repairer.bin_cols], cost, families,
                                                 None)
    assert len(steps) == 2 * len(families)  # each alone, then all but each (3+ families)
    assert all(s.after <= s.before + 1e-9 for s in steps)
    assert best_cost < cost  # the myopic plan is improved
    repairer.check(best_cost, plans[best_cost])
    assert solve_direct(provider, EXACT).objective - 1e-6 <= best_cost


def test_a_deadline_already_past_runs_no_step():
    x = np.zeros(4)
    steps = improve_by_families(lambda v, f, t: (v, 0.0), x, 1.0, [np.arange(4)], 0.0)[2]
    assert steps == []


def test_dw_with_family_steps_still_sandwiches_the_optimum():
    rng = np.random.default_rng(7)
    for _ in range(3):
        p = ToyProvider(rng.uniform(0, 5, 12), rng.uniform(0.5, 5, 12), units=2,
                        maintenance=(4,))
        r = solve_dw(p, DWSettings(interval=3, solve=EXACT, gap=1e-9, max_iterations=2,
                                   heuristics=("pass", "windows", "boundary", "families")))
        assert_sandwich(r.bound, solve_direct(p, EXACT).objective, r.objective)


def test_boundary_repair_runs_above_the_target_and_keeps_the_sandwich():
    # a target of 0 is never met by the polished plan: the boundary MILP runs on the
    # columns that proved the bound, and its plan (checked against the horizon at the
    # end) is never dearer than the one it was offered against
    rng = np.random.default_rng(11)
    for _ in range(3):
        p = ToyProvider(rng.uniform(0, 5, 12), rng.uniform(0.5, 5, 12), units=2,
                        maintenance=(5,))
        said: list[str] = []
        r = solve_dw(p, DWSettings(interval=3, boundary_window=1, solve=EXACT, gap=0.0,
                                   max_iterations=1, heuristics=("pass", "windows",
                                                                 "boundary")),
                     progress=said.append)
        steps = [m for m in said if m.startswith("boundary repair")]
        assert len(steps) == 1
        offered, against = (float(v) for v in
                            steps[0].split(": ")[1].split(" (")[0].split(" against "))
        # (the message rounds to 6 digits)
        assert r.objective <= against * (1 + 1e-5) + 1e-9
        assert r.objective <= offered * (1 + 1e-5) + 1e-9
        assert_sandwich(r.bound, solve_direct(p, EXACT).objective, r.objective)
        off = solve_dw(p, DWSettings(interval=3, boundary_window=1, solve=EXACT, gap=0.0,
                                     max_iterations=1, heuristics=("pass", "windows")),
                     progress=said.append)
        assert_sandwich(off.bound, solve_direct(p, EXACT).objective, off.objective)
        assert len([m for m in said if m.startswith("boundary repair")]) == 1
