"""``lcen bench``: each command end-to-end on a tiny case; the design MILP against the
operation MILP of the same design."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from decomp.solvers import SolveOptions
from design.bench.design_compare import (
    hypervolume,
    non_dominated,
    weight_grid,
    weights_covered,
)
from design.bench.scaling import ScalingBench, bench_scaling, sample_candidates
from design.cli.commands import main
from design.network.case import CaseError
from design.network.model import TIE_BREAK
from design.network.operate import OperationSettings, operate
from design.network.results import annualised_capex
from design.search.design_milp import build_design_milp, solve_design_milp
from design.search.evaluate import Candidate, evaluate
from design.search.space import DesignSpace

EXACT = SolveOptions(solver="highs", gap=1e-9)
HOURS = 24


def _weighted(w: float, capex: float, c_op: float, autonomy: float, sales: float) -> float:
    """The design MILP's objective written with the search's objectives f1 and f2 (and the
    operation's tie-break towards selling)."""
    return w * (capex + c_op) + (1 - w) * autonomy - TIE_BREAK * sales


@pytest.mark.parametrize("w", [0.3, 0.8])
def test_design_milp_at_a_fixed_design_equals_the_operation_milp(small_case, w):
    design = small_case.design()
    sizes = {k: v for k, v in design.items() if k in small_case.spec.design_space}
    fixed = solve_design_milp(small_case, w, HOURS, EXACT, fixed=sizes)
    op = operate(small_case, design,
                 OperationSettings(method="direct", weight=w, horizon=HOURS, solve=EXACT))
    year = 8760.0 / HOURS
    expected = w * annualised_capex(small_case, design) + year * op.result.objective
    assert fixed.feasible and fixed.design == design
    assert math.isclose(fixed.objective, expected, rel_tol=1e-6)
    assert math.isclose(fixed.capex, op.parts.capex, rel_tol=1e-9)
    assert math.isclose(
        _weighted(w, fixed.capex, fixed.c_op, fixed.autonomy, fixed.sales_revenue), expected,
        rel_tol=1e-6)


def test_free_design_milp_is_no_worse_than_any_design_and_agrees_with_the_search(small_case):
    w = 0.7
    free = solve_design_milp(small_case, w, HOURS, EXACT)
    assert free.feasible and free.status == "optimal"
    space = DesignSpace.from_case(small_case)
    # sizes are decisions: the optimum cannot be worse than the default design's
    sizes = {k: v for k, v in small_case.design().items() if k in space.names}
    default = solve_design_milp(small_case, w, HOURS, EXACT, fixed=sizes)
    assert free.objective <= default.objective * (1 + 1e-9)
    for name in space.names:  # the design found is one the search can propose too
        assert small_case.spec.design_space[name].contains(free.design[name])
    # NSGA-II's evaluator on the same design and W reaches the same weighted objective
    ev = evaluate(small_case, Candidate(free.design, w),
                  OperationSettings(method="direct", horizon=HOURS, solve=EXACT))
    assert ev.ok
    weighted = _weighted(w, ev.capex, ev.c_op, ev.autonomy, free.sales_revenue)
    assert math.isclose(weighted, free.objective, rel_tol=1e-4)


def test_design_milp_rejects_bad_input(small_case):
    with pytest.raises(CaseError, match="design_space has no 'grid'"):
        build_design_milp(small_case, 0.5, HOURS, fixed={"grid": 1.0})
    with pytest.raises(CaseError, match="design_space.pv: 33.0 is not a candidate"):
        build_design_milp(small_case, 0.5, HOURS, fixed={"pv": 33.0})
    with pytest.raises(ValueError, match="weight W must be in"):
        build_design_milp(small_case, 1.5, HOURS)


def test_bench_operation_end_to_end(tmp_path):
    out = tmp_path / "op"
    rc = main(["bench", "operation", "small", "--horizon", "12", "--methods", "direct", "dw",
               "lp", "--weights", "0.4", "--time-limit", "60", "--gap", "0.001",
               "--out", str(out)])
    assert rc == 0
    df = pd.read_csv(out / "operation.csv").set_index("method")
    assert (out / "operation.png").stat().st_size > 0
    opt = df.loc["direct", "upper_bound"]
    assert df.loc["dw", "lower_bound"] <= opt * (1 + 1e-6)
    assert df.loc["dw", "upper_bound"] >= opt * (1 - 1e-6)
    assert df.loc["lp", "lower_bound"] <= opt * (1 + 1e-6)
    assert df.loc["dw", "gap"] <= 0.001
    assert df.loc["dw", "seconds_to_1%"] <= df.loc["dw", "seconds"]
    assert (df["peak_rss_mb"] > 0).all()


def test_bench_operation_rejects_an_unknown_case(tmp_path, capsys):
    rc = main(["bench", "operation", "no-such-case", "--out", str(tmp_path)])
    assert rc == 1
    assert "no-such-case" in capsys.readouterr().err


def test_bench_design_end_to_end(tmp_path):
    out = tmp_path / "design"
    rc = main(["bench", "design", "small", "--horizon", "12", "--weights", "3",
               "--time-per-weight", "20", "--pop", "4", "--method", "direct",
               "--max-generations", "2", "--search-budget", "120",
               "--executor", "serial", "--out", str(out)])
    assert rc == 0
    for name in ("design-milp.csv", "comparison.csv", "fronts.csv", "fronts.png",
                 "search/pareto.csv"):
        assert (out / name).exists(), name
    milp = pd.read_csv(out / "design-milp.csv")
    assert list(milp["weight"]) == [0.0, 0.5, 1.0]
    assert milp["feasible"].all()
    cmp_ = pd.read_csv(out / "comparison.csv")
    assert len(cmp_) == 2 and (cmp_["hypervolume"] > 0).all()
    assert list(cmp_["feasible_weights"]) == [3, 3]  # the search's W reaches every bin
    # only non-dominated designs cover a weight
    assert (cmp_["covered_weights"] <= cmp_["feasible_weights"]).all()
    assert (cmp_["covered_weights"] >= 1).all()
    assert cmp_["generations"].iloc[1] == 2 and cmp_["seconds"].iloc[1] < 120
    saved = json.loads((out / "search" / "settings.json").read_text())
    assert saved["time_budget"] == 120 and saved["stopped"] is None


def test_front_helpers():
    import numpy as np

    F = np.array([[1.0, 5.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0]])
    assert sorted(map(tuple, non_dominated(F))) == [(1.0, 5.0), (2.0, 2.0), (4.0, 1.0)]
    assert hypervolume(np.array([[1.0, 1.0]]), np.array([2.0, 3.0])) == pytest.approx(2.0)
    assert hypervolume(np.array([[5.0, 5.0]]), np.array([2.0, 3.0])) == 0.0
    assert weight_grid(10)[0] == 0.0 and weight_grid(10)[-1] == 1.0
    assert len(weight_grid(10)) == 10
    with pytest.raises(ValueError):
        weight_grid(0)
    grid = weight_grid(5)  # 0, 0.25, ..., 1: each weight owns +-0.125
    assert weights_covered(grid, []) == 0
    assert weights_covered(grid, [0.1, 0.12, 0.9]) == 2
    assert weights_covered(grid, [0.0, 0.3, 0.5, 0.7, 1.0]) == 5


def test_bench_scaling_end_to_end(tmp_path, small_case, ray_cluster):
    bench = ScalingBench(case="small", workers=(1, 2), candidates=3, candidate_horizon=12,
                         horizons=(12,), nodes=(1,), node_horizon=12,
                         methods=("dw", "direct"), time_limit=60,
                         orders=("longest-first", "given"),
                         operation=OperationSettings(method="direct"))
    res = bench_scaling(bench, tmp_path)
    tp, ts, tl = res["throughput"], res["time"], res["timeline"]
    assert list(tp["workers"]) == [1, 2, 1, 2] and (tp["failed"] == 0).all()
    assert list(tp["order"]) == ["longest-first"] * 2 + ["given"] * 2
    assert (tp["evaluations_per_minute"] > 0).all()
    assert (tp["busy_fraction"] > 0).all() and (tp["busy_fraction"] <= 1 + 1e-6).all()
    assert list(tp.groupby("order", sort=False)["speedup"].first()) == [1.0, 1.0]
    # the timeline: every candidate once per run, within the batch, on a named worker
    assert len(tl) == 4 * 3 and tl["worker"].notna().all()
    for (_, k), run in tl.groupby(["order", "workers"]):
        assert sorted(run["candidate"]) == [0, 1, 2] and (run["start"] >= -1e-3).all()
        ends = run["start"] + run["seconds"]
        # at no start are more than k evaluations running: the count caps parallelism
        assert all(((run["start"] <= t + 1e-3) & (ends > t + 1e-3)).sum() <= k
                   for t in run["start"])
    assert len(ts) == 4 and set(ts["status"]) <= {"optimal", "gap met", "feasible"}
    for name in ("throughput.csv", "throughput-timeline.csv", "timeline.png", "time.csv",
                 "scaling.png"):
        assert (tmp_path / name).exists()
    cands = sample_candidates(DesignSpace.from_case(small_case), 3, seed=5)
    assert cands == sample_candidates(DesignSpace.from_case(small_case), 3, seed=5)


def test_bench_scaling_cli_runs_one_study_alone(tmp_path, capsys):
    rc = main(["bench", "scaling", "--case", "small", "--workers", "--horizons", "12",
               "--nodes", "--methods", "direct", "--out", str(tmp_path)])
    assert rc == 0
    assert pd.read_csv(tmp_path / "time.csv")["status"].tolist() == ["optimal"]
    assert (tmp_path / "throughput.csv").exists() and (tmp_path / "scaling.png").exists()
    assert "horizon" in capsys.readouterr().out
