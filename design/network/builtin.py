"""Built-in cases by name (``reference``, ``small``, ``district-N``) or a user's YAML path."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from cases import BUILTIN
from design.network.case import Case, CaseError, load_case, parse_spec

_DWELLINGS = ["efh1", "efh2", "efh3", "efh4", "efh5", "efh6", "mfh1"]


def builtin_names() -> list[str]:
    """Names accepted by :func:`resolve_case` besides file paths."""
    return sorted(BUILTIN) + ["district-N"]


def resolve_case(name_or_path: str) -> Case:
    """Load a built-in case by name or a case file by path."""
    if name_or_path in BUILTIN:
        return load_case(BUILTIN[name_or_path])
    match = re.fullmatch(r"district-(\d+)", name_or_path)
    if match:
        return district_case(int(match.group(1)))
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return load_case(path)
    raise CaseError(
        f"unknown case {name_or_path!r}: give a YAML path or one of {', '.join(builtin_names())}"
    )


def district_case(n: int, hours: int = 8760) -> Case:
    """A district of ``n`` dwellings for scaling studies.

    Each dwelling node has its own fuel cell and heat pump (start-up costs, 3-hour minimum
    up and down times) and hot-water tank; PV, battery, electrolyser and metal-hydride tank
    sit at a hub node with the grid connection, linked to every dwelling. Dwelling demands
    cycle through the reference case's VDI 4655 profiles.
    """
    if not 1 <= n <= 200:
        raise CaseError(f"district-N: N = {n} must be between 1 and 200")
    ref = load_case(BUILTIN["reference"])
    series = ref.series.iloc[:hours].reset_index(drop=True)
    spec_data = district_spec(n, series, ref.spec.model_dump(mode="json"))
    spec = parse_spec(spec_data, Path(f"district-{n}"))
    series = pd.concat([series, pd.DataFrame({"zero": [0.0] * len(series)})], axis=1)
    return Case(spec, series, None)


def district_spec(n: int, series: pd.DataFrame, base: dict,
                  dwellings: list[str] | None = None) -> dict:
    """The case fields of a district of ``n`` dwellings (see :func:`district_case`): a
    hub with the grid, PV, battery and hydrogen; per dwelling a fuel cell, heat pump and
    tank, sized from its demand in ``series`` (columns ``el_D``, ``sh_D``, ``dhw_D`` for
    the ``dwellings`` D, cycled), searched as three groups (every home's fuel cell alike,
    heat pump as a factor of its peak heat demand, tank of its mean daily heat demand);
    location, weather, tariff, backup, interest and sources from ``base`` (a case's
    fields)."""
    dwellings = dwellings or _DWELLINGS
    nodes = [{"name": "hub", "electricity": ["zero"], "heat": []}]
    links, comps, space, default = [], [], {}, {}
    unit = {"min_part_load": 0.3, "start_cost": 0.2, "min_up": 3, "min_down": 3}
    for i in range(n):
        d = dwellings[i % len(dwellings)]
        node = f"home{i + 1}"
        nodes.append({"name": node, "electricity": [f"el_{d}"], "heat": [f"sh_{d}", f"dhw_{d}"]})
        links.append({"a": "hub", "b": node, "capacity": 40.0, "loss": 0.02})
        peak = float((series[f"sh_{d}"] + series[f"dhw_{d}"]).max())
        hp_max = round(max(4.0, 1.2 * peak), 1)
        comps += [
            {"name": f"fc_{node}", "kind": "fuel_cell", "node": node, "commitment": unit,
             "cost": {"unit_cost": 3000, "lifetime": 10, "om_fraction": 0.02}},
            {"name": f"hp_{node}", "kind": "heat_pump", "node": node,
             "commitment": {**unit, "start_cost": 0.05},
             "cost": {"unit_cost": 800, "lifetime": 18, "om_fraction": 0.015}},
            {"name": f"tank_{node}", "kind": "hot_water_tank", "node": node,
             "cost": {"unit_cost": 1500, "lifetime": 20, "om_fraction": 0.005}},
        ]
        space |= {f"fc_{node}": {"min": 0, "max": 1.0}, f"hp_{node}": {"min": 0, "max": hp_max},
                  f"tank_{node}": {"min": 0, "max": 1.0}}
        default |= {f"fc_{node}": 0.7, f"hp_{node}": round(0.6 * hp_max, 1),
                    f"tank_{node}": 0.5}
    comps += [
        {"name": "pv", "kind": "pv", "node": "hub",
         "cost": {"unit_cost": 220, "lifetime": 25, "om_fraction": 0.01}},
        {"name": "battery", "kind": "battery", "node": "hub",
         "cost": {"unit_cost": 600, "lifetime": 15, "om_fraction": 0.01}},
        {"name": "electrolyser", "kind": "electrolyser", "node": "hub",
         "commitment": {"min_part_load": 0.2, "start_cost": 0.5, "min_up": 2, "min_down": 1},
         "cost": {"unit_cost": 10000, "lifetime": 15, "om_fraction": 0.02}},
        {"name": "mh_tank", "kind": "mh_tank", "node": "hub",
         "cost": {"unit_cost": 150, "lifetime": 20, "om_fraction": 0.01}},
    ]
    homes = [f"home{i + 1}" for i in range(n)]
    groups = {
        "fuel_cells": {"components": [f"fc_{h}" for h in homes], "scale": "one",
                       "min": 0, "max": 1.0},
        "heat_pumps": {"components": [f"hp_{h}" for h in homes], "scale": "peak_heat",
                       "min": 0, "max": 1.2},
        "tanks": {"components": [f"tank_{h}" for h in homes], "scale": "mean_daily_heat",
                  "min": 0, "max": 0.05},
    }
    space |= {"pv": {"min": 0, "max": 40.0 * n}, "battery": {"min": 0, "max": 30.0 * n},
              "electrolyser": {"min": 0, "max": 0.5 * n}, "mh_tank": {"min": 0, "max": 30.0 * n}}
    default |= {"pv": 20.0 * n, "battery": 10.0 * n, "electrolyser": 0.2 * n,
                "mh_tank": 15.0 * n}
    return {
        "name": f"district-{n}",
        "description": f"{n} dwellings with own fuel cell, heat pump and tank; shared PV, "
        "battery and hydrogen at a hub (generated from the reference series)",
        "series": "(generated)",
        "location": base["location"],
        "weather": base["weather"],
        "tariff": {**base["tariff"], "node": "hub",
                   "import_limit": 30.0 * n + 50, "export_limit": 30.0 * n + 50},
        "backup": base["backup"],
        "interest_rate": base["interest_rate"],
        "nodes": nodes,
        "links": links,
        "components": comps,
        "design_space": space,
        "design_groups": groups,
        "default_design": default,
        "sources": dict(base["sources"]),
    }
