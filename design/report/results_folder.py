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
    draw_pareto,
)
from design.report.html import write_html
from design.report.summary import write_summary
from design.report.tables import component_kinds, read_table, with_units
from design.search.evaluate import Evaluation

PICKS = ("cost-weighted", "balanced", "autonomy-weighted")


def pick_indices(F: np.ndarray) -> dict[str, int]:
    """Rows of a front's (annual total cost, autonomy) array that are the cheapest, the
    most autonomous, and the one closest to the normalised ideal point."""
    span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    norm = (F - F.min(0)) / span
    return {"cost-weighted": int(F[:, 0].argmin()),
            "balanced": int(np.linalg.norm(norm, axis=1).argmin()),
            "autonomy-weighted": int(F[:, 1].argmin())}


def pick_designs(front: list[Evaluation]) -> dict[str, Evaluation]:
    """Cheapest, most autonomous, and the one closest to the normalised ideal point."""
    if not front:
        return {}
    F = np.array([[e.annual_total_cost, e.autonomy] for e in front])
    return {name: front[i] for name, i in pick_indices(F).items()}


def write_results(out: Path, state, settings_dict: dict, figures: bool = True) -> None:
    """pareto.csv, evaluations.parquet, history.csv, settings.json, picks, figures,
    summary.md and report.html. Capacity columns of the CSV tables carry their units.
    ``figures=False`` leaves the figures as they are (drawing them takes seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    kinds = settings_dict.get("component_kinds") or {}
    front = state.front()
    columns = [*kinds, *Evaluation({}, 0.0, ok=False).row()]
    table = pd.DataFrame([e.row() for e in front])
    if table.empty:  # nothing evaluated (yet): the header still says what would be there
        table = pd.DataFrame(columns=columns)
    with_units(table, kinds).to_csv(out / "pareto.csv", index=False)
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
    picks = pick_designs(front)
    for name, e in picks.items():
        if e.extra.get("levels"):
            pd.DataFrame(e.extra["levels"]).to_parquet(out / f"levels-{name}.parquet")
            (out / f"levels-{name}.json").write_text(json.dumps(e.extra.get("limits", {})))
    pick_table = pd.DataFrame([{"pick": k, **e.row()} for k, e in picks.items()])
    with_units(pick_table, kinds).to_csv(out / "picks.csv", index=False)
    draw(out, figures)


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
    draw_capacities(front, kinds, out / "capacities.png")
    draw_energy(front, out / "energy.png")
    if picks is not None:
        draw_costs(picks, out / "costs.png", kinds)
    for path in sorted(out.glob("levels-*.parquet")):
        name = path.stem.removeprefix("levels-")
        limits = path.with_suffix(".json")
        draw_levels(pd.read_parquet(path), out / f"storage-{name}.png",
                    f"storage levels: {name} design", kinds,
                    json.loads(limits.read_text()) if limits.exists() else None)
