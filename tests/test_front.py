"""The front: encoding, reduced-horizon seeding, archive, polish and tie-breaking."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from pymoo.core.individual import Individual

from decomp.dw import DWSettings
from decomp.solvers import PersistentSolver, SolveOptions
from design.network.model import TIE_BREAK
from design.network.operate import OperationSettings, operate
from design.report.tables import read_table
from design.search.design_milp import (
    LEVEL_LIMITS,
    build_design_milp,
    build_reduced_design_milp,
    reduced_sweep,
    solve_design_milp,
)
from design.search.executors import SerialExecutor
from design.search.nsga import DesignProblem, run_search
from design.search.settings import SEED_WEIGHTS, PolishSettings, SearchSettings, SeedSettings
from design.search.space import SWITCH, DecodedDuplicateElimination, DesignSpace, SpreadSampling
from design.search.typical import TypicalPeriods, typical_periods

EXACT = SolveOptions(solver="highs", gap=1e-9)
HOURS = 24


def test_encoding_round_trip_switches_and_ordered_grids(small_case):
    space = DesignSpace.from_case(small_case)
    vars_ = space.pymoo_vars()
    assert type(vars_["pv"]).__name__ == "Integer"  # grid: ordered index
    assert vars_["pv"].bounds == (0, len(space.grids["pv"]) - 1)
    assert "battery" + SWITCH in vars_ and vars_["battery"].bounds[0] > 0
    design = {n: 0.0 for n in space.names} | {"pv": 40.0, "battery": 12.5}
    got, w = space.decode(space.encode(design, 0.25))
    assert w == 0.25
    assert {n: got[n] for n in space.names} == design
    x = space.encode(design, 0.25)
    x["battery" + SWITCH] = False
    assert space.decode(x)[0]["battery"] == 0.0
    x["pv"] = 5  # index 5 of the sorted grid
    assert space.decode(x)[0]["pv"] == space.grids["pv"][5]
    # a size below the smallest installed one is raised to it, not snapped to 0
    x["battery" + SWITCH], x["battery"] = True, 0.001
    assert space.decode(x)[0]["battery"] == space.smallest_installed("battery")


def test_first_population_has_anchors_seeds_and_components_off(small_case):
    space = DesignSpace.from_case(small_case)
    problem = DesignProblem(space)
    seed = space.encode({n: 0.0 for n in space.names} | {"pv": 60.0}, 0.4)
    sampling = SpreadSampling(space, [seed])
    pop = sampling.do(problem, 40, random_state=np.random.default_rng(0))
    decoded = [space.decode(ind.X) for ind in pop]
    assert decoded[0][1] == 1.0 and all(decoded[0][0][n] == 0.0 for n in space.names)
    assert decoded[1][1] == 0.0 and decoded[1][0] == {**space.fixed, **space.largest()}
    assert decoded[2] == space.decode(seed)
    rest = decoded[3:]
    off = np.array([[d[n] == 0.0 for n in space.names] for d, _ in rest])
    # switches are on half of the time: most designs have some components off
    assert 0.25 < off.mean() < 0.75
    assert (off.sum(axis=1) >= 3).sum() >= 5
    weights = sorted(int(w * len(rest)) for _, w in rest)
    assert weights == list(range(len(rest)))  # W: one sample per stratum
    again = SpreadSampling(space, [seed]).do(problem, 40, random_state=np.random.default_rng(0))
    assert [space.decode(ind.X) for ind in again] == decoded


def test_duplicates_are_judged_on_decoded_designs(small_case):
    space = DesignSpace.from_case(small_case)
    a = space.encode({n: 0.0 for n in space.names}, 0.5)
    b = dict(a, battery=a["battery"] * 3)  # switched off: the size does not matter
    c = dict(a, W=0.6)
    dup = DecodedDuplicateElimination(space)
    assert dup.is_equal(Individual(X=a), Individual(X=b))
    assert not dup.is_equal(Individual(X=a), Individual(X=c))


def test_typical_periods_cover_the_year(small_case):
    tp = typical_periods(small_case, 2, 24)
    assert len(tp.medoids) == 2 and len(tp.order) == small_case.hours // 24
    assert tp.counts.sum() == len(tp.order)
    for k, medoid in enumerate(tp.medoids):
        assert tp.order[medoid] == k  # a medoid belongs to its own cluster
    short = typical_periods(small_case, 12, 24, hours=12)
    assert short.length == 12 and len(short.medoids) == 1
    with pytest.raises(ValueError, match="order"):
        TypicalPeriods(24, (0,), (0, 1))


@pytest.mark.parametrize("w", [0.3, 1.0])
def test_reduced_milp_with_every_period_its_own_is_the_full_design_milp(small_case, w):
    periods = TypicalPeriods(6, (0, 1, 2, 3), (0, 1, 2, 3))
    reduced, _, year_r = build_reduced_design_milp(small_case, w, periods)
    full, _, year_f = build_design_milp(small_case, w, HOURS)
    r = PersistentSolver(reduced, EXACT).solve()
    f = PersistentSolver(full, EXACT).solve()
    assert year_r == 1.0  # the reduced model's figures are annual already
    assert r.status == f.status == "optimal"
    assert math.isclose(r.objective, f.objective, rel_tol=1e-6)


def test_reduced_milp_sees_seasonal_storage(small_case):
    """Two typical periods: every level of the chain over the year's periods stays within
    the chosen size's level limits."""
    periods = typical_periods(small_case, 2, 24)
    m, _, _ = build_reduced_design_milp(small_case, 0.2, periods)
    res = PersistentSolver(m, EXACT).solve()
    assert res.status == "optimal"
    assert len(m.part[0].chain) > 0
    for (s, _p), v in m.part[0].chain.items():
        comp = small_case.component(s.removesuffix(".level"))
        lo, hi = LEVEL_LIMITS[comp.kind](comp)
        size = m.size[comp.name].value
        assert lo * size - 1e-6 <= v.value <= hi * size + 1e-6


