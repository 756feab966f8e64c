"""Bad input gets one clear message naming the file, the field and the value."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from design.network.builtin import resolve_case
from design.network.case import CaseError, load_case
from tests.conftest import tiny_series, tiny_spec, write_case

BATTERY = {"name": "bat", "kind": "battery", "node": "home",
           "cost": {"unit_cost": 100, "lifetime": 10}}


def spec_with(**changes) -> dict:
    spec = copy.deepcopy(tiny_spec([BATTERY], {"bat": 5.0}, heat=True))
    spec["design_space"] = {"bat": {"min": 0, "max": 10}}
    spec.update(changes)
    return spec


def expect_error(tmp_path, spec, series=None, *fragments):
    path = write_case(tmp_path, spec, tiny_series() if series is None else series)
    with pytest.raises(CaseError) as err:
        load_case(path)
    msg = str(err.value)
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_valid_tiny_case_loads(tmp_path):
    case = load_case(write_case(tmp_path, spec_with(), tiny_series()))
    assert case.hours == 4 and case.design() == {"bat": 5.0}


def test_missing_column(tmp_path):
    series = tiny_series().drop(columns=["el"])
    expect_error(tmp_path, spec_with(), series, "case.csv", "'el'", "nodes.0.electricity")


def test_wrong_length(tmp_path):
    series = tiny_series().iloc[:3]
    expect_error(tmp_path, spec_with(), series, "case.csv", "3 rows", "'hours'", "4")


def test_nan_value(tmp_path):
    series = tiny_series()
    series.loc[2, "buy"] = np.nan
    # table row 2 is line 4 of the file (the header is line 1)
    expect_error(tmp_path, spec_with(), series, "case.csv", "'buy'", "line 4")


def test_negative_demand(tmp_path):
    series = tiny_series()
    series.loc[1, "heat"] = -3.0
    expect_error(tmp_path, spec_with(), series, "'heat'", "negative", "-3.0", "line 3")


def test_negative_capacity(tmp_path):
    expect_error(tmp_path, spec_with(default_design={"bat": -5.0}), None,
                 "case.yaml", "default_design.bat", "-5.0")


def test_unknown_component_kind(tmp_path):
    comp = {**BATTERY, "kind": "flux_capacitor"}
    expect_error(tmp_path, spec_with(components=[comp]), None,
                 "case.yaml", "components.0", "flux_capacitor")


def test_unknown_component_in_design_space(tmp_path):
    expect_error(tmp_path, spec_with(design_space={"wind": {"min": 0, "max": 1}}), None,
                 "case.yaml", "design_space", "'wind'")


def test_weight_outside_unit_interval(tmp_path):
    expect_error(tmp_path, spec_with(weight=1.5), None, "case.yaml", "weight", "1.5")


def test_default_design_outside_space(tmp_path):
    expect_error(tmp_path, spec_with(default_design={"bat": 50.0}), None,
                 "default_design.bat = 50.0", "outside")


def test_unknown_node(tmp_path):
    comp = {**BATTERY, "node": "mars"}
    expect_error(tmp_path, spec_with(components=[comp]), None, "unknown node 'mars'")


def test_disconnected_node(tmp_path):
    nodes = [{"name": "home", "electricity": ["el"]}, {"name": "shed", "electricity": ["el"]}]
    expect_error(tmp_path, spec_with(nodes=nodes), None, "shed", "no electricity link path")


def test_bad_efficiency_and_typo_field(tmp_path):
    comp = {**BATTERY, "eta_charge": 1.4}
    expect_error(tmp_path, spec_with(components=[comp]), None, "eta_charge", "1.4")
    comp = {**BATTERY, "capcity": 3}
    expect_error(tmp_path, spec_with(components=[comp]), None, "capcity")


def test_missing_series_file_and_bad_yaml(tmp_path):
    path = write_case(tmp_path, spec_with(), tiny_series())
    (tmp_path / "case.csv").unlink()
    with pytest.raises(CaseError, match="case.csv"):
        load_case(path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(CaseError, match="bad.yaml: not valid YAML"):
        load_case(bad)
    with pytest.raises(CaseError, match="not found"):
        load_case(tmp_path / "nope.yaml")


def test_design_overrides_checked():
    case = resolve_case("small")
    with pytest.raises(CaseError, match="unknown component 'wind'"):
        case.design({"wind": 3.0})
    with pytest.raises(CaseError, match="pv = 7.0 is outside"):
        case.design({"pv": 7.0})
    with pytest.raises(CaseError, match="battery = -1"):
        case.design({"battery": -1})


def test_unknown_builtin_case():
    with pytest.raises(CaseError, match="unknown case 'atlantis'"):
        resolve_case("atlantis")


def test_reference_case_is_real_data():
    case = resolve_case("reference")
    assert case.hours == 8760
    el = sum(case.column(c).sum() for c in case.spec.nodes[0].electricity)
    assert 20_000 < el < 40_000  # ten dwellings, VDI 4655 annual totals from generate.py
    assert "demandlib" in case.spec.weather.source
    raw = yaml.safe_load(case.path.read_text())
    for key in ("demand", "pv", "costs"):
        assert key in raw["sources"]


def test_district_generator_shape():
    case = resolve_case("district-3")
    names = {c.name for c in case.spec.components}
    assert {"fc_home1", "hp_home3", "tank_home2", "pv", "mh_tank"} <= names
    assert len(case.spec.links) == 3
    fc = case.component("fc_home1")
    assert fc.commitment.min_up == 3 and fc.commitment.min_down == 3


@pytest.mark.parametrize(("column", "value", "field"), [
    ("temp_air", 999.0, "weather.temp_air"), ("ghi", 5000.0, "weather.ghi"),
    ("temp_air", -80.0, "weather.temp_air")])
def test_implausible_weather_is_refused(tmp_path, column, value, field):
    series = tiny_series()
    series.loc[3, column] = value
    expect_error(tmp_path, spec_with(), series, "case.csv", f"'{column}'", field,
                 str(value), "implausible", "line 5")


def test_negative_prices_of_a_dynamic_tariff_are_allowed(tmp_path):
    from design.network.operate import OperationSettings, operate

    series = tiny_series()
    series["buy"] = [0.1, -0.05, 0.5, 0.5]  # an hour of surplus wind: paid to consume
    series["sell"] = [0.0, -0.08, 0.02, 0.02]
    case = load_case(write_case(tmp_path, spec_with(), series))
    o = operate(case, case.design(), OperationSettings(method="direct", weight=0.5))
    s, p = o.schedule, o.parts
    # the battery fills in the negative-price hour, and A counts the money moved either way
    assert s["grid.buy"].iloc[1] > s["grid.buy"].iloc[0] - 1e-9
    assert s["bat.level"].iloc[1] > 1e-6
    exchanged = ((series["buy"].abs() * s["grid.buy"]).sum()
                 + (series["sell"].abs() * s["grid.sell"]).sum())
    assert p.autonomy >= 0
    assert p.autonomy == pytest.approx(exchanged + p.fuel_cost, rel=1e-9, abs=1e-9)
    assert p.c_op == pytest.approx(
        (series["buy"] * s["grid.buy"]).sum() - (series["sell"] * s["grid.sell"]).sum()
        + p.fuel_cost + p.start_cost, rel=1e-9, abs=1e-9)


def test_time_zone_checked_when_validated(tmp_path):
    location = {"latitude": 52.4, "longitude": 13.1, "timezone": "CET+1"}
    msg = expect_error(tmp_path, spec_with(location=location), None, "case.yaml",
                       "location.timezone", "'CET+1'", "unknown time zone")
    assert "Etc/GMT-1" in msg and "Traceback" not in msg
    typo = {**location, "timezone": "Europe/Berln"}
    expect_error(tmp_path, spec_with(location=typo), None, "did you mean 'Europe/Berlin'")
    start = {**location, "timezone": "UTC", "start": "15 Aprl"}
    expect_error(tmp_path, spec_with(location=start), None, "location.start", "'15 Aprl'")


def test_unknown_field_and_column_get_close_names(tmp_path):
    spec = spec_with(interest=0.03)
    msg = expect_error(tmp_path, spec, None, "field 'interest' is not a known field",
                       "did you mean 'interest_rate'?")
    assert "= dict" not in msg and "field ''" not in msg
    series = tiny_series().rename(columns={"sell": "sel"})
    msg = expect_error(tmp_path, spec_with(), series, "column 'sell'", "did you mean 'sel'")
    assert "the 7 columns are" in msg and "'buy'" in msg  # every column, none cut
    many = tiny_series().assign(**{f"extra_{i}": 0.0 for i in range(20)})
    many = many.rename(columns={"sell": "price_sel"})
    msg = expect_error(tmp_path, spec_with(), many, "the 27 columns are", "'extra_19'",
                       "'price_sel'")


def test_bad_cell_quoted_as_the_file_has_it(tmp_path):
    path = write_case(tmp_path, spec_with(), tiny_series())
    csv = tmp_path / "case.csv"
    lines = csv.read_text().splitlines()
    head = lines[0].split(",")
    row = lines[3].split(",")
    row[head.index("buy")] = "n/a"
    lines[3] = ",".join(row)
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(CaseError) as err:
        load_case(path)
    assert "'n/a' at line 4" in str(err.value) and "np.float64" not in str(err.value)
    row[head.index("buy")] = ""
    lines[3] = ",".join(row)
    csv.write_text("\n".join(lines) + "\n")
    with pytest.raises(CaseError, match="an empty cell at line 4"):
        load_case(path)


def test_duplicated_header_and_empty_files_refused(tmp_path):
    path = write_case(tmp_path, spec_with(), tiny_series())
    csv = tmp_path / "case.csv"
    text = csv.read_text().splitlines()
    csv.write_text("\n".join([text[0].replace("sell", "buy")] + text[1:]) + "\n")
    with pytest.raises(CaseError, match=r"names column\(s\) \['buy'\] more than once"):
        load_case(path)
    csv.write_text("")
    with pytest.raises(CaseError, match="case.csv: the file is empty"):
        load_case(path)
    path.write_text("")
    with pytest.raises(CaseError, match="case.yaml: the file is empty") as err:
        load_case(path)
    assert "NoneType" not in str(err.value)


def test_case_info_shows_tariff_and_demand_per_node(capsys):
    from design.cli.commands import main

    assert main(["case", "info", "small"]) == 0
    out = capsys.readouterr().out
    assert "purchase price (column 'price_buy'): min 0.2400" in out
    assert "sale price" in out and "EUR/kWh" in out
    assert "node house: electricity" in out and "over the 96 h" in out
