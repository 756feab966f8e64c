"""Wall-time budgets and the order candidates are handed out: a search stopped inside a
generation keeps what it evaluated and resumes to the uninterrupted result; executors
honour a deadline; Ray hands out the hardest candidates first."""

from __future__ import annotations

import json
import time

import pytest

import design.search.evaluate as evaluate_module
from decomp.dw import DWSettings
from design.cli.commands import main
from design.network.operate import OperationSettings
from design.report.results_folder import write_results
from design.search.evaluate import Candidate, expected_work
from design.search.executors import RayExecutor, SerialExecutor
from design.search.nsga import load_checkpoint, run_search
from tests.test_design_search import OP, front_table, settings


class CutInGeneration:
    """Evaluates serially but, in generation ``at``, only the first ``keep`` candidates:
    the rest come back unevaluated, as when a time budget runs out mid-generation."""

    workers = 1

    def __init__(self, inner: SerialExecutor, at: int, keep: int) -> None:
        self.inner, self.at, self.keep, self.calls = inner, at, keep, 0

    def call(self, func, arguments):
        return self.inner.call(func, arguments)

    def map(self, candidates, deadline=None, settings=None):
        self.calls += 1
        if self.calls != self.at:
            return self.inner.map(candidates, deadline, settings)
        done = self.inner.map(candidates[:self.keep], deadline, settings)
        return done + [None] * (len(candidates) - self.keep)

    def map_groups(self, groups, deadline=None):
        return [self.map(cands, deadline, settings) for cands, settings in groups]


class Counting(SerialExecutor):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.evaluated: list[str] = []

    def map(self, candidates, deadline=None, settings=None):
        self.evaluated += [c.key for c in candidates]
        return super().map(candidates, deadline, settings)


def test_budget_cut_inside_a_generation_keeps_its_evaluations_and_resumes(small_case,
                                                                          tmp_path):
    full = run_search(small_case, settings(seed=5), SerialExecutor(small_case, OP),
                      tmp_path / "full", progress=lambda m: None)
    part = tmp_path / "part"
    cut = run_search(small_case, settings(seed=5),
                     CutInGeneration(SerialExecutor(small_case, OP), at=2, keep=2), part,
                     progress=lambda m: None, time_budget=1e6)
    assert cut.generation == 1 and len(cut.history) == 1
    assert "during generation 2 (2 of" in cut.stopped
    gen2 = [r for r in cut.records if r["generation"] == 2 and r["phase"] == "search"]
    assert len(gen2) == 2  # the two evaluated candidates of the cut generation are kept
    # the polish's idle workers finished the others of the cut generation
    late = [r for r in cut.records if r["phase"] == "search (during polish)"]
    assert late and all(r["generation"] == 2 for r in late) and cut.pending == []
    write_results(part, cut, {"case": "small"})
    assert (part / "pareto.csv").exists()
    saved = load_checkpoint(part)
    assert saved.generation == 1 and len(saved.cache) == len(cut.cache)
    counting = Counting(small_case, OP)
    resumed = run_search(small_case, settings(seed=5), counting, part, resume=True,
                         progress=lambda m: None)
    assert resumed.generation == 3 and resumed.stopped is None
    assert front_table(resumed) == front_table(full)
    # what the cut run evaluated (its generation-2 pair too) was not evaluated again
    assert counting.evaluated and not set(counting.evaluated) & set(cut.cache)
    assert len(resumed.cache) == len(full.cache)


def test_spent_budget_stops_before_the_first_generation(small_case, tmp_path):
    state = run_search(small_case, settings(), SerialExecutor(small_case, OP), tmp_path,
                       progress=lambda m: None, time_budget=1e-9)
    assert state.generation == 0 and not state.cache
    assert state.stopped == "time budget of 0 s spent"


def test_serial_executor_deadline(small_case, monkeypatch):
    cands = [Candidate(small_case.design(), w) for w in (0.2, 0.8)]
    ex = SerialExecutor(small_case, OP)
    assert ex.map(cands, time.monotonic() - 1) == [None, None]
    timed = ex.map(cands, time.monotonic() + 600)
    assert all(e is not None and e.ok for e in timed)
    assert [e.worker for e in timed][0] and all(e.started_at > 0 for e in timed)

    limits = []

    def no_plan(case, design, settings, progress=None, workspace=None):
        limits.append((settings.dw.time_limit, settings.solve.time_limit))
        raise RuntimeError("out of time before the first plan")

    monkeypatch.setattr(evaluate_module, "operate", no_plan)
    # cut short by the deadline without a plan: not evaluated; without a deadline, or
    # with a deadline beyond the candidate's own limit: failed, with the reason
    assert ex.map(cands[:1], time.monotonic() + 600) == [None]
    failed = ex.map(cands[:1])[0]
    assert not failed.ok and "out of time" in failed.error
    limited = SerialExecutor(small_case, OP.capped(30.0))
    assert not limited.map(cands[:1], time.monotonic() + 600)[0].ok
    (dw_cut, solve_cut), (dw_free, solve_free) = limits[0], limits[-3]
    assert 0 < dw_cut <= 600 and 0 < solve_cut <= 600  # the deadline capped both limits
    assert dw_free is None and solve_free is None


