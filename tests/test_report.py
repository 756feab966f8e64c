"""Results folder a designer reads: units in tables, cost breakdown and energy figures
that add up, capacities along the front, one self-contained HTML report."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest

from design.cli.commands import main
from design.network.basis import Basis
from design.network.operate import OperationSettings, operate
from design.report.results_folder import write_results
from design.report.tables import read_table
from design.search.evaluate import Candidate, evaluate

OP = OperationSettings(method="direct", horizon=24)
DESIGNS = [({"pv": 0, "battery": 0, "electrolyser": 0, "mh_tank": 0, "fuel_cell": 0,
             "heat_pump_house": 0, "heat_pump_flats": 0, "tank_flats": 0}, 1.0),
           ({"pv": 60, "battery": 20, "electrolyser": 0, "mh_tank": 0, "fuel_cell": 0,
             "heat_pump_house": 5, "heat_pump_flats": 8, "tank_flats": 1}, 0.5),
           ({"pv": 100, "battery": 40, "electrolyser": 1, "mh_tank": 20, "fuel_cell": 1,
             "heat_pump_house": 5, "heat_pump_flats": 8, "tank_flats": 1}, 0.0)]


@dataclass
class _State:
    """What write_results reads of a search state, from plain evaluations."""

    evals: list
    history: list = field(default_factory=list)
    ref_point: np.ndarray | None = None
    seeds: list = field(default_factory=list)

    def front(self):
        ok = [e for e in self.evals if e.ok]
        keep = [e for e in ok if not any(
            o.annual_total_cost <= e.annual_total_cost and o.autonomy <= e.autonomy
            and (o.annual_total_cost, o.autonomy) != (e.annual_total_cost, e.autonomy)
            for o in ok)]
        return sorted(keep, key=lambda e: e.annual_total_cost)

    @property
    def records(self):
        return [e.row() for e in self.evals]


@pytest.fixture(scope="module")
def folder(small_case, tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    evals = [evaluate(small_case, Candidate(d, w), OP) for d, w in DESIGNS]
    kinds = {c.name: c.kind for c in small_case.spec.components}
    # a generous limit on the marginal cost of autonomy: the hydrogen design is a pick
    write_results(out, _State(evals), {"case": "small", "component_kinds": kinds,
                                       "basis": Basis.of(small_case, 24).as_dict(),
                                       "autonomy_cost_limit": 100.0})
    return out, evals


def test_capacity_columns_carry_units_and_read_back(folder):
    out, _ = folder
    header = pd.read_csv(out / "pareto.csv").columns
    assert {"pv [m2]", "battery [kWh]", "electrolyser [Nm3/h]", "mh_tank [Nm3]",
            "fuel_cell [kW]", "heat_pump_house [kW]", "tank_flats [m3]"} <= set(header)
    assert "pv [m2]" in pd.read_csv(out / "picks.csv").columns
    assert "pv" in read_table(out / "pareto.csv").columns
    assert "[m2]" in (out / "summary.md").read_text()


def test_cost_breakdown_adds_up_to_the_annual_total_cost(folder, small_case):
    _, evals = folder
    for e in evals:
        assert e.ok
        assert sum(e.costs.values()) == pytest.approx(e.annual_total_cost, rel=1e-9)
        installed = {n for n, v in e.design.items() if v > 0}
        assert {k.removeprefix("capex.") for k in e.costs if k.startswith("capex.")} \
            == installed
        assert e.costs["sales"] <= 0 <= e.costs["purchases"]


def test_energy_figures_agree_with_the_schedule(folder, small_case):
    _, evals = folder
    e = evals[1]
    out = operate(small_case, e.design, OperationSettings(method="direct", horizon=24,
                                                          weight=e.weight))
    s, scale = out.schedule, 8760.0 / 24
    assert e.energy["grid_import_kwh"] == pytest.approx(s["grid.buy"].sum() * scale)
    assert e.energy["grid_export_kwh"] == pytest.approx(s["grid.sell"].sum() * scale)
    assert e.energy["pv_generation_kwh"] == pytest.approx(s["pv.power"].sum() * scale)
    used = s["grid.buy"].sum() + s["pv.power"].sum() - s["grid.sell"].sum()  # no fuel cell
    assert used >= (s["house.electricity_demand"] + s["flats.electricity_demand"]).sum()
    assert e.energy["self_sufficiency"] == pytest.approx(1 - s["grid.buy"].sum() / used)
    assert 0 < e.energy["self_sufficiency"] < 1
    assert 0 <= e.energy["pv_self_consumption"] <= 1
    # curtailment: what the panels could give, what was taken, the rest and its value
    available = s["pv.available"].sum()
    curtailed = (s["pv.available"] - s["pv.power"]).clip(lower=0)
    assert e.energy["pv_available_kwh"] == pytest.approx(available * scale)
    assert e.energy["pv_curtailed_kwh"] == pytest.approx(curtailed.sum() * scale, abs=1e-6)
    assert e.energy["pv_generation_kwh"] + e.energy["pv_curtailed_kwh"] == pytest.approx(
        e.energy["pv_available_kwh"])
    assert e.energy["pv_curtailed_value"] == pytest.approx(
        (curtailed * s["price_sell"]).sum() * scale, abs=1e-6)
    # self-consumption is against the available PV: never above the share taken
    assert e.energy["pv_self_consumption"] <= 1 - e.energy["pv_curtailment"] + 1e-9
    nothing = evals[0].energy
    assert nothing["pv_self_consumption"] is None and nothing["pv_generation_kwh"] == 0
    assert nothing["self_sufficiency"] == pytest.approx(0.0, abs=1e-9)


def test_figures_summary_and_self_contained_html(folder):
    out, _ = folder
    for name in ("pareto.png", "capacities.png", "energy.png", "costs.png"):
        assert (out / name).stat().st_size > 1000, name
    summary = (out / "summary.md").read_text()
    assert "## Cost breakdown of the picks" in summary and "self sufficiency" in summary
    # capex rows in the case's component order, then the operation items
    rows = [summary.index(f"| {item} [EUR/a]") for item in (
        "capex.pv", "capex.battery", "capex.electrolyser", "capex.heat_pump_house",
        "capex.tank_flats", "purchases", "sales", "backup_fuel")]
    assert rows == sorted(rows)
    page = (out / "report.html").read_text()
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(re.findall(r'src="data:image/png;base64,', page)) == len(pngs)
    for name in pngs:
        assert f'alt="{name}"' in page
    # nothing outside the file: no linked images, scripts or style sheets
    assert not re.search(r'(src|href)="(?!data:)', page)
    for heading in ("Picks", "Cost breakdown of the picks", "Energy of the picks",
                    "Pareto front"):
        assert f"<h2>{heading}" in page
    assert page.count("<table") >= 4
    # what was solved and how it was scaled is stated, the picks say why they were chosen
    text = html.unescape(page)
    assert "the first 24 h of the case's 96 h" in text and "x365" in text
    assert "lowest annual total cost" in text and "100 EUR/a per EUR/a" in text
    # the front table is for reading: units, separators, no solve records
    front_html = page[page.index("<h2>Pareto front"):]
    for internal in ("peak_rss_mb", "models_kept", "build_seconds", "attempts", ">ok<",
                     "e+0"):
        assert internal not in front_html, internal
    assert "annual total cost [EUR/a]" in front_html and "certified gap [%]" in front_html
    assert re.search(r"<td>\d{1,3},\d{3}</td>", front_html)  # thousands separators


def test_storage_figures_carry_the_usable_range(folder, small_case):
    out, _ = folder
    picks = read_table(out / "picks.csv").set_index("pick")
    drawn = 0
    for path in out.glob("levels-*.json"):
        name = path.stem.removeprefix("levels-")
        saved = json.loads(path.read_text())
        limits = saved["limits"]
        assert saved["W"] == pytest.approx(picks.loc[name, "W"])  # the pick's own levels
        battery = small_case.component("battery")
        size = picks.loc[name, "battery"]
        if size > 0:
            assert limits["battery.level"] == pytest.approx(
                [battery.soc_min * size, battery.soc_max * size])
            drawn += 1
        levels = pd.read_parquet(out / f"levels-{name}.parquet")
        for col, (lo, hi) in limits.items():
            assert levels[col].min() >= lo - 1e-3 and levels[col].max() <= hi + 1e-3
        assert (out / f"storage-{name}.png").exists()
    assert drawn >= 1


def test_report_command_redraws_everything(folder):
    out, _ = folder
    for name in ("report.html", "capacities.png", "summary.md"):
        (out / name).unlink()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").exists() and (out / "capacities.png").exists()
