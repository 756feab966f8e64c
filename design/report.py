"""Results folder of a design search: tables, figures and the summary (redrawable)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from design.case import CAPACITY_UNITS  # noqa: E402
from design.evaluate import Evaluation  # noqa: E402

PICKS = ("cost-weighted", "balanced", "autonomy-weighted")


def pick_designs(front: list[Evaluation]) -> dict[str, Evaluation]:
    """Cheapest, most autonomous, and the one closest to the normalised ideal point."""
    if not front:
        return {}
    F = np.array([[e.annual_total_cost, e.autonomy] for e in front])
    span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    norm = (F - F.min(0)) / span
    return {
        "cost-weighted": front[int(F[:, 0].argmin())],
        "balanced": front[int(np.linalg.norm(norm, axis=1).argmin())],
        "autonomy-weighted": front[int(F[:, 1].argmin())],
    }


def write_results(out: Path, state, settings_dict: dict) -> None:
    """pareto.csv, evaluations.parquet, history.csv, settings.json, picks, figures, summary."""
    out.mkdir(parents=True, exist_ok=True)
    front = state.front()
    columns = list(Evaluation({}, 0.0, ok=False).row())
    table = pd.DataFrame([e.row() for e in front])
    if table.empty:  # nothing evaluated (yet): the header still says what would be there
        table = pd.DataFrame(columns=columns)
    table.to_csv(out / "pareto.csv", index=False)
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
    pd.DataFrame([{"pick": k, **e.row()} for k, e in picks.items()]).to_csv(
        out / "picks.csv", index=False)
    draw(out)


def draw(out: Path) -> None:
    """(Re)draw figures and summary.md from the files in a results folder."""
    evals = pd.read_parquet(out / "evaluations.parquet")
    front = pd.read_csv(out / "pareto.csv")
    picks = pd.read_csv(out / "picks.csv") if (out / "picks.csv").stat().st_size > 1 else None
    if picks is not None and picks.empty:
        picks = None
    ok = evals[evals["ok"]]
    fig, ax = plt.subplots(figsize=(7, 5))
    ax.scatter(ok["annual_total_cost"], ok["autonomy"], s=14, alpha=0.25, color="grey",
               label="all evaluations")
    if len(front):
        front = front.sort_values("annual_total_cost")
        ax.plot(front["annual_total_cost"], front["autonomy"], "-", color="tab:red", lw=1)
        slack = _certified_slack(front)
        ax.errorbar(front["annual_total_cost"], front["autonomy"],
                    xerr=[slack, np.zeros(len(front))], yerr=[slack, np.zeros(len(front))],
                    fmt="o", color="tab:red", ecolor="tab:red", elinewidth=0.8, capsize=2,
                    label="Pareto front (bars: certified gap, EUR/a)")
        for _, r in front.iterrows():
            gap = "" if pd.isna(r.get("gap")) else f", {r['gap']:.1%}"
            ax.annotate(f"W={r['W']:.2f}{gap}", (r["annual_total_cost"], r["autonomy"]),
                        textcoords="offset points", xytext=(5, -9), fontsize=6,
                        color="tab:red")
    if picks is not None:
        for _, p in picks.iterrows():
            ax.annotate(p["pick"], (p["annual_total_cost"], p["autonomy"]),
                        textcoords="offset points", xytext=(6, 6), fontsize=8)
    ax.set_xlabel("annual total cost [EUR/a]")
    ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "pareto.png", dpi=120)
    plt.close(fig)
    kinds = _component_kinds(out)
    for path in sorted(out.glob("levels-*.parquet")):
        name = path.stem.removeprefix("levels-")
        draw_levels(pd.read_parquet(path), out / f"storage-{name}.png",
                    f"storage levels: {name} design", kinds)
    write_summary(out, evals, front, picks)


#: unit of a storage level by component kind (a hot-water tank's level is heat)
LEVEL_UNITS = {"battery": "kWh", "mh_tank": "Nm3", "hot_water_tank": "kWh"}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def draw_levels(levels: pd.DataFrame, path: Path, title: str,
                kinds: dict[str, str] | None = None,
                limits: dict[str, tuple[float, float]] | None = None) -> None:
    """Storage levels over the horizon, one panel per storage, with units, months on the
    time axis (from the hour of the year) and, given ``limits``, the usable range."""
    kinds = kinds or {}
    cols = list(levels.columns)
    fig, axes = plt.subplots(len(cols), 1, figsize=(10, 2.2 * max(1, len(cols))),
                             sharex=True, squeeze=False)
    for ax, col in zip(axes[:, 0], cols, strict=True):
        comp = col.removesuffix(".level")
        unit = LEVEL_UNITS.get(kinds.get(comp, ""), "")
        ax.plot(levels.index, levels[col], lw=0.6)
        if limits and col in limits:
            lo, hi = limits[col]
            ax.axhline(hi, color="grey", ls="--", lw=0.8, label="usable range")
            ax.axhline(lo, color="grey", ls=":", lw=0.8)
            ax.legend(fontsize=7, loc="upper right")
        ax.set_ylabel(f"{comp} [{unit}]" if unit else comp, fontsize=8)
        ax.grid(alpha=0.3)
    hours = np.asarray(levels.index, dtype=float)
    if len(hours) and hours.max() - hours.min() >= 24 * 60:
        starts = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30]) * 24
        keep = (starts >= hours.min()) & (starts <= hours.max())
        axes[-1, 0].set_xticks(starts[keep], [m for m, k in zip(MONTHS, keep, strict=True)
                                              if k])
        axes[-1, 0].set_xlabel("month")
    else:
        axes[-1, 0].set_xlabel("hour of the year")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _component_kinds(out: Path) -> dict[str, str]:
    try:
        return json.loads((out / "settings.json").read_text()).get("component_kinds", {})
    except (OSError, ValueError):
        return {}


def _with_unit(name: str, kinds: dict[str, str]) -> str:
    """A capacity's name with its unit, e.g. ``pv [m2]`` (as given without a known kind)."""
    unit = CAPACITY_UNITS.get(kinds.get(name, ""))
    return f"{name} [{unit}]" if unit else name


