"""What a design is worth over a scenario set: one candidate's scenario evaluations
combined into its expectation (the objectives of the robust search), and the table of
expected, worst and best figures and regrets of designs judged on every scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd

from decomp.certificate import relative_gap
from design.search.evaluate import Candidate, Evaluation

#: what the robust search and the stress tables judge a design by (both minimised)
OBJECTIVES = ("annual_total_cost", "autonomy")


def combine(candidate: Candidate, evals: dict[str, Evaluation | None],
            probabilities: dict[str, float]) -> Evaluation | None:
    """One candidate's evaluations on every scenario as one evaluation of the two-stage
    problem (design first, operation per scenario): objectives, capital cost (a scenario
    may change unit costs), costs and energy figures are expectations;
    ``lower_bound``/``upper_bound`` bound the expected solved objective (a sum of
    per-scenario bounds with probabilities as weights is a bound of the sum);
    ``gap`` is that sum's relative gap. A scenario not evaluated (None) leaves the
    candidate not evaluated; a failed one fails it, naming the scenario. ``extra`` keeps
    every scenario's figures, and its ``columns`` the worst case and each scenario's
    objectives for the results tables."""
    if any(evals.get(name) is None for name in probabilities):
        return None
    first = evals[next(iter(probabilities))]
    seconds = sum(e.seconds for e in evals.values())
    per = {name: {"ok": e.ok, "annual_total_cost": e.annual_total_cost,
                  "autonomy": e.autonomy, "gap": e.gap, "status": e.status,
                  "seconds": e.seconds, "error": e.error}
           for name, e in evals.items()}
    failed = [name for name in probabilities if not evals[name].ok]
    if failed:
        e = evals[failed[0]]
        return Evaluation(candidate.design, candidate.weight, ok=False, status=e.status,
                          seconds=seconds, attempts=e.attempts, peak_rss_mb=e.peak_rss_mb,
                          error=f"scenario {failed[0]}: {e.error}",
                          extra={"scenarios": per})

    def expect(attr: str) -> float | None:
        return _expected([getattr(evals[n], attr) for n in probabilities], probabilities)

    lb, ub = expect("lower_bound"), expect("upper_bound")
    gap = relative_gap(ub, lb)
    statuses = {evals[n].status for n in probabilities}
    costs = sorted({k for e in evals.values() for k in e.costs})
    energy = sorted({k for e in evals.values() for k in e.energy})
    return Evaluation(
        candidate.design, candidate.weight, ok=True,
        annual_total_cost=expect("annual_total_cost"), autonomy=expect("autonomy"),
        capex=expect("capex"), c_op=expect("c_op"),
        status=statuses.pop() if len(statuses) == 1 else "mixed: " + ", ".join(
            f"{n} {evals[n].status}" for n in probabilities),
        gap=gap, lower_bound=lb, upper_bound=ub,
        weighted_objective=expect("weighted_objective"),
        hours=first.hours, scale_to_year=first.scale_to_year, seconds=seconds,
        started_at=min((e.started_at for e in evals.values() if e.started_at), default=None),
        worker=first.worker, node=first.node,
        attempts=max(e.attempts for e in evals.values()),
        peak_rss_mb=max((e.peak_rss_mb for e in evals.values() if e.peak_rss_mb),
                        default=None),
        costs={k: _expected([evals[n].costs.get(k) for n in probabilities], probabilities)
               for k in costs},
        energy={k: _expected([evals[n].energy.get(k) for n in probabilities], probabilities)
                for k in energy},
        extra={**first.extra, "levels_scenario": next(iter(probabilities)),
               "scenarios": per, "columns": scenario_columns(evals, probabilities)},
    )


def scenario_columns(evals: dict[str, Evaluation], probabilities: dict[str, float]) -> dict:
    """The worst annual total cost and autonomy over the scenarios, then each scenario's
    figures, as columns of the results tables (``scenario.<name>.<figure>``)."""
    cols = {"worst_annual_total_cost": max(e.annual_total_cost for e in evals.values()),
            "worst_autonomy": max(e.autonomy for e in evals.values())}
    for name in probabilities:
        e = evals[name]
        cols |= {f"scenario.{name}.annual_total_cost": e.annual_total_cost,
                 f"scenario.{name}.autonomy": e.autonomy, f"scenario.{name}.gap": e.gap}
    return cols


def _expected(values: list, probabilities: dict[str, float]) -> float | None:
    """The probability-weighted sum of one figure's values (in the scenarios' order);
    None when a scenario lacks it."""
    if any(v is None or isinstance(v, str) for v in values):
        return None
    return float(sum(p * float(v) for p, v in zip(probabilities.values(), values,
                                                  strict=True)))


def robustness(long: pd.DataFrame, probabilities: dict[str, float]) -> pd.DataFrame:
    """Per design (``long``: one row per design and scenario, columns ``design``,
    ``scenario``, ``ok`` and the objectives): expected, worst and best of each objective,
    and its regret, the most and the expected amount by which the design misses the best
    design of the same scenario among those judged, and the loosest certified gap of its
    plans. A design without a plan on some scenario gets no expectation and no regret
    (``complete`` False); the best of a scenario is taken over the designs with a plan
    there."""
    names = list(probabilities)
    p = np.array([probabilities[n] for n in names])
    ok = long[long["ok"].astype(bool)]
    rows = []
    for design in dict.fromkeys(long["design"]):
        done = ok[ok["design"] == design].set_index("scenario")
        row = {"design": design, "complete": all(n in done.index for n in names),
               "scenarios_with_plan": int(sum(n in done.index for n in names)),
               "loosest_gap": float(done["gap"].max()) if "gap" in done and len(done)
               else np.nan}
        for obj in OBJECTIVES:
            best_of = ok.groupby("scenario")[obj].min()
            values = np.array([done[obj].get(n, np.nan) for n in names], dtype=float)
            miss = values - np.array([best_of.get(n, np.nan) for n in names], dtype=float)
            full = row["complete"]
            row[f"expected_{obj}"] = float(p @ values) if full else np.nan
            row[f"worst_{obj}"] = float(np.nanmax(values)) if len(done) else np.nan
            row[f"best_{obj}"] = float(np.nanmin(values)) if len(done) else np.nan
            row[f"max_regret_{obj}"] = float(miss.max()) if full else np.nan
            row[f"expected_regret_{obj}"] = float(p @ miss) if full else np.nan
            if full:
                row[f"worst_scenario_{obj}"] = names[int(np.argmax(values))]
        rows.append(row)
    return pd.DataFrame(rows)
