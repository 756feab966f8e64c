"""Shared fixtures: built-in small case, a hand-made tiny case, schedule balance checks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import settings as hypothesis_settings

from design.network.builtin import resolve_case
from design.network.case import Case, load_case

# derandomised: every clone draws the same examples, so a green suite is green anywhere;
# HYPOTHESIS_PROFILE=explore draws new ones (to look for failures, not in CI)
hypothesis_settings.register_profile("lcen", derandomize=True, database=None, deadline=None,
                                     print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "lcen"))

TOL = 1e-6


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster (2 CPUs) shared by every test that needs one."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def small_case() -> Case:
    return resolve_case("small")


def write_case(tmp_path: Path, spec: dict, series: pd.DataFrame, name: str = "case") -> Path:
    """Write a YAML case and its CSV series into tmp_path; returns the YAML path."""
    series.to_csv(tmp_path / f"{name}.csv", index=False)
    spec = {**spec, "series": f"{name}.csv"}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def tiny_spec(components: list[dict], design: dict, heat: bool = False) -> dict:
    """One node, grid and optional heat demand; 4 hours."""
    return {
        "name": "tiny",
        "hours": 4,
        "location": {"latitude": 52.4, "longitude": 13.1, "timezone": "Etc/GMT-1"},
        "tariff": {"purchase": "buy", "sale": "sell", "node": "home"},
        "backup": {"fuel_price": 0.09, "efficiency": 0.9},
        "nodes": [{"name": "home", "electricity": ["el"], "heat": ["heat"] if heat else []}],
        "components": components,
        "design_space": {},
        "default_design": design,
    }


def tiny_series() -> pd.DataFrame:
    return pd.DataFrame({
        "ghi": [0.0] * 4, "dhi": [0.0] * 4, "temp_air": [10.0] * 4,
        "el": [1.0] * 4, "heat": [1.0] * 4,
        "buy": [0.1, 0.1, 0.5, 0.5], "sell": [0.0] * 4,
    })


@pytest.fixture
def tiny_battery_case(tmp_path: Path) -> Case:
    battery = {"name": "bat", "kind": "battery", "node": "home", "eta_charge": 0.9,
               "eta_discharge": 0.9, "self_discharge": 0.0, "soc_min": 0.0, "soc_max": 1.0,
               "c_rate": 1.0, "cost": {"unit_cost": 100, "lifetime": 10}}
    path = write_case(tmp_path, tiny_spec([battery], {"bat": 10.0}, heat=True), tiny_series())
    return load_case(path)


def check_balances(schedule: pd.DataFrame, case: Case, design: dict[str, float]) -> None:
    """Assert every bus and storage balance from the schedule alone (not the model)."""
    spec = case.spec
    s = schedule
    el = {n.name: np.zeros(len(s)) for n in spec.nodes}
    heat = {n.name: np.zeros(len(s)) for n in spec.nodes}
    h2 = np.zeros(len(s))
    el[spec.tariff.node] += s["grid.buy"] - s["grid.sell"]
    for c in spec.components:
        if design.get(c.name, 0) <= 0:
            continue
        n, cap = c.node, design[c.name]
        if c.kind == "pv":
            el[n] += s[f"{c.name}.power"]
            assert (s[f"{c.name}.power"] <= s[f"{c.name}.available"] + TOL).all()
        elif c.kind == "battery":
            el[n] += s[f"{c.name}.discharge"] - s[f"{c.name}.charge"]
            lvl = s[f"{c.name}.level"].to_numpy()
            prev = np.r_[np.nan, lvl[:-1]]
            expect = ((1 - c.self_discharge) * prev + c.eta_charge * s[f"{c.name}.charge"]
                      - s[f"{c.name}.discharge"] / c.eta_discharge)
            np.testing.assert_allclose(lvl[1:], expect[1:], atol=TOL)
            assert lvl.min() >= c.soc_min * cap - TOL and lvl.max() <= c.soc_max * cap + TOL
        elif c.kind == "electrolyser":
            el[n] -= s[f"{c.name}.h2"] * c.kwh_per_nm3
            h2 += s[f"{c.name}.h2"]
        elif c.kind == "mh_tank":
            h2 += s[f"{c.name}.release"] - s[f"{c.name}.absorb"]
            lvl = s[f"{c.name}.level"].to_numpy()
            expect = (1 - c.loss) * lvl[:-1] + (s[f"{c.name}.absorb"] - s[f"{c.name}.release"])[1:]
            np.testing.assert_allclose(lvl[1:], expect, atol=TOL)
            assert lvl.min() >= c.level_min * cap - TOL and lvl.max() <= cap + TOL
        elif c.kind == "fuel_cell":
            p = s[f"{c.name}.power"]
            el[n] += p
            h2 -= p / (c.eta_el * 3.0)
            heat[n] += p * c.eta_th / c.eta_el
        elif c.kind == "heat_pump":
            q = s[f"{c.name}.heat"]
            heat[n] += q
            el[n] -= q / s[f"{c.name}.cop"]
        elif c.kind == "hot_water_tank":
            heat[n] += s[f"{c.name}.discharge"] - s[f"{c.name}.charge"]
            lvl = s[f"{c.name}.level"].to_numpy()
            net = (s[f"{c.name}.charge"] - s[f"{c.name}.discharge"]).to_numpy()
            expect = (1 - c.loss) * lvl[:-1] + net[1:]
            np.testing.assert_allclose(lvl[1:], expect, atol=TOL)
            assert lvl.max() <= cap * c.kwh_per_m3 + TOL
    for i, link in enumerate(spec.links):
        ab, ba = s[f"link_{i}.{link.a}->{link.b}"], s[f"link_{i}.{link.b}->{link.a}"]
        bus = el if link.carrier == "electricity" else heat
        bus[link.a] += (1 - link.loss) * ba - ab
        bus[link.b] += (1 - link.loss) * ab - ba
    for n in spec.nodes:
        if f"{n.name}.backup" in s:
            heat[n.name] += s[f"{n.name}.backup"]
        if f"{n.name}.dump" in s:
            heat[n.name] -= s[f"{n.name}.dump"]
        np.testing.assert_allclose(el[n.name], s[f"{n.name}.electricity_demand"], atol=TOL)
        np.testing.assert_allclose(heat[n.name], s[f"{n.name}.heat_demand"], atol=TOL)
    np.testing.assert_allclose(h2, 0.0, atol=TOL)
    assert (s.drop(columns=[c for c in s if c.endswith(".cop")]) >= -TOL).all().all()


def interval_parts(provider, settings):
    """(cuts, conditions, linking, solvers) of the engine's interval blocks."""
    from decomp.dw import blocks

    b = blocks(provider, settings)
    return b.cuts, b.conditions, b.linking, b.solvers