def test_capped_settings_shorten_every_limit():
    op = OperationSettings(method="dw", dw=DWSettings(time_limit=90.0))
    capped = op.capped(30.0)
    assert capped.dw.time_limit == 30.0 and capped.solve.time_limit == 30.0
    assert op.capped(500.0).dw.time_limit == 90.0
    assert op.capped(-5.0).dw.time_limit == 1.0
    assert op.time_limit == 90.0 and capped.time_limit == 30.0
    direct = OperationSettings(method="direct")
    assert direct.time_limit is None and direct.capped(10.0).time_limit == 10.0


def test_expected_work_counts_units_with_binaries(small_case):
    design = small_case.design()
    none = {k: 0.0 for k in design}
    binaries, installed = expected_work(small_case, Candidate(design, 0.5))
    assert expected_work(small_case, Candidate(none, 0.5)) == (0, 0)
    units = [c.name for c in small_case.spec.components if hasattr(c, "commitment")]
    assert binaries == sum(design[n] > 0 for n in units) and installed >= binaries


def test_ray_longest_first_order_and_deadline(small_case, ray_cluster):
    design = small_case.design()
    none = {k: 0.0 for k in design}
    cands = [Candidate(none, 0.1), Candidate(design, 0.2), Candidate(none, 0.3)]
    lpt = RayExecutor(small_case, OP, workers=2)
    assert lpt.order(cands) == [1, 0, 2]
    given = RayExecutor(small_case, OP, workers=2, longest_first=False)
    assert given.order(cands) == [0, 1, 2]
    # results come back in the candidates' order whatever the hand-out order
    evals = lpt.map(cands)
    assert [e.weight for e in evals] == [0.1, 0.2, 0.3] and all(e.ok for e in evals)
    assert lpt.map(cands, time.monotonic() - 1) == [None, None, None]
    lpt.close()
    given.close()
    # a deadline inside the solve: the running tasks are stopped at once
    slow = RayExecutor(small_case, OperationSettings(method="direct"), workers=2)
    t0 = time.monotonic()
    cut = slow.map([Candidate(design, 0.5)] * 2, t0 + 0.3)
    assert cut == [None, None] and time.monotonic() - t0 < 10
    # once the actors are up, both solves start with the time left capped (a second:
    # 85 % of 5 s less 5 s); one that stops within it is recorded, one still running at
    # the deadline (a solver that overran its limit) is stopped, its actor killed, and
    # the pool goes on with a new one. Which happens is the solver's affair.
    started, jobs = slow.pool.stats["actors_started"], slow.pool.stats["jobs"]
    t0 = time.monotonic()
    cut = slow.map([Candidate(design, 0.5)] * 2, t0 + 5.0)
    assert time.monotonic() - t0 < 15
    assert all(e is None or (e.ok and e.seconds < 5.0) for e in cut)
    assert slow.pool.stats["jobs"] - jobs == 2, "both solves were started"
    again = slow.map([Candidate(none, 0.5)], time.monotonic() + 120)
    assert again[0].ok
    if None in cut:
        assert slow.pool.stats["actors_started"] >= started + 1
    slow.close()


def test_cli_design_rejects_a_bad_budget(capsys):
    assert main(["design", "small", "--executor", "serial", "--time-budget", "-1"]) == 1
    assert "--time-budget must be positive" in capsys.readouterr().err


def test_cli_design_time_budget_is_recorded(tmp_path, capsys):
    rc = main(["design", "small", "--horizon", "8", "--pop", "4", "--generations", "50",
               "--executor", "serial", "--interval", "4", "--time-budget", "3",
               "--out", str(tmp_path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "time budget of 3 s spent" in out
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["time_budget"] == 3 and saved["stopped"].startswith("time budget")
    assert load_checkpoint(tmp_path).generation < 50


def test_cli_design_budget_spans_sessions_and_folders_are_not_mixed(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "run"
    base = ["design", "small", "--horizon", "8", "--pop", "4", "--generations", "50",
            "--executor", "serial", "--interval", "4", "--typical-periods", "0",
            "--refine", "0", "--out", str(out)]
    assert main([*base, "--time-budget", "3"]) == 0
    spent = load_checkpoint(out).spent
    evaluations = len(pd.read_parquet(out / "evaluations.parquet"))
    assert spent > 0 and evaluations > 0
    capsys.readouterr()
    # a second run into the same folder is refused; --resume continues, --overwrite replaces
    assert main([*base, "--time-budget", "3"]) == 1
    assert "holds an earlier run" in capsys.readouterr().err
    # the same budget on --resume: spent, so the run is left as it is
    assert main([*base, "--time-budget", "3", "--resume"]) == 0
    assert "is spent" in capsys.readouterr().out
    assert load_checkpoint(out).spent == pytest.approx(spent)
    assert len(pd.read_parquet(out / "evaluations.parquet")) == evaluations
    # a larger budget goes on for what is left of it, not for a whole new one
    assert main([*base, "--time-budget", "6", "--resume"]) == 0
    printed = capsys.readouterr().out
    assert "resuming after generation" in printed and "of the 6 s budget left" in printed
    again = load_checkpoint(out)
    assert again.spent > spent and again.budget == 6
    assert len(pd.read_parquet(out / "evaluations.parquet")) > evaluations
    # --resume without a checkpoint says so
    assert main([*base[:-1], str(tmp_path / "none"), "--resume"]) == 1
    assert "there is no run to resume" in capsys.readouterr().err
    assert main([*base, "--time-budget", "3", "--overwrite"]) == 0
    assert "resuming" not in capsys.readouterr().out
    assert load_checkpoint(out).spent < again.spent
