"""Results folder of a design search: tables, figures, summary.md and report.html, all
redrawable from the tables (``lcen report DIR``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from design.report.figures import (
    draw_capacities,
    draw_costs,
    draw_energy,
    draw_levels,
    draw_marginal,
    draw_pareto,
)
from design.report.html import write_html
from design.report.picks import AUTONOMY_COST_LIMIT, choose, marginal_costs
from design.report.summary import write_summary
from design.report.tables import component_kinds, read_settings, read_table, with_units
from design.search.evaluate import Evaluation

#: pareto.csv's column of the marginal cost of autonomy (EUR/a per EUR/a of A removed)
MARGINAL = "marginal_cost_of_autonomy"

def pick_designs(front: list[Evaluation], limit: float = AUTONOMY_COST_LIMIT
                 ) -> dict[str, tuple[Evaluation, str]]:
    """The picks of a front (ordered by annual total cost) with the reason for each."""
    if not front:
        return {}
    F = np.array([[e.annual_total_cost, e.autonomy] for e in front])
    return {name: (front[p.index], p.reason) for name, p in choose(F, limit).items()}


def front_table(front: list[Evaluation], columns: list[str]) -> pd.DataFrame:
    """pareto.csv's rows: the front by annual total cost, with the marginal cost of
    autonomy to each design from its cheaper neighbour."""
    table = pd.DataFrame([e.row() for e in front])
    if table.empty:  # nothing evaluated (yet): the header still says what would be there
        return pd.DataFrame(columns=[*columns, MARGINAL])
    F = table[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    table[MARGINAL] = marginal_costs(F)
    return table


def write_results(out: Path, state, settings_dict: dict, figures: bool = True) -> None:
    """pareto.csv, evaluations.parquet, history.csv, settings.json, picks, figures,
    summary.md and report.html. Capacity columns of the CSV tables carry their units.
    ``figures=False`` leaves the figures as they are (drawing them takes seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = settings_dict.get("component_kinds") or {}
    front = state.front()
    columns = [*kinds, *Evaluation({}, 0.0, ok=False).row()]
    with_units(front_table(front, columns), kinds).to_csv(out / "pareto.csv", index=False)
    records = pd.DataFrame(state.records)
    if records.empty:
        records = pd.DataFrame({"ok": pd.Series(dtype=bool),
                                "annual_total_cost": pd.Series(dtype=float),
                                "autonomy": pd.Series(dtype=float)})
    if "error" in records:
        records["error"] = records["error"].astype("string")
    records.to_parquet(out / "evaluations.parquet", index=False)
    pd.DataFrame(state.history).to_csv(out / "history.csv", index=False)
    ref = None if state.ref_point is None else [float(x) for x in state.ref_point]
    (out / "settings.json").write_text(
        json.dumps({**settings_dict, "hypervolume_reference_point": ref}, indent=2,
                   default=str))
    if getattr(state, "seeds", None):
        pd.DataFrame([{**r["design"], **{k: v for k, v in r.items() if k != "design"}}
                      if r["design"] else {k: v for k, v in r.items() if k != "design"}
                      for r in state.seeds]).to_csv(out / "seeds.csv", index=False)
    limit = settings_dict.get("autonomy_cost_limit", AUTONOMY_COST_LIMIT)
    picks = pick_designs(front, limit)
    for name, (e, _) in picks.items():
        if e.extra.get("levels"):
            pd.DataFrame(e.extra["levels"]).to_parquet(out / f"levels-{name}.parquet")
            (out / f"levels-{name}.json").write_text(json.dumps(
                {"limits": e.extra.get("limits", {}), "design": e.design, "W": e.weight}))
    pick_table = pd.DataFrame([{"pick": k, "reason": why, **e.row()}
                               for k, (e, why) in picks.items()])
    with_units(pick_table, kinds).to_csv(out / "picks.csv", index=False)
    draw(out, figures)


def repick(out: Path, limit: float) -> None:
    """Choose a results folder's picks again from its pareto.csv with another limit on the
    marginal cost of autonomy (``lcen report DIR --autonomy-cost-limit``); storage levels
    saved for a design that is no longer picked are removed with their figure."""
    front = read_table(out / "pareto.csv")
    if not len(front):
        return
    kinds = component_kinds(out)
    picks = choose(front[["annual_total_cost", "autonomy"]].to_numpy(dtype=float), limit)
    table = pd.DataFrame([{"pick": k, "reason": p.reason, **front.iloc[p.index].to_dict()}
                          for k, p in picks.items()]).drop(columns=[MARGINAL], errors="ignore")
    for name, p in picks.items():
        saved = out / f"levels-{name}.json"
        if saved.exists() and not _same_design(json.loads(saved.read_text()),
                                               front.iloc[p.index]):
            for stale in (saved, saved.with_suffix(".parquet"), out / f"storage-{name}.png"):
                stale.unlink(missing_ok=True)
    with_units(table, kinds).to_csv(out / "picks.csv", index=False)
    settings_path = out / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["autonomy_cost_limit"] = limit
    settings_path.write_text(json.dumps(settings, indent=2, default=str))


def _same_design(saved: dict, row: pd.Series) -> bool:
    """Whether saved storage levels belong to the design of a front row."""
    design = saved.get("design")
    if design is None or abs(saved.get("W", -1) - row["W"]) > 1e-9:
        return False
    return all(abs(v - row[k]) <= 1e-9 * max(1.0, abs(v)) for k, v in design.items()
               if k in row.index)


def draw(out: Path, figures: bool = True) -> None:
    """(Re)draw figures (unless ``figures`` is False), summary.md and report.html from the
    files in a results folder."""
    evals = pd.read_parquet(out / "evaluations.parquet")
    front = read_table(out / "pareto.csv")
    picks = read_table(out / "picks.csv") if (out / "picks.csv").stat().st_size > 1 else None
    if picks is not None and picks.empty:
        picks = None
    kinds = component_kinds(out)
    if figures:
        _figures(out, evals, front, picks, kinds)
    write_summary(out, evals, front, picks)
    write_html(out, evals, front, picks)


def _figures(out: Path, evals: pd.DataFrame, front: pd.DataFrame, picks: pd.DataFrame | None,
             kinds: dict) -> None:
    draw_pareto(evals, front, picks, out / "pareto.png")
    draw_marginal(front, read_settings(out).get("autonomy_cost_limit", AUTONOMY_COST_LIMIT),
                  out / "autonomy-cost.png", picks)
    draw_capacities(front, kinds, out / "capacities.png", picks)
    draw_energy(front, out / "energy.png")
    if picks is not None:
        draw_costs(picks, out / "costs.png", kinds)
    start = read_settings(out).get("basis", {}).get("first_hour", "2010-01-01 00:00")
    for path in sorted(out.glob("levels-*.parquet")):
        name = path.stem.removeprefix("levels-")
        saved = path.with_suffix(".json")
        limits = json.loads(saved.read_text()) if saved.exists() else {}
        limits = limits.get("limits", limits)  # older folders saved the limits alone
        draw_levels(pd.read_parquet(path), out / f"storage-{name}.png",
                    f"storage levels: {name} design", kinds, limits, start=start)