def test_reduced_sweep_starts_from_the_empty_design_and_respects_the_deadline(small_case):
    periods = typical_periods(small_case, 2, 24)
    rows = reduced_sweep(small_case, periods, (1.0, 0.5, 0.0), EXACT)
    assert [r.weight for r in rows] == [1.0, 0.5, 0.0]
    assert all(r.feasible for r in rows)
    # W = 0 minimises autonomy: no other weight reaches a lower A
    assert rows[2].autonomy <= min(r.autonomy for r in rows) + 1e-6
    assert rows[0].annual_total_cost <= min(r.annual_total_cost for r in rows) + 1e-6
    import time

    assert reduced_sweep(small_case, periods, (1.0,), EXACT,
                         deadline=time.monotonic() - 1) == []


def test_ties_at_half_weight_are_broken_towards_selling(small_case):
    design = small_case.design()
    runs = [operate(small_case, design, OperationSettings(method=m, weight=0.5, horizon=HOURS,
                                                          solve=EXACT))
            for m in ("direct", "lp")]
    lp_relaxed = runs[1]
    direct = runs[0]
    assert direct.parts.sales_revenue > 0
    # the reported objective is the weighted sum minus the tie-break on sales
    assert direct.result.objective == pytest.approx(
        0.5 * direct.parts.c_op + 0.5 * direct.parts.autonomy
        - TIE_BREAK * direct.parts.sales_revenue, rel=1e-7, abs=1e-7)
    assert lp_relaxed.result.objective <= direct.result.objective + 1e-7


def test_search_front_covers_the_exact_design_milp(small_case, tmp_path):
    """On a one-day horizon the search (seeded by the reduced MILP on 4 periods of 6 h,
    which is then exact) weakly dominates, within 0.1 %, the exact design MILP's
    optimum of each weight (0.1 % of the optimum's f1 + f2 on each axis: sizes are rounded
    to 4 decimals, which can cost a fully autonomous design a few cents of purchases)."""
    weights = (1.0, 0.6, 0.3)
    op = OperationSettings(method="direct", horizon=HOURS, solve=EXACT)
    settings = SearchSettings(pop=4, generations=1, seed=2, operation=op,
                              seeding=SeedSettings(typical_periods=4, period_length=6,
                                                   weights=weights, gap=1e-9))
    state = run_search(small_case, settings, SerialExecutor(small_case, op), tmp_path,
                       progress=lambda m: None)
    front = state.front()
    for w in weights:
        ref = solve_design_milp(small_case, w, HOURS, EXACT)
        tol = 1e-3 * (ref.annual_total_cost + ref.autonomy)
        assert any(e.annual_total_cost <= ref.annual_total_cost + tol
                   and e.autonomy <= ref.autonomy + tol for e in front), w


