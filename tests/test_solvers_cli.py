"""Solver choice (HiGHS / Gurobi within its licence) and the ``lcen`` command line."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from pyomo.contrib.solver.common.base import Availability

from decomp.horizon import build_horizon
from decomp.solvers import SolveOptions, SolverError, choose_solver, gurobi_availability
from design.cli.commands import main
from design.network.model import EnergyProvider
from design.network.operate import OperationSettings, operate
from design.network.operation_data import prepare

GUROBI = gurobi_availability() in (Availability.FullLicense, Availability.LimitedLicense)


@pytest.mark.skipif(not GUROBI, reason="gurobipy not importable or no licence")
def test_gurobi_solves_tiny_model_like_highs(tiny_battery_case):
    case = tiny_battery_case
    g = operate(case, case.design(), OperationSettings(weight=1.0, solve=SolveOptions("gurobi")))
    h = operate(case, case.design(), OperationSettings(weight=1.0, solve=SolveOptions("highs")))
    assert g.result.solver == "gurobi" and h.result.solver == "highs"
    assert g.result.objective == pytest.approx(h.result.objective, rel=1e-6)


@pytest.mark.skipif(gurobi_availability() != Availability.LimitedLicense,
                    reason="needs the size-limited pip licence")
def test_limited_licence_refuses_big_model_clearly(small_case):
    model = build_horizon(EnergyProvider(prepare(small_case, small_case.design(), 96), 0.5))
    with pytest.raises(SolverError, match="size-limited.*GRB_LICENSE_FILE"):
        choose_solver("gurobi", model.model)
    assert choose_solver("auto", model.model) == "highs"


def test_auto_picks_highs_for_large_models_and_highs_when_asked(small_case):
    model = build_horizon(EnergyProvider(prepare(small_case, small_case.design(), 96), 0.5))
    assert choose_solver("highs", model.model) == "highs"
    if gurobi_availability() != Availability.FullLicense:
        assert choose_solver("auto", model.model) == "highs"


def test_bad_solve_options_rejected():
    with pytest.raises(ValueError, match="solver"):
        SolveOptions(solver="cplex")
    with pytest.raises(ValueError, match="time_limit"):
        SolveOptions(time_limit=-1)
    with pytest.raises(ValueError, match="method"):
        OperationSettings(method="magic")


def test_cli_operate_writes_summary_and_schedule(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["operate", "small", "--horizon", "12", "--weight", "0.3", "--solver", "highs",
               "--design", "pv=40", "battery=10", "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("method", "status", "objective", "bound", "gap", "seconds", "peak_rss_mb",
                "per_horizon", "annual", "basis", "capex", "annual_total_cost"):
        assert key in summary, key
    assert summary["design"]["pv"] == 40 and summary["weight"] == 0.3
    assert summary["basis"]["hours"] == 12 and summary["basis"]["scale_to_year"] == 730
    assert summary["annual_total_cost"] == pytest.approx(
        summary["capex"] + summary["per_horizon"]["c_op"] * 8760 / 12)
    assert summary["annual"]["c_op"] == pytest.approx(summary["per_horizon"]["c_op"] * 730)
    lines = (out / "schedule.csv").read_text().splitlines()
    assert len(lines) == 13 and "grid.buy" in lines[0]
    assert "annual total cost" in capsys.readouterr().out


def test_cli_lp_method(tmp_path):
    assert main(["operate", "small", "--method", "lp", "--horizon", "8",
                 "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "summary.json").read_text())["method"] == "lp"


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["operate", "small", "--weight", "1.5", "--out", str(tmp_path)]) == 1
    assert "weight W must be in [0, 1]" in capsys.readouterr().err
    assert main(["operate", "small", "--design", "pv", "--out", str(tmp_path)]) == 1
    assert "COMPONENT=SIZE" in capsys.readouterr().err
    assert main(["case", "validate", str(tmp_path / "missing.yaml")]) == 1
    assert "case file not found" in capsys.readouterr().err


def test_cli_case_info_and_validate(capsys):
    assert main(["case", "info", "reference"]) == 0
    out = capsys.readouterr().out
    assert "8760" in out and "heat_pump" in out and "m2" in out
    assert main(["case", "validate", "small"]) == 0
    assert "valid" in capsys.readouterr().out


def test_cli_dw_writes_log_and_bounds(tmp_path):
    rc = main(["operate", "small", "--method", "dw", "--horizon", "12", "--interval", "4",
               "--gap", "0.001", "--engine", "boundary_window=1", "max_iterations=3",
               "heuristics=pass,windows", "--out", str(tmp_path)])
    assert rc == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["heuristics"] == ["pass", "windows"]
    for key in ("lower_bound", "upper_bound", "gap", "iterations", "columns", "seconds",
                "peak_rss_mb", "stop_reason"):
        assert key in summary, key
    assert summary["lower_bound"] <= summary["upper_bound"] + 1e-9
    log = (tmp_path / "log.csv").read_text().splitlines()
    assert log[0].startswith("iteration,lower_bound") and len(log) >= 2


def test_cli_engine_pairs_are_checked(capsys):
    for pairs, says in ((["lp_aggregate=2,4"], "must decrease"),
                        (["heuristics=pass,magic"], "heuristics must be among"),
                        (["relax_fix=True"], "KEY one of"), (["gap"], "KEY=VALUE"),
                        (["max_iterations=0"], "max_iterations must be >= 1")):
        assert main(["operate", "small", "--method", "dw", "--horizon", "12",
                     "--engine", *pairs]) == 1
        assert says in capsys.readouterr().err, pairs


def test_cli_dw_first_prices_from_the_master(tmp_path, capsys):
    rc = main(["operate", "small", "--method", "dw", "--horizon", "24", "--interval", "6",
               "--gap", "0.001", "--engine", "first_prices=master", "--verbose",
               "--out", str(tmp_path)])
    assert rc == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert "electrolyser__on" in summary["window_lead"]  # the hydrogen units lead
    assert summary["lp_bound"] <= summary["lower_bound"] + 1e-9
    assert summary["lower_bound"] <= summary["upper_bound"] + 1e-9
    assert "LP relaxation by column generation" in capsys.readouterr().out
    log = pd.read_csv(tmp_path / "log.csv")
    lp_rows = log[log["phase"] == "lp"]
    assert len(lp_rows) >= 1 and list(log.columns[:2]) == ["iteration", "lower_bound"]
    assert (lp_rows["columns_pruned"] >= 0).all()  # the master's aging is logged
    # the LP phase's bound never decreases and stays below every plan's cost
    assert lp_rows["lower_bound"].is_monotonic_increasing
    assert lp_rows["lower_bound"].max() <= summary["upper_bound"] + 1e-9


def _master_path_run(tmp_path, *pairs: str) -> dict:
    """``lcen operate small`` by dw from the master path's prices with engine ``pairs``
    (48 h of 6 h intervals); its summary."""
    rc = main(["operate", "small", "--method", "dw", "--horizon", "48", "--interval", "6",
               "--gap", "0.001", "--engine", "first_prices=master", *pairs, "--verbose",
               "--out", str(tmp_path)])
    assert rc == 0
    return json.loads((tmp_path / "summary.json").read_text())


def test_cli_dw_lp_phase_over_spans_of_boundaries(tmp_path, capsys):
    summary = _master_path_run(tmp_path, "lp_aggregate=4,2")
    assert summary["lp_aggregate"] == [4, 2]
    assert summary["lp_bound"] <= summary["lower_bound"] + 1e-9 <= summary["upper_bound"] + 2e-9
    out = capsys.readouterr().out
    assert "prices constant over 4 boundaries" in out
    assert "prices constant over 2 boundaries" in out
    log = pd.read_csv(tmp_path / "log.csv").dropna(subset=["span"])
    assert log["phase"].iloc[0] == "lp-aggregated" and "lp" in set(log["phase"])
    assert list(dict.fromkeys(log["span"].astype(int))) == [4, 2, 1]
    default = _master_path_run(tmp_path / "default")
    assert default["lp_aggregate"] == [30, 7]  # the default spans
