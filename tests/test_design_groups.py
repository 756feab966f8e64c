"""Design groups: components sized by one factor, a search that does not grow with N."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decomp.solvers import SolveOptions
from design.network.builtin import district_case
from design.network.case import CaseError, parse_spec
from design.search.design_milp import reduced_sweep
from design.search.space import DesignSpace
from design.search.typical import typical_periods


def _spec(groups: dict) -> dict:
    data = district_case(2, 48).spec.model_dump(mode="json")
    data["design_groups"] = groups
    return data


@pytest.mark.parametrize("groups, says", [
    ({"g": {"components": ["hp_home9"], "max": 1}}, "unknown component 'hp_home9'"),
    ({"pv": {"components": ["hp_home1"], "max": 1}}, "the name of a component"),
    ({"g": {"components": ["hp_home1"], "max": 1},
      "h": {"components": ["hp_home1"], "max": 1}}, "is in 'g' already"),
    ({"g": {"components": ["hp_home1"], "scale": "peak_cold", "max": 1}}, "scale"),
    ({"g": {"components": ["hp_home1"], "min": 2, "max": 1}}, "min (2.0) exceeds max"),
    ({"g": {"components": [], "max": 1}}, "components must not be empty"),
])
def test_bad_design_groups_are_refused_with_the_field(groups, says):
    with pytest.raises(CaseError) as err:
        parse_spec(_spec(groups), Path("net.yaml"))
    assert says in str(err.value) and "net.yaml" in str(err.value)


def test_a_member_needs_a_range_of_its_own():
    data = _spec({"g": {"components": ["hp_home1"], "max": 1}})
    del data["design_space"]["hp_home1"]
    with pytest.raises(CaseError, match="has no design_space entry"):
        parse_spec(data, Path("net.yaml"))
    data = _spec({"g": {"components": ["hp_home1"], "max": 1}})
    data["design_space"]["hp_home1"] = {"values": [0, 2, 4]}
    with pytest.raises(CaseError, match="candidate grid"):
        parse_spec(data, Path("net.yaml"))


def test_the_search_of_a_district_does_not_grow_with_its_homes():
    small, large = (DesignSpace.from_case(district_case(n, 48)) for n in (2, 20))
    assert small.search_names == large.search_names == (
        "pv", "battery", "electrolyser", "mh_tank", "fuel_cells", "heat_pumps", "tanks")
    assert len(small.pymoo_vars()) == len(large.pymoo_vars()) == 15
    assert len(large.names) == 4 + 3 * 20  # per-component sizes stay possible


@settings(max_examples=25, deadline=None)
@given(fc=st.floats(0.0, 1.0), hp=st.floats(0.0, 1.2), tank=st.floats(0.0, 0.05),
       on=st.booleans(), w=st.floats(0.0, 1.0))
def test_a_group_factor_sizes_every_member_in_proportion(fc, hp, tank, on, w):
    case = district_case(3, 48)
    space = DesignSpace.from_case(case)
    x = {"W": w}
    for name, var in space.pymoo_vars().items():
        if name.endswith(".on"):
            x[name] = on
        elif name != "W":
            lo, hi = var.bounds
            x[name] = min(max({"fuel_cells": fc, "heat_pumps": hp, "tanks": tank}.get(
                name, lo), lo), hi)
    design, _ = space.decode(x)
    for group, scales in space.groups.items():
        factor = space.size_of(group, x)
        for member, scale in scales.items():
            lo, hi = space.ranges[member]
            assert lo <= design[member] <= hi + 1e-9
            if factor == 0.0:
                assert design[member] == 0.0
            elif factor * scale >= space.smallest_installed(member):
                assert design[member] == pytest.approx(factor * scale, abs=1e-4)
        # a decoded design encodes back to its factor
        again = space.decode(space.encode(design, w))[0]
        assert again == pytest.approx(design, abs=2e-4)


def test_the_seeding_design_milp_sizes_groups_as_the_search_does():
    case = district_case(2, 72)
    space = DesignSpace.from_case(case)
    periods = typical_periods(case, 2, 24)
    results = reduced_sweep(case, periods, (0.3,), SolveOptions(solver="highs", gap=0.01,
                                                                time_limit=60))
    assert results and results[0].design is not None
    design = results[0].design  # (sizes rounded to 4 decimals)
    for group, scales in space.groups.items():
        ratios = {m: design[m] / scale for m, scale in scales.items() if scale > 0}
        first = next(iter(ratios.values()))
        assert all(r == pytest.approx(first, rel=1e-4, abs=1e-4) for r in ratios.values()), \
            (group, ratios)
        assert first <= space.group_ranges[group][1] + 1e-6
