"""Batch studies: study files validated like case files, variations applied to cases,
every run on one shared Ray queue with its own results folder, a study report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import design.study.runner as runner_module
from design.cli.commands import main
from design.network.case import CaseError
from design.network.changes import Variation, apply_changes
from design.search.executors import SerialExecutor
from design.search.nsga import run_search
from design.search.pool import SharedRayPool
from design.study.report import write_study_report
from design.study.runner import expand, run_study
from design.study.spec import load_study

SEARCH = {"pop": 4, "generations": 2, "method": "direct", "horizon": 8, "time_limit": 30,
          "typical_periods": 0, "polish_gap": 0, "time_budget": None, "retries": 1}


def study_file(tmp_path: Path, **over) -> Path:
    data = {"name": "test-study", "cases": ["small"],
            "variations": [{"name": "base"},
                           {"name": "cheap-pv", "changes": [
                               {"path": "components.pv.cost.unit_cost", "factor": 0.3},
                               {"path": "tariff.sale", "factor": 0.5}]}],
            "seeds": [1, 2], "search": SEARCH, **over}
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("over, message", [
    ({"seeds": [1, 1]}, "duplicate seeds"),
    ({"search": {**SEARCH, "pop": 1}}, "field 'search': --pop must be >= 2"),
    ({"search": {**SEARCH, "gen": 3}}, "field 'search.gen'"),
    ({"variations": [{"name": "x", "changes": [{"path": "tariff.sale"}]}]},
     "give exactly one of value, factor, shift, column, try_region"),
    ({"variations": [{"name": "bad name!"}]}, "field 'variations.0.name'"),
    ({"cases": []}, "field 'cases'"),
    ({"queue": "fastest"}, "field 'queue' = 'fastest'"),
])
def test_bad_study_files_get_one_clear_error(tmp_path, over, message):
    with pytest.raises(CaseError, match=message) as err:
        load_study(study_file(tmp_path, **over))
    assert str(tmp_path / "study.yaml") in str(err.value)


def test_variations_change_the_case(small_case, tmp_path):
    path = study_file(tmp_path)
    cheap = apply_changes(small_case, load_study(path).variations[1], path)
    assert cheap.name == "small-cheap-pv"
    assert cheap.component("pv").cost.unit_cost == pytest.approx(
        0.3 * small_case.component("pv").cost.unit_cost)
    col = small_case.spec.tariff.sale  # a column: the series is scaled, not the name
    assert cheap.spec.tariff.sale == col
    pd.testing.assert_series_equal(cheap.series[col], 0.5 * small_case.series[col])
    assert small_case.component("pv").cost.unit_cost == 220  # the base case is untouched
    demand = Variation(name="more", changes=[{"path": "series.el_efh3", "factor": 2},
                                             {"path": "design_space.battery.max",
                                              "value": 80}])
    more = apply_changes(small_case, demand, path)
    assert (more.series["el_efh3"] == 2 * small_case.series["el_efh3"]).all()
    assert more.spec.design_space["battery"].max == 80
    for change, message in (({"path": "components.wind.cost.unit_cost", "factor": 2},
                             "no item named 'wind'"),
                            ({"path": "tariff.price", "value": 1}, "no field 'price'"),
                            ({"path": "components.pv.kind", "factor": 2},
                             "factor needs a number"),
                            ({"path": "design_space.battery.max", "value": -1},
                             "design_space.battery.max")):
        with pytest.raises(CaseError, match=message) as err:
            apply_changes(small_case, Variation(name="v", changes=[change]), path)
        assert "variation" in str(err.value) or "variations.v" in str(err.value)


def test_study_runs_share_one_queue_and_match_single_runs(tmp_path, ray_cluster,
                                                          monkeypatch):
    path = study_file(tmp_path)
    study = load_study(path)
    prepared = expand(study, path)
    assert [p.run.folder for p in prepared] == [
        "small-base-s1", "small-base-s2", "small-cheap-pv-s1", "small-cheap-pv-s2"]
    real = runner_module.run_design

    def failing(case, settings, executor, out, **kw):
        if out.name == "small-base-s2":
            raise RuntimeError("node on fire")
        return real(case, settings, executor, out, **kw)

    monkeypatch.setattr(runner_module, "run_design", failing)
    pool = SharedRayPool()
    out = tmp_path / "study"
    table = run_study(study, path, out, pool, progress=lambda m: None).set_index("folder")
    pool.close()
    # the failed run is recorded with its error; the others finished
    assert table.loc["small-base-s2", "status"] == "failed"
    assert "node on fire" in table.loc["small-base-s2", "error"]
    assert (out / "small-base-s2" / "error.txt").exists()
    assert set(table.drop("small-base-s2")["status"]) == {"done"}
    # each run equals the same run made alone (same seed, settings and varied case)
    for p in prepared:
        if p.run.folder == "small-base-s2":
            continue
        alone = run_search(p.case, p.settings, SerialExecutor(p.case, p.settings.operation),
                           tmp_path / "alone" / p.run.folder, progress=lambda m: None)
        front = pd.read_csv(out / p.run.folder / "pareto.csv")
        mine = sorted(zip(front["annual_total_cost"].round(6), front["autonomy"].round(6),
                          strict=True))
        assert mine == sorted((round(e.annual_total_cost, 6), round(e.autonomy, 6))
                              for e in alone.front())
        saved = json.loads((out / p.run.folder / "settings.json").read_text())
        assert saved["variation"] == p.run.variation and saved["seed"] == p.run.seed
    # runs.csv counts what each run's folder holds
    for folder, r in table.drop("small-base-s2").iterrows():
        assert r["evaluations"] == len(pd.read_parquet(out / folder / "evaluations.parquet"))
        assert r["front"] == len(pd.read_csv(out / folder / "pareto.csv")) > 0
    # resuming the finished study redoes nothing: no run evaluates again
    before = {f: len(pd.read_parquet(out / f / "evaluations.parquet"))
              for f in table.drop("small-base-s2").index}
    pool = SharedRayPool()
    again = run_study(study, path, out, pool, resume=True,
                      progress=lambda m: None).set_index("folder")
    pool.close()
    for folder, n in before.items():
        assert len(pd.read_parquet(out / folder / "evaluations.parquet")) == n
        assert again.loc[folder, "evaluations"] == n
        assert again.loc[folder, "spent_seconds"] == pytest.approx(
            table.loc[folder, "spent_seconds"])
    write_study_report(out)
    assert (out / "fronts-small.png").stat().st_size > 1000
    picks = pd.read_csv(out / "picks.csv")
    assert len(picks) == 3 * 3 and set(picks["pick"]) == {"cost-weighted", "balanced",
                                                          "autonomy-weighted"}
    summary = (out / "summary.md").read_text()
    assert "## Components entering (+) or leaving (-) the picks" in summary
    assert "cheap-pv vs base, cost-weighted" in summary and "failed" in summary


def test_batch_cli_rejects_a_bad_study_before_ray(tmp_path, capsys):
    path = study_file(tmp_path, cases=["nowhere"])
    assert main(["batch", str(path)]) == 1
    err = capsys.readouterr().err
    assert "field 'cases' = 'nowhere'" in err


def test_multi_node_cluster_kill_and_resume(tmp_path):
    """On a simulated 3-node cluster (a subprocess: Ray runs once per process): tasks
    land on several nodes, a node killed mid-study loses no finished evaluation and the
    study ends with the fronts of an uninterrupted one, as does a resumed study."""
    script = Path(__file__).with_name("cluster_study.py")
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes_used"] >= 2
    assert result["killed_node_had_tasks"]
    assert result["finished_before_kill_kept"]
    assert result["fronts_after_kill"] == result["fronts_uninterrupted"]
    assert result["fronts_resumed"] == result["fronts_uninterrupted"]
    assert all(s == "done" for s in result["statuses"])


def test_study_case_path_is_relative_to_the_study_file(tmp_path):
    assert main(["case", "template", str(tmp_path / "mine")]) == 0
    path = study_file(tmp_path, cases=["mine/case.yaml"], variations=[{"name": "base"}])
    prepared = expand(load_study(path), path)
    assert [p.run.folder for p in prepared] == ["my-district-base-s1", "my-district-base-s2"]


def test_fair_share_puts_the_run_with_least_compute_first(small_case, ray_cluster):
    from design.network.operate import OperationSettings
    from design.search.evaluate import Candidate
    from design.search.executors import RayExecutor

    pool = SharedRayPool()
    op = OperationSettings(method="direct", horizon=8)
    busy = RayExecutor(small_case, op, pool=pool, fair_share=True)
    idle = RayExecutor(small_case, op, pool=pool, fair_share=True)
    hard = Candidate(small_case.design(), 0.5)
    easy = Candidate({k: 0.0 for k in small_case.design()}, 0.5)
    busy.used_seconds, idle.used_seconds = 120.0, 15.0
    # the idle run's easy candidate before the busy run's hard one; within a run the
    # hardest first; without fair share, hardest first whichever run
    assert idle.priority(easy) > busy.priority(hard)
    assert busy.priority(hard) > busy.priority(easy)
    plain = RayExecutor(small_case, op, pool=pool)
    assert plain.priority(hard) > plain.priority(easy)
    e = idle.map([easy])[0]
    assert e.ok and idle.used_seconds == pytest.approx(15.0 + e.seconds)
    pool.close()


def test_a_study_with_scenarios_runs_robust_searches(tmp_path, ray_cluster):
    (tmp_path / "scen.yaml").write_text(yaml.safe_dump({"name": "pair", "scenarios": [
        {"name": "base", "probability": 0.5},
        {"name": "dear", "probability": 0.5,
         "changes": [{"path": "tariff.purchase", "factor": 2}]}]}))
    path = study_file(tmp_path, variations=[{"name": "base"}], seeds=[1],
                      scenarios="scen.yaml", search={**SEARCH, "generations": 1})
    study = load_study(path)
    prepared = expand(study, path)
    assert prepared[0].scenarios.names == ["base", "dear"]
    pool = SharedRayPool()
    out = tmp_path / "study"
    table = run_study(study, path, out, pool, progress=lambda m: None)
    pool.close()
    assert list(table["status"]) == ["done"]
    front = pd.read_csv(out / "small-base-s1" / "pareto.csv")
    np.testing.assert_allclose(front["annual_total_cost"],
                               0.5 * front["scenario.base.annual_total_cost"]
                               + 0.5 * front["scenario.dear.annual_total_cost"])
    saved = json.loads((out / "small-base-s1" / "settings.json").read_text())
    assert saved["scenarios"]["name"] == "pair"
    bad = study_file(tmp_path, scenarios="missing.yaml")
    with pytest.raises(CaseError, match="field 'scenarios' = 'missing.yaml'.*not found"):
        expand(load_study(bad), bad)
