"""Blocks by node on the energy network: each home and the hub one block over the whole
horizon, linked by their links' flows and the hydrogen bus. The bound must lie below the
direct optimum and the plan, checked against every block and row, above it; its schedule
must balance every bus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.coupling import Coupling, CouplingRow
from decomp.methods import solve_direct
from decomp.nodes import NodeProblem, repair_block, solve_nodes
from decomp.settings import DWSettings
from decomp.solvers import SolveOptions
from design.network.builtin import district_case, district_spec, resolve_case
from design.network.case import Case, parse_spec
from design.network.model import EnergyProvider
from design.network.operation_data import prepare
from design.network.results import schedule_frame
from tests.conftest import check_balances
from tests.test_dw import assert_sandwich

EXACT = SolveOptions(solver="highs", gap=1e-9)
TIGHT = DWSettings(gap=1e-6, max_iterations=60, solve=EXACT)


@pytest.fixture(scope="module")
def district2() -> Case:
    return district_case(2, hours=48)


def _reversed(case: Case) -> Case:
    """The same district with the second home's link drawn from the home to the hub (the
    hub at the link's ``b`` end: the home still holds the flows)."""
    ref = resolve_case("reference")
    spec = district_spec(2, case.series, ref.spec.model_dump(mode="json"))
    link = spec["links"][1]
    spec["links"][1] = {**link, "a": link["b"], "b": link["a"]}
    return Case(parse_spec(spec, Path("district-2-reversed")), case.series, None)


@settings(max_examples=8)
@given(hours=st.integers(3, 10), weight=st.floats(0.05, 0.95),
       fuel_cell=st.sampled_from([0.0, 0.5, 1.0]),
       electrolyser=st.sampled_from([0.0, 0.2, 0.6, 1.0]),
       battery=st.sampled_from([0.0, 5.0, 30.0]), reverse=st.booleans())
def test_node_blocks_sandwich_the_direct_optimum_with_balanced_schedules(
        district2, hours, weight, fuel_cell, electrolyser, battery, reverse):
    case = _reversed(district2) if reverse else district2
    design = case.design({"fc_home1": fuel_cell, "fc_home2": fuel_cell,
                          "electrolyser": electrolyser, "battery": battery})
    data = prepare(case, design, hours)
    provider = EnergyProvider(data, weight)
    direct = solve_direct(provider, EXACT).objective
    problem = provider.node_blocks()
    assert problem.names == ["hub", "home1", "home2"]
    r = solve_nodes(problem, TIGHT)
    assert r.extra["decomposition"] == "node" and r.extra["repair_block"] == "hub"
    assert r.plan is not None
    assert_sandwich(r.bound, direct, r.objective)
    # every complete round's Lagrangian is a bound too
    tol = 1e-6 * max(1.0, abs(direct))
    assert all(row["lagrangian"] <= direct + tol for row in r.log
               if row["lagrangian"] is not None)
    check_balances(schedule_frame([r.plan], data), case, design)


def test_two_homes_for_a_day_reach_the_direct_optimum(district2):
    data = prepare(district2, district2.design(), 24)
    provider = EnergyProvider(data, 0.5)
    direct = solve_direct(provider, EXACT).objective
    r = solve_nodes(provider.node_blocks(), DWSettings(gap=1e-3))
    assert r.status in ("gap met", "optimal")
    assert_sandwich(r.bound, direct, r.objective)
    assert r.objective <= direct * (1 + 1e-3) + 1e-9


def test_the_rows_couple_one_net_inflow_per_hub_and_hour(district2):
    """The hub sees its homes through one net inflow per hour (not one row per link),
    and the hydrogen bus balances across blocks every hour."""
    problem = EnergyProvider(prepare(district2, district2.design(), 5), 0.5).node_blocks()
    names = [row.name for row in problem.rows]
    assert len(names) == 2 * 5
    assert names[:5] == [f"hub.electricity_exchange[{t}]" for t in range(5)]
    assert names[5:] == [f"hydrogen[{t}]" for t in range(5)]
    # the exchange row: the hub's inflow equals what leaves both homes' links
    row = problem.rows[0]
    assert {k for k, _, _ in row.terms} == {0, 1, 2}
    assert all(b.entry == {} for b in problem.blocks)


def test_a_node_problem_is_checked_when_built():
    link = Coupling([["a"], ["a"]], [CouplingRow("r", ((0, "a", 1.0), (1, "a", -1.0)), 0.0,
                                                "==")])
    assert repair_block(link) == 0
    lonely = Coupling([["a"], ["b"], ["c"]],
                      [CouplingRow("r", ((0, "a", 1.0), (1, "b", 1.0)), 0.0, "=="),
                       CouplingRow("s", ((1, "b", 1.0), (2, "c", 1.0)), 0.0, "==")])
    assert repair_block(lonely) == 1
    nobody = Coupling([["a"], ["b"], ["c"]],
                      [CouplingRow("r", ((0, "a", 1.0), (1, "b", 1.0)), 0.0, "=="),
                       CouplingRow("s", ((2, "c", 1.0),), 0.0, "==")])
    with pytest.raises(ValueError, match="no block appears once in every coupling row"):
        repair_block(nobody)
    case = district_case(1, hours=4)
    provider = EnergyProvider(prepare(case, case.design(), 4), 0.5)
    blocks = provider.node_blocks().blocks
    with pytest.raises(ValueError, match="at least two blocks"):
        NodeProblem(blocks[:1], [], ["hub"])
    with pytest.raises(ValueError, match="3 names for 2 blocks"):
        NodeProblem(blocks, [], ["hub", "home1", "x"])
    sized = EnergyProvider(prepare(case, case.design(), 4), 0.5, sized=frozenset(["pv"]))
    with pytest.raises(ValueError, match="operation only"):
        sized.node_blocks()
    assert np.isfinite(solve_direct(provider, EXACT).objective)


def test_a_solver_tolerance_is_checked_and_reaches_highs():
    from decomp.matrix_highs import MatrixHighs

    with pytest.raises(ValueError, match="tolerance must be in"):
        SolveOptions(tolerance=1e-3)
    case = district_case(1, hours=4)
    provider = EnergyProvider(prepare(case, case.design(), 4), 0.5)
    from decomp.horizon import build_horizon
    from decomp.matrix_form import compile_form

    im = build_horizon(provider)
    form = compile_form(im.model, im.cost)
    tight = MatrixHighs(form, SolveOptions(solver="highs", tolerance=1e-9))
    assert tight._options["dual_feasibility_tolerance"] == 1e-9
    assert "dual_feasibility_tolerance" not in MatrixHighs(form, EXACT)._options


@pytest.mark.parametrize("limit", [1.0, 4.0])
def test_node_blocks_end_within_their_time_limit(limit):
    """Three homes for a week do not converge in seconds: the run stops at its limit (10 %
    and a second past it at most), with a bound below the direct optimum when it has one."""
    case = district_case(3, hours=168)
    provider = EnergyProvider(prepare(case, case.design(), 168), 0.5)
    r = solve_nodes(provider.node_blocks(), DWSettings(gap=1e-4, time_limit=limit))
    assert r.seconds <= 1.1 * limit + 1.0
    assert r.extra["overrun_seconds"] <= 0.1 * limit + 1.0
    if r.bound is not None and r.objective is not None:
        assert r.bound <= r.objective + 1e-6 * abs(r.objective)