def test_polish_certifies_front_points(small_case, tmp_path):
    """Evaluated at a loose 20 % gap, the front is solved again to 1 %: every point on
    the written front is then certified within 1 %."""
    loose = OperationSettings(method="dw", horizon=12,
                              dw=DWSettings(interval=6, gap=0.2, max_iterations=1))
    settings = SearchSettings(pop=4, generations=1, seed=5, operation=loose,
                              seeding=SeedSettings(typical_periods=0),
                              polish=PolishSettings(gap=0.01, time_limit=60))
    state = run_search(small_case, settings, SerialExecutor(small_case, loose), tmp_path,
                       progress=lambda m: None)
    from design.report.results_folder import write_results

    front = state.front()
    assert front and all(e.gap is not None and e.gap <= 0.01 for e in front)
    write_results(tmp_path, state, {"case": "small"})  # records of every phase in one table
    assert any(r["phase"] == "polish" for r in state.records) or all(
        r["gap"] <= 0.01 for r in state.records if r["ok"])


def test_epsilon_indicator_by_hand():
    from design.bench.front import epsilon_indicator

    front = np.array([[10.0, 5.0], [20.0, 2.0]])
    assert epsilon_indicator(front, front) == 1.0
    # a reference point 10 % better in cost than the cheap end: the front must shrink 10 %
    assert epsilon_indicator(front, np.array([[10.0 / 1.1, 5.0]])) == pytest.approx(1.1)
    # a dominated reference point needs no shrinking (epsilon below 1)
    assert epsilon_indicator(front, np.array([[30.0, 4.0]])) < 1.0
    assert epsilon_indicator(np.empty((0, 2)), front) == float("inf")


def test_simple_designs_cover_every_subset(small_case):
    from design.bench.front import simple_designs

    space = DesignSpace.from_case(small_case)
    designs = simple_designs(space, (1.0,))
    assert len(designs) == 2 ** len(space.names)
    assert {n: 0.0 for n in space.names}.items() <= designs[0].items()
    assert any(all(d[n] == space.largest()[n] for n in space.names) for d in designs)


def test_bench_front_builds_a_reference_set_and_judges_a_front(small_case, tmp_path,
                                                                monkeypatch):
    import design.bench.front as front_module
    from design.bench.front import FrontBench, bench_front
    from design.search.evaluate import Candidate

    space = DesignSpace.from_case(small_case)
    few = front_module.simple_designs(space, (1.0,))[:6]
    monkeypatch.setattr(front_module, "simple_designs", lambda *_: few)
    op = OperationSettings(method="direct", horizon=HOURS, solve=EXACT)
    settings = SearchSettings(pop=4, generations=1, seed=2, operation=op,
                              seeding=SeedSettings(typical_periods=1, weights=(1.0, 0.0)))
    results = tmp_path / "search"
    state = run_search(small_case, settings, SerialExecutor(small_case, op), results,
                       progress=lambda m: None)
    from design.report.results_folder import write_results

    write_results(results, state, {"case": "small"})
    bench = FrontBench(typical_periods=1, screen_periods=1, seed_weights=(1.0, 0.5, 0.0),
                       simple_weights=(1.0, 0.0), simple_limit=4, operation=op)
    out = tmp_path / "bench"
    res = bench_front(small_case, bench, SerialExecutor(small_case, op), out, results,
                      progress=lambda m: None)
    m = res["metrics"]
    reference = pd.read_csv(out / "reference.csv")
    assert {s.split(" ")[0] for s in reference["source"]} <= {"seed", "simple"}
    assert len(reference) >= 2
    assert m["epsilon"] == pytest.approx(front_module.epsilon_indicator(
        pd.read_csv(results / "pareto.csv")[["annual_total_cost", "autonomy"]].to_numpy(),
        reference[["annual_total_cost", "autonomy"]].to_numpy()))
    assert 0 < m["hypervolume_share"] <= 1 + 1e-9
    assert (out / "fronts.png").exists() and (out / "metrics.json").exists()
    again = bench_front(small_case, bench, None, out, results, reuse=True,
                        progress=lambda m: None)
    assert again["metrics"]["epsilon"] == pytest.approx(m["epsilon"])
    # the design MILP's designs join a reference set built before
    with_milp = FrontBench(typical_periods=1, screen_periods=1, milp_weights=2,
                           time_per_weight=10.0, operation=op)
    bench_front(small_case, with_milp, SerialExecutor(small_case, op), out, results,
                reuse=True, progress=lambda m: None)
    table = pd.read_csv(out / "reference-all.csv")
    milp = table[table["source"] == "design MILP"]
    assert sorted(milp["W"]) == [0.0, 1.0]
    assert (milp["objective"] <= milp["start_objective"] * (1 + 1e-6) + 1e-6).all()
    assert milp["start_accepted"].all()
    # each weight's row was written as it finished, with where its time went
    streamed = pd.read_csv(out / "design-milp.csv")
    assert sorted(streamed["W"]) == [0.0, 1.0]
    assert (streamed[["plan_seconds", "build_seconds", "start_seconds",
                      "solve_seconds"]] >= 0).all().all()
    assert (table["source"] != "design MILP").sum() >= 2  # the earlier points are kept
    # seeds of a finer model join it too; designs already in the set are not solved again
    finer = FrontBench(typical_periods=2, seed_weights=(1.0, 0.5, 0.0), add_seeds=True,
                       operation=op)
    solved = []
    executor = SerialExecutor(small_case, op)
    real_map = executor.map
    executor.map = lambda cands, *a: solved.extend(cands) or real_map(cands, *a)
    bench_front(small_case, finer, executor, out, results, reuse=True,
                progress=lambda m: None)
    grown = pd.read_csv(out / "reference-all.csv")
    assert len(grown) == len(table) + len(solved)
    assert set(grown["source"]) >= set(table["source"])
    def keys(t):
        return [Candidate(e.design, e.weight).key for e in front_module.as_evaluations(t, space)]

    new = keys(grown.iloc[len(table):])
    assert len(new) == len(set(new)) and not set(new) & set(keys(table))