def _certified_slack(front: pd.DataFrame) -> np.ndarray:
    """Per front point, how much its weighted operation objective could still improve
    (upper minus lower bound, scaled to a year): no plan of that design at that W beats
    the point by more than this on the weighted sum of C_op and A."""
    if "upper_bound" not in front or "lower_bound" not in front:
        return np.zeros(len(front))
    raw = (front["upper_bound"] - front["lower_bound"]).clip(lower=0).fillna(0.0)
    hours = front["hours"].fillna(8760.0) if "hours" in front else 8760.0
    return (raw * 8760.0 / hours).to_numpy(dtype=float)


def hydrogen_note(front: pd.DataFrame, kinds: dict[str, str]) -> str | None:
    """Where hydrogen (electrolyser, MH tank, fuel cell) enters the front, in numbers;
    None when the case has no hydrogen components."""
    h2 = [c for c, k in kinds.items() if k in ("electrolyser", "mh_tank", "fuel_cell")
          and c in front]
    if not h2 or not len(front):
        return None
    has = (front[h2] > 0).any(axis=1)
    names = ", ".join(h2)
    if not has.any():
        best = front.loc[front["autonomy"].idxmin()]
        return (f"Hydrogen never pays in this case: no front design installs {names}; the "
                f"most autonomous front design reaches A {best['autonomy']:,.0f} EUR/a at "
                f"{best['annual_total_cost']:,.0f} EUR/a without it.")
    with_h2, without = front[has], front[~has]
    line = (f"Hydrogen ({names}) is on {int(has.sum())} of {len(front)} front designs, "
            f"only at A <= {with_h2['autonomy'].max():,.0f} EUR/a and from "
            f"{with_h2['annual_total_cost'].min():,.0f} EUR/a")
    if len(without):
        best = without.loc[without["autonomy"].idxmin()]
        line += (f"; the most autonomous design without it reaches A "
                 f"{best['autonomy']:,.0f} EUR/a at {best['annual_total_cost']:,.0f} EUR/a")
    return line + "."


def write_summary(out: Path, evals: pd.DataFrame, front: pd.DataFrame,
                  picks: pd.DataFrame | None) -> None:
    """summary.md: the three picks like the source report's Table 1, plus run figures."""
    lines = ["# Design search summary", ""]
    n_fail = int((~evals["ok"]).sum())
    lines.append(f"{len(evals)} evaluations ({n_fail} failed), {len(front)} non-dominated "
                 "designs.")
    settings = out / "settings.json"
    saved = json.loads(settings.read_text()) if settings.exists() else {}
    kinds = saved.get("component_kinds") or {}
    stopped = saved.get("stopped")
    if stopped:
        lines.append(f"The search stopped: {stopped}.")
    seconds = saved.get("seconds") or {}
    if seconds:
        parts = ", ".join(f"{k} {v:,.0f} s" for k, v in seconds.items())
        lines.append(f"Wall time: {parts} (seeding: the design MILP on typical periods; "
                     "polish: front designs solved again to the certified gap).")
    if len(front) and "gap" in front:
        gaps = front["gap"]
        lines.append(f"Certified gaps on the front: at most {gaps.max():.2%} "
                     f"({int((gaps <= 0.01 + 1e-12).sum())} of {len(front)} within 1 %).")
    note = hydrogen_note(front, kinds)
    if note:
        lines.append(note)
    lines.append("")
    if picks is not None and len(picks):
        cols = list(picks.columns)  # pick, the capacities, W, ... (Evaluation.row order)
        caps = cols[cols.index("pick") + 1:cols.index("W")]
        head = ["", *picks["pick"]]
        rows = [["annual total cost [EUR/a]", *(f"{v:,.0f}" for v in picks["annual_total_cost"])],
                ["autonomy A [EUR/a]", *(f"{v:,.0f}" for v in picks["autonomy"])],
                ["annualised capex [EUR/a]", *(f"{v:,.0f}" for v in picks["capex"])],
                ["C_op [EUR/a]", *(f"{v:,.0f}" for v in picks["c_op"])],
                ["weight W", *(f"{v:.3f}" for v in picks["W"])],
                ["certified gap", *("-" if pd.isna(v) else f"{v:.3%}" for v in picks["gap"])]]
        rows += [[_with_unit(c, kinds), *(f"{v:g}" for v in picks[c])] for c in caps]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "---|" * len(head))
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
    lines.append("Figures: `pareto.png`, `storage-<pick>.png`. Tables: `pareto.csv`, "
                 "`evaluations.parquet`, `history.csv`.")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
