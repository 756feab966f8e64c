"""A network case the project has never seen: other weather, demand and home count."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from decomp.dw import DWSettings
from design.network.case import load_case
from design.network.operate import OperationSettings, operate
from tests.conftest import check_balances

GENERATOR = Path(__file__).resolve().parents[1] / "cases" / "networks" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("network_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_generated_network_case_solves_by_dw_with_balanced_schedules(tmp_path):
    path = _generator().write_case(3, 11, 0.8, tmp_path / "mountain-3")
    case = load_case(path)
    assert case.spec.location.altitude == 1213 and "region 11" in case.spec.weather.source
    assert [n.name for n in case.spec.nodes] == ["hub", "home1", "home2", "home3"]
    design = case.design()
    out = operate(case, design, OperationSettings(
        method="dw", horizon=48, dw=DWSettings(interval=12, gap=0.02, time_limit=60.0)))
    assert out.result.plan is not None and out.result.bound <= out.result.objective + 1e-6
    check_balances(out.schedule, case, design)