def test_summary_says_where_hydrogen_enters():
    from design.report.summary import hydrogen_note

    kinds = {"pv": "pv", "electrolyser": "electrolyser", "mh_tank": "mh_tank"}
    front = pd.DataFrame({"pv": [100.0, 200.0, 400.0], "electrolyser": [0.0, 0.0, 2.0],
                          "mh_tank": [0.0, 0.0, 100.0],
                          "annual_total_cost": [10_000.0, 15_000.0, 30_000.0],
                          "autonomy": [9_000.0, 5_000.0, 4_000.0]})
    note = hydrogen_note(front, kinds)
    assert "1 of 3 front designs" in note and "A <= 4,000" in note
    assert "without it reaches A 5,000 EUR/a at 15,000 EUR/a" in note
    never = hydrogen_note(front.iloc[:2], kinds)
    assert never.startswith("Hydrogen never pays") and "A 5,000" in never
    assert hydrogen_note(front, {"pv": "pv"}) is None


def test_results_folder_reports_seeds_times_and_gaps(small_case, tmp_path, capsys):
    from design.cli.commands import main

    out = tmp_path / "run"
    rc = main(["design", "small", "--horizon", "12", "--pop", "4", "--generations", "1",
               "--executor", "serial", "--interval", "6", "--typical-periods", "1",
               "--refine", "0", "--out", str(out)])
    assert rc == 0
    seeds = pd.read_csv(out / "seeds.csv")
    assert len(seeds) >= len(SEED_WEIGHTS) and seeds["feasible"].all()
    assert set(seeds["typical_periods"]) == {1}
    summary = (out / "summary.md").read_text()
    assert "seeding" in summary and "Certified gaps on the front" in summary
    assert "battery [kWh]" in summary
    import json

    saved = json.loads((out / "settings.json").read_text())
    assert set(saved["seconds"]) >= {"seeding", "search", "polish"}
    assert saved["seeding"]["typical_periods"] == 1
    front = pd.read_csv(out / "pareto.csv")
    assert {"lower_bound", "upper_bound", "gap", "hours"} <= set(front.columns)
    assert (front["lower_bound"] <= front["upper_bound"] + 1e-6).all()
    assert saved["basis"]["hours"] == 12 and saved["basis"]["case_hours"] == 96
    assert saved["basis"]["scale_to_year"] == pytest.approx(730.0)
    assert "the first 12 h of the case's 96 h" in summary and "x730" in summary
    # drilling into a front design: no sizes retyped, and no settings either: the run's
    # horizon, method, interval and gap reproduce its figures within the certified gap
    capsys.readouterr()
    rc = main(["operate", "--from", str(out), "--pick", "cost-weighted"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "the first 12 h of the case's 96 h" in printed and "method dw" in printed
    assert "over the 12 solved hours" in printed and "annual (x730)" in printed
    drill = out / "operate-cost-weighted"
    summary = json.loads((drill / "summary.json").read_text())
    picks = read_table(out / "picks.csv")
    row = picks[picks["pick"] == "cost-weighted"].iloc[0]
    assert summary["method"] == "dw" and summary["basis"]["hours"] == 12
    assert summary["weight"] == pytest.approx(row["W"])
    assert all(summary["design"][n] == pytest.approx(row[n]) for n in summary["design"]
               if n in row.index)
    annual = summary["annual"]
    tol = 1e-6 * max(1.0, abs(row["upper_bound"]))
    assert annual["objective"] >= row["lower_bound"] - tol  # within the run's certificate
    assert annual["bound"] <= row["upper_bound"] + tol
    assert summary["annual_total_cost"] == pytest.approx(row["annual_total_cost"], rel=1e-6)
    assert annual["autonomy"] == pytest.approx(row["autonomy"], rel=1e-6)
    # both objectives, named: the solved one carries the tie-break towards selling
    w, per = summary["weight"], summary["per_horizon"]
    assert summary["weighted_objective"] == pytest.approx(
        w * per["c_op"] + (1 - w) * per["autonomy"])
    assert summary["objective"] == pytest.approx(
        summary["weighted_objective"] - 1e-4 * per["sales_revenue"], rel=1e-6, abs=1e-5)
    schedule = read_table(drill / "schedule.csv")
    assert list(schedule.columns[:2]) == ["hour", "time (local)"]
    assert schedule["time (local)"].iloc[0] == "2010-04-15 00:00"
    assert "grid.buy [kW]" in pd.read_csv(drill / "schedule.csv").columns
    if any(c.endswith(".level") for c in schedule.columns):
        assert (drill / "storage.png").exists()
    # explicit options still win over the run's
    rc = main(["operate", "--from", str(out), "--pick", "cost-weighted", "--horizon", "12",
               "--method", "direct", "--out", str(tmp_path / "direct")])
    assert rc == 0
    direct = json.loads((tmp_path / "direct" / "summary.json").read_text())
    assert direct["method"] == "direct"
    assert direct["annual"]["objective"] >= row["lower_bound"] - tol
    assert main(["operate", "--from", str(out), "--pick", "1", "--horizon", "12",
                 "--method", "direct", "--out", str(tmp_path / "first")]) == 0
    capsys.readouterr()
    assert main(["operate", "--from", str(out), "--pick", "99"]) == 1
    assert "--pick 99" in capsys.readouterr().err
    assert main(["operate", "small", "--pick", "1"]) == 1
    assert "needs --from" in capsys.readouterr().err


def test_weights_the_fine_model_leaves_open_are_solved_on_the_coarse_one(small_case):
    from design.search.seeding import seed_designs

    seeding = SeedSettings(typical_periods=2, period_length=12, weights=(1.0, 0.3),
                           epsilon_seeds=0, fallback_periods=1,
                           fallback_gap=-1.0)  # every gap counts as open
    two_days = 24  # two typical half-days need two half-days of data
    rows = seed_designs(small_case, seeding, two_days, None,
                        SerialExecutor(small_case, OperationSettings(horizon=two_days)),
                        lambda m: None)
    assert sorted((r["typical_periods"], r["W"]) for r in rows) == [
        (1, 0.3), (1, 1.0), (2, 0.3), (2, 1.0)]
    quiet = replace(seeding, fallback_gap=1.0)
    rows = seed_designs(small_case, quiet, two_days, None,
                        SerialExecutor(small_case, OperationSettings(horizon=two_days)),
                        lambda m: None)
    assert {r["typical_periods"] for r in rows} == {2}


def test_design_milp_reference_starts_from_a_known_plan(small_case):
    """MIP-started from a design and its plan, the design MILP under a short limit is
    feasible and no worse than that start (its objective carries the tie-break term)."""
    from design.bench.front import milp_reference

    op = OperationSettings(method="direct", horizon=HOURS, solve=EXACT)
    design = small_case.design()
    row = milp_reference(small_case, 0.5, design, op, 20.0)
    assert row["feasible"] and row["source"] == "design MILP" and row["start_accepted"]
    assert row["objective"] <= row["start_objective"] * (1 + 1e-6) + 1e-6
    exact = solve_design_milp(small_case, 0.5, HOURS, EXACT)
    assert row["bound"] <= exact.objective * (1 + 1e-6) + 1e-6


@pytest.mark.parametrize("flags, message", [
    (["--horizon", "0"], "--horizon must be between 1"),
    (["--workers", "0"], "--workers must be >= 1"),
    (["--gap", "0"], "--gap must be in"),
    (["--time-budget", "-5"], "--time-budget must be positive"),
    (["--seed-fallback-gap", "2"], "--seed-fallback-gap must be in [0, 1]"),
])
def test_bad_run_settings_are_refused_before_solving(tmp_path, capsys, flags, message):
    from design.cli.commands import main

    out = tmp_path / "run"
    rc = main(["design", "small", "--executor", "serial", "--out", str(out), *flags])
    assert rc != 0
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing was solved or written


def test_results_are_written_after_every_generation(small_case, tmp_path):
    op = OperationSettings(method="direct", horizon=6, solve=EXACT)
    settings = SearchSettings(pop=3, generations=2, seed=1, operation=op,
                              seeding=SeedSettings(typical_periods=0))
    seen = []
    run_search(small_case, settings, SerialExecutor(small_case, op), tmp_path,
               progress=lambda m: None,
               on_generation=lambda st: seen.append((st.generation, len(st.front()))))
    assert [g for g, _ in seen] == [1, 2] and all(n >= 1 for _, n in seen)


def test_a_candidate_without_a_plan_is_not_solved_again(small_case, monkeypatch):
    """"No plan within the limits" is the solver's answer, not a crash: no retry."""
    import design.search.evaluate as evaluate_module
    from design.search.evaluate import Candidate
    from design.search.executors import evaluate_with_retries

    real = evaluate_module.operate
    calls = {"n": 0}

    def no_plan(case, design, settings, progress=None, workspace=None):
        calls["n"] += 1
        out = real(case, design, settings, progress, workspace)
        out.parts = None
        return out

    monkeypatch.setattr(evaluate_module, "operate", no_plan)
    op = OperationSettings(method="direct", horizon=6, solve=EXACT)
    e = evaluate_with_retries(small_case, Candidate(small_case.design(), 0.5), op, retries=2)
    assert not e.ok and e.status is not None and "no operation plan" in e.error
    assert e.attempts == 1 and calls["n"] == 1


def test_epsilon_targets_split_the_widest_gaps():
    from design.search.seeding import epsilon_targets

    rows = [{"feasible": True, "W": w, "reduced_annual_total_cost": c, "reduced_autonomy": a,
             "design": {"pv": a}}
            for w, c, a in ((1.0, 10.0, 100.0), (0.5, 11.0, 90.0), (0.2, 30.0, 20.0),
                            (0.0, 31.0, 19.0), (0.1, 40.0, 50.0))]  # the last is dominated
    # halfway between A 90 and A 20, at the cheaper end's W, started from the A-20 design
    # (which meets the cap)
    assert epsilon_targets(rows, 1) == [(0.5, 55.0, {"pv": 20.0})]
    assert len(epsilon_targets(rows, 5)) == 3  # three gaps between four front points
    assert epsilon_targets(rows[:1], 2) == []


def test_epsilon_targets_stay_within_each_models_front():
    from design.search.seeding import model_targets

    def row(model, w, c, a):
        return {"feasible": True, "W": w, "reduced_annual_total_cost": c,
                "reduced_autonomy": a, "design": {"pv": a}, "typical_periods": model}

    fine = [row(24, 1.0, 10.0, 100.0), row(24, 0.5, 12.0, 60.0), row(24, 0.1, 40.0, 50.0)]
    coarse = [row(12, 0.05, 50.0, 30.0), row(12, 0.02, 90.0, 20.0)]
    targets = model_targets(fine + coarse, 2)
    # the widest gaps: 10/100 -> 12/60 of the fine front and 50/30 -> 90/20 of the coarse
    # one; no gap joins a fine seed to a coarse one
    assert targets == {24: [(1.0, 80.0, {"pv": 60.0})], 12: [(0.05, 25.0, {"pv": 20.0})]}
    assert model_targets(fine[:1], 3) == {}


def test_sweep_chains_start_near_their_first_weights_optimum():
    from design.search.seeding import sweep_chains

    chains = sweep_chains((1.0, 0.8, 0.5, 0.3, 0.1, 0.0), 2)
    assert [c[0] for c in chains] == [(1.0, 0.8, 0.5), (0.0, 0.1, 0.3)]
    assert [c[2] for c in chains] == ["empty", "largest"]
    assert sweep_chains((1.0, 0.5), 1)[0][:3] == ((1.0, 0.5), (None, None), "empty")


def test_autonomy_cap_holds_in_the_reduced_milp(small_case):
    periods = typical_periods(small_case, 2, 12)
    free, capped = reduced_sweep(small_case, periods, (1.0, 1.0), EXACT, caps=(None, 0.0))
    assert free.feasible and capped.feasible is not None
    cap = 0.5 * free.autonomy
    (r,) = reduced_sweep(small_case, periods, (1.0,), EXACT, caps=(cap,))
    assert r.feasible and r.autonomy <= cap * (1 + 1e-6) + 1e-6
    assert r.annual_total_cost >= free.annual_total_cost - 1e-6  # the cap costs something


def test_reduced_sweep_starts_from_the_largest_design(small_case):
    periods = typical_periods(small_case, 1, 24, HOURS)
    opts = SolveOptions(solver="highs", gap=1e-6, threads=1, time_limit=20)
    up = reduced_sweep(small_case, periods, (0.0, 0.5), opts, start="largest")
    down = reduced_sweep(small_case, periods, (0.0, 0.5), opts, start="empty")
    assert all(r.feasible for r in up + down)
    for a, b in zip(up, down, strict=True):  # the start changes the path, not the optimum
        assert a.objective == pytest.approx(b.objective, rel=1e-4)
    with pytest.raises(ValueError, match="start must be"):
        reduced_sweep(small_case, periods, (0.5,), opts, start="middle")


def _evaluation(design: dict, w: float, cost: float, a: float):
    from design.search.evaluate import Evaluation

    return Evaluation(design, w, ok=True, annual_total_cost=cost, autonomy=a)


def test_refinement_proposes_midpoints_of_the_widest_gaps(small_case):
    from design.search.refine import gap_candidates, gap_widths

    space = DesignSpace.from_case(small_case)
    big, mid, small = space.largest(), {n: 0.0 for n in space.names}, dict(space.largest())
    name = space.names[0]
    small[name] = space.smallest_installed(name)
    front = [_evaluation(mid, 1.0, 100.0, 50.0), _evaluation(small, 0.5, 110.0, 45.0),
             _evaluation(big, 0.0, 300.0, 10.0)]
    widths = gap_widths(front)
    # multiplicative widths: min(110/100, 50/45) and min(300/110, 45/10)
    assert [w for w, _, _ in widths] == pytest.approx([1.1, 300 / 110])
    (cand,) = gap_candidates(front, space, 1, set())
    assert cand.weight == pytest.approx(0.25)  # the widest gap's ends: W 0.5 and W 0
    for n in space.names:  # every size halfway between the ends, snapped to the space
        lo, hi = sorted((small[n], big[n]))
        assert lo - 1e-9 <= cand.design[n] <= hi + 1e-9
    assert cand.design == space.decode(space.encode(cand.design, cand.weight))[0]
    # a midpoint already known is not proposed again; narrow gaps are left alone
    assert gap_candidates(front, space, 1, {cand.key}) != [cand]
    flat = [_evaluation(mid, 1.0, 100.0, 50.0), _evaluation(small, 0.5, 100.05, 49.99)]
    assert gap_candidates(flat, space, 3, set()) == []


def test_polish_refines_the_front_with_the_budget_left(small_case, tmp_path):
    """With a time budget, the workers the polish leaves idle evaluate designs between
    front neighbours until the budget ends; they are recorded as phase "refine"."""
    op = OperationSettings(method="dw", horizon=12,
                           dw=DWSettings(interval=6, gap=0.01, max_iterations=2))
    settings = SearchSettings(pop=4, generations=1, seed=5, operation=op,
                              seeding=SeedSettings(typical_periods=0),
                              polish=PolishSettings(gap=0.01, time_limit=10, refine=2,
                                                    budget_share=0.5))
    state = run_search(small_case, settings, SerialExecutor(small_case, op), tmp_path,
                       progress=lambda m: None, time_budget=12.0)
    refined = [r for r in state.records if r.get("phase") == "refine"]
    assert refined
    keys = {c for c in state.cache}
    assert len(keys) >= len(refined)  # every refined candidate is in the archive
