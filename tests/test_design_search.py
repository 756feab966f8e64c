"""End-to-end design search on a tiny case: front, files, resume, failures, seeds, Ray."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import design.search.evaluate as evaluate_module
from decomp.dw import DWSettings
from design.cli.commands import main
from design.network.operate import OperationSettings
from design.report.results_folder import write_results
from design.search.evaluate import Candidate, expected_work
from design.search.executors import (
    MEASURED_HEADROOM,
    RayExecutor,
    SerialExecutor,
    memory_estimate_mb,
)
from design.search.nsga import run_search
from design.search.pool import code_runtime_env
from design.search.settings import PolishSettings, SearchSettings, SeedSettings

OP = OperationSettings(method="dw", horizon=12, dw=DWSettings(interval=6, gap=0.01))


def settings(seed: int = 3, generations: int = 3) -> SearchSettings:
    # no refinement: these runs are compared with runs without a budget, which never refine;
    # seeding at three weights and one epsilon seed (the default fifteen design MILPs were
    # three quarters of each run's time)
    return SearchSettings(pop=6, generations=generations, seed=seed, operation=OP,
                          polish=PolishSettings(refine=0),
                          seeding=SeedSettings(weights=(1.0, 0.5, 0.2), epsilon_seeds=1))


def front_table(state) -> list[tuple]:
    return [(round(e.annual_total_cost, 6), round(e.autonomy, 6)) for e in state.front()]


def non_dominated(F: np.ndarray) -> bool:
    for i in range(len(F)):
        others = np.delete(F, i, axis=0)
        if ((others <= F[i]).all(axis=1) & (others < F[i]).any(axis=1)).any():
            return False
    return True


def test_serial_search_writes_consistent_results(small_case, tmp_path):
    state = run_search(small_case, settings(), SerialExecutor(small_case, OP), tmp_path,
                       progress=lambda m: None)
    write_results(tmp_path, state, {"case": "small"})
    for name in ("pareto.csv", "evaluations.parquet", "history.csv", "settings.json",
                 "pareto.png", "summary.md", "picks.csv"):
        assert (tmp_path / name).exists(), name
    assert list(tmp_path.glob("storage-*.png"))
    front = pd.read_csv(tmp_path / "pareto.csv")
    evals = pd.read_parquet(tmp_path / "evaluations.parquet")
    F = front[["annual_total_cost", "autonomy"]].to_numpy()
    assert len(F) >= 1 and non_dominated(F)
    ok = evals[evals["ok"]][["annual_total_cost", "autonomy"]].to_numpy()
    # every front point is an evaluation and no evaluation dominates a front point
    for f in F:
        assert np.isclose(ok, f).all(axis=1).any()
        assert not ((ok <= f).all(axis=1) & (ok < f - 1e-9).any(axis=1)).any()
    hist = pd.read_csv(tmp_path / "history.csv")
    assert list(hist["generation"]) == [1, 2, 3]
    assert (hist["hypervolume"].diff().dropna() >= -1e-9).all()
    summary = (tmp_path / "summary.md").read_text()
    assert "cost-weighted" in summary and "autonomy-weighted" in summary
    assert main(["report", str(tmp_path)]) == 0


def test_same_seed_same_front_and_resume_matches(small_case, tmp_path):
    full = run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP),
                      tmp_path / "full", progress=lambda m: None)
    again = run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP),
                       tmp_path / "again", progress=lambda m: None)
    assert front_table(full) == front_table(again)
    part = tmp_path / "part"
    run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP), part,
               progress=lambda m: None, stop_after=1)
    resumed = run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP), part,
                         resume=True, progress=lambda m: None)
    assert resumed.generation == 3
    assert front_table(resumed) == front_table(full)
    # a finished run is extended by resuming with more generations, to the same front as
    # a run that had that many generations from the start
    short = tmp_path / "short"
    run_search(small_case, settings(seed=5, generations=2), SerialExecutor(small_case, OP),
               short, progress=lambda m: None)
    extended = run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP), short,
                          resume=True, progress=lambda m: None)
    assert [h["generation"] for h in extended.history] == [1, 2, 3]
    assert front_table(extended) == front_table(full)
    with pytest.raises(ValueError, match=r"settings\.seed: 5 -> 6"):
        run_search(small_case, settings(seed=6), SerialExecutor(small_case, OP), part,
                   resume=True, progress=lambda m: None)
    # another case (here: the same case with a purchase price changed) is refused too
    from design.network.case import Case

    spec = small_case.spec.model_copy(update={"description": "prices changed"})
    series = small_case.series.copy()
    series["price_buy"] = series["price_buy"] * 1.01
    other = Case(spec, series, small_case.path)
    with pytest.raises(ValueError, match=r"case\.digest"):
        run_search(other, settings(seed=5), SerialExecutor(other, OP), part,
                   resume=True, progress=lambda m: None)


def test_failing_candidate_is_recorded_and_run_finishes(small_case, tmp_path, monkeypatch):
    real = evaluate_module.operate
    calls = {"n": 0}

    def flaky(case, design, settings, progress=None, workspace=None):
        calls["n"] += 1
        if design["battery"] > 20:
            raise RuntimeError("solver exploded")
        return real(case, design, settings, progress, workspace)

    monkeypatch.setattr(evaluate_module, "operate", flaky)
    state = run_search(small_case, settings(seed=2), SerialExecutor(small_case, OP, retries=1),
                       tmp_path, progress=lambda m: None)
    failed = [e for e in state.evaluations() if not e.ok]
    assert failed, "the seed should produce at least one battery > 20"
    assert all("solver exploded" in e.error and e.attempts == 2 for e in failed)
    assert state.generation == 3 and state.front()
    assert all(e.ok for e in state.front())


def test_ray_executor_matches_serial(small_case, tmp_path, ray_cluster):
    executor = RayExecutor(small_case, OP, workers=2)
    # before any evaluation the tasks declare the estimate (more for longer horizons)
    estimate = executor.task_memory()
    assert estimate == int(memory_estimate_mb(small_case, OP) * 2**20)
    year = OperationSettings(method="dw", horizon=None)
    assert memory_estimate_mb(small_case, year) > memory_estimate_mb(small_case, OP)
    ray_state = run_search(small_case, settings(seed=4, generations=2), executor,
                           tmp_path / "ray", progress=lambda m: None)
    # afterwards the largest measured peak, with headroom
    peaks = [e.peak_rss_mb for e in ray_state.evaluations() if e.peak_rss_mb]
    assert peaks and executor.measured_mb == pytest.approx(max(peaks))
    assert executor.task_memory() == int(max(peaks) * MEASURED_HEADROOM * 2**20)
    serial = run_search(small_case, settings(seed=4, generations=2),
                        SerialExecutor(small_case, OP), tmp_path / "serial",
                        progress=lambda m: None)
    assert front_table(ray_state) == front_table(serial)
    # plain calls: in the order of their arguments, or each as it finishes, with its index
    cands = [Candidate(e.design, e.weight) for e in ray_state.evaluations()[:3]]
    args = [(c,) for c in cands]
    expected = [expected_work(small_case, c) for c in cands]
    assert executor.call(expected_work, args) == expected
    assert sorted(executor.call_each(expected_work, args)) == list(enumerate(expected))


def test_cli_design_serial(tmp_path, capsys):
    rc = main(["design", "small", "--horizon", "8", "--pop", "4", "--generations", "2",
               "--executor", "serial", "--interval", "4", "--out", str(tmp_path)])
    assert rc == 0
    assert (tmp_path / "pareto.csv").exists()
    printed = capsys.readouterr().out
    assert "generation 2:" in printed and "[0:" in printed  # elapsed time on every line
    assert "the first 8 h of the case's 96 h" in printed


def test_bad_search_settings():
    with pytest.raises(ValueError, match="pop"):
        SearchSettings(pop=1)
    with pytest.raises(ValueError, match="generations"):
        SearchSettings(generations=0)



def test_cluster_runtime_env_ships_the_code():
    env = code_runtime_env()
    names = sorted(Path(m).name for m in env["py_modules"])
    assert names == ["cases", "decomp", "design"]
    assert all(Path(m, "__init__.py").exists() or Path(m).is_dir() for m in env["py_modules"])


def test_zero_workers_refused(small_case):
    with pytest.raises(ValueError, match="--workers must be >= 1"):
        RayExecutor(small_case, OP, workers=0)


def test_front_drops_points_equal_up_to_rounding_and_worse_elsewhere():
    from design.search.evaluate import Evaluation
    from design.search.nsga import SearchState

    def ev(cost, a, w):
        return Evaluation({"pv": w}, w, ok=True, annual_total_cost=cost, autonomy=a)

    evals = [ev(6035.33, 2214.04274, 0.1), ev(6167.03, 2214.04274 - 1e-10, 0.2),
             ev(5000.0, 3000.0, 0.3), ev(7000.0, 2000.0, 0.4)]
    state = SearchState(None, {str(i): e for i, e in enumerate(evals)}, [], [], None, 0, "")
    assert [e.weight for e in state.front()] == [0.3, 0.1, 0.4]


def test_run_where_every_candidate_fails_ends_clearly(tmp_path, monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(evaluate_module, "operate", boom)
    rc = main(["design", "small", "--horizon", "8", "--pop", "4", "--generations", "2",
               "--executor", "serial", "--typical-periods", "0", "--retries", "0",
               "--out", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "every candidate failed: RuntimeError: solver exploded" in err
    # a valid results folder all the same
    front = pd.read_csv(tmp_path / "pareto.csv")
    assert front.empty and "pv [m2]" in front.columns
    evals = pd.read_parquet(tmp_path / "evaluations.parquet")
    assert len(evals) > 0 and not evals["ok"].any()
    assert "Every evaluation failed: RuntimeError: solver exploded" in (
        tmp_path / "summary.md").read_text()
    assert (tmp_path / "report.html").exists()


@pytest.mark.parametrize("every", [0.0, 1e9])
def test_figures_are_redrawn_at_most_every_figure_seconds_and_at_the_end(
        small_case, tmp_path, monkeypatch, every):
    """Every generation writes the tables; the figures only once FIGURE_SECONDS have
    passed since the last drawing, and always at the end of the run."""
    import design.search.run as run_module

    monkeypatch.setattr(run_module, "FIGURE_SECONDS", every)
    flags: list[bool] = []
    real = run_module.write_results

    def spy(out, state, record, figures=True):
        flags.append(figures)
        real(out, state, record, figures)
        assert (out / "pareto.csv").exists() and (out / "summary.md").exists()
        assert (out / "pareto.png").exists() == (figures or any(flags[:-1]))

    monkeypatch.setattr(run_module, "write_results", spy)
    op = OperationSettings(method="direct", horizon=8)
    run_module.run_design(small_case, SearchSettings(
        pop=4, generations=2, seed=1, operation=op, polish=PolishSettings(refine=0),
        seeding=SeedSettings(weights=(1.0,), epsilon_seeds=0)),
        SerialExecutor(small_case, op), tmp_path, progress=lambda m: None)
    assert flags == ([True, True, True] if every == 0 else [False, False, True])
    assert (tmp_path / "pareto.png").exists()


def test_memory_estimate_lets_two_network_candidates_share_a_machine():
    """The estimate before any peak is measured: a district-10 year must not claim what
    two workers of a 24 GiB machine cannot both hold (it claimed 10.8 GB, and one of two
    Ray workers idled); it stays above the peaks measured on the reference year."""
    from design.network.builtin import resolve_case

    year = OperationSettings(method="dw", horizon=None)
    district = memory_estimate_mb(resolve_case("district-10"), year)
    reference = memory_estimate_mb(resolve_case("reference"), year)
    assert 2150 <= district <= 4000 and 1250 <= reference < district
