"""The results folder of ``lcen stress``: the front under each scenario, the spread of
the picks (or of every design) over the scenarios, summary.md and report.html, all drawn
from stress.csv and robustness.csv."""

from __future__ import annotations

import html
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting  # noqa: E402

from design.network.changes import OPERATIONS  # noqa: E402
from design.report.html import STYLE, html_figure, html_table  # noqa: E402
from design.report.summary import markdown_table  # noqa: E402

FIGURES = {
    "fronts-by-scenario.png": "every stressed design under each scenario (annual total cost "
                              "against autonomy A); the line joins the designs no other "
                              "beats on that scenario",
    "spread.png": "each pick (or design) over the scenarios: one marker per scenario, the "
                  "star at its expectation",
}
MARKERS = "osD^vP*X<>"


def _nondominated(points: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both (minimised) columns, by the
    first column."""
    keep = NonDominatedSorting().do(points, only_non_dominated_front=True)
    return np.array(sorted(keep, key=lambda i: points[i, 0]), dtype=int)


def draw_fronts(long: pd.DataFrame, path: Path) -> bool:
    """fronts-by-scenario.png; False when no evaluation has a plan."""
    ok = long[long["ok"].astype(bool)]
    if ok.empty:
        return False
    fig, ax = plt.subplots(figsize=(8, 5.5))
    colours = plt.get_cmap("tab10")
    for i, (scenario, group) in enumerate(ok.groupby("scenario", sort=False)):
        F = group[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
        colour = colours(i % 10)
        ax.scatter(F[:, 0], F[:, 1], s=14, color=colour, alpha=0.6)
        front = F[_nondominated(F)]
        p = float(group["probability"].iloc[0])
        ax.plot(front[:, 0], front[:, 1], "-", lw=1.2, color=colour,
                label=f"{scenario} (p = {p:g})")
    ax.set_xlabel("annual total cost [EUR/a]")
    ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
    ax.set_title("The stressed designs under each scenario")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def draw_spread(long: pd.DataFrame, robust: pd.DataFrame, path: Path) -> bool:
    """spread.png: the picks (every design when none is a pick) over the scenarios."""
    shown = robust[robust["pick"].notna()] if robust["pick"].notna().any() else robust
    ok = long[long["ok"].astype(bool)]
    if ok.empty or shown.empty:
        return False
    scenarios = list(dict.fromkeys(long["scenario"]))
    fig, ax = plt.subplots(figsize=(10, 5.5))
    colours = plt.get_cmap("tab10")
    for i, r in enumerate(shown.itertuples()):
        mine = ok[ok["design"] == r.design]
        colour = colours(i % 10)
        name = r.design + (f" ({r.pick})" if isinstance(r.pick, str) else "")
        for s in mine.itertuples():
            ax.scatter(s.annual_total_cost, s.autonomy, color=colour, s=28,
                       marker=MARKERS[scenarios.index(s.scenario) % len(MARKERS)])
        if not np.isnan(r.expected_annual_total_cost):
            ax.scatter(r.expected_annual_total_cost, r.expected_autonomy, color=colour,
                       marker="*", s=160, edgecolor="black", label=name)
        ax.scatter(r.run_annual_total_cost, r.run_autonomy, color=colour, marker="+", s=60)
    for k, s in enumerate(scenarios):
        ax.scatter([], [], color="grey", marker=MARKERS[k % len(MARKERS)], label=s)
    ax.scatter([], [], color="grey", marker="+", label="the design run's figure")
    ax.set_xlabel("annual total cost [EUR/a]")
    ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
    ax.set_title("Spread over the scenarios (star: expectation)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def _n(v, spec: str = ",.0f") -> str:
    return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else format(v, spec)


def scenario_rows(record: dict) -> list[list[str]]:
    """One row per scenario: name, probability, description, changes."""
    rows = []
    for s in record["scenarios"]["scenarios"]:
        changes = "; ".join(
            f"{c['path']} " + next(f"{k} {c[k]}" for k in OPERATIONS
                                   if c.get(k) is not None)
            for c in s.get("changes", [])) or "none"
        rows.append([s["name"], f"{s['probability']:g}", s.get("description", ""), changes])
    return rows


def robustness_rows(robust: pd.DataFrame) -> list[list[str]]:
    """The designs by expected annual total cost: their figures over the scenarios."""
    table = robust.sort_values(["expected_annual_total_cost", "design"], na_position="last")
    rows = []
    for r in table.itertuples():
        worst = getattr(r, "worst_scenario_annual_total_cost", None)
        rows.append([r.design, r.pick if isinstance(r.pick, str) else "", f"{r.W:.2f}",
                     _n(r.run_annual_total_cost), _n(r.expected_annual_total_cost),
                     _n(r.worst_annual_total_cost)
                     + (f" ({worst})" if isinstance(worst, str) else ""),
                     _n(r.max_regret_annual_total_cost), _n(r.run_autonomy),
                     _n(r.expected_autonomy), _n(r.worst_autonomy),
                     _n(r.max_regret_autonomy),
                     f"{r.scenarios_with_plan}", _n(r.loosest_gap, ".2%")])
    return rows


HEAD = ["design", "pick", "W", "run's cost", "expected cost", "worst cost (scenario)",
        "max regret, cost", "run's A", "expected A", "worst A", "max regret, A",
        "scenarios with a plan", "loosest gap"]


def findings(robust: pd.DataFrame) -> list[str]:
    """The designs a reader looks for first: least expected cost, least worst cost, least
    maximum regret (of cost), each among the designs with a plan on every scenario."""
    full = robust[robust["complete"].astype(bool)]
    if full.empty:
        return ["No design has a plan on every scenario."]
    lines = []
    for column, what in (("expected_annual_total_cost", "least expected annual total cost"),
                         ("worst_annual_total_cost", "least worst-case annual total cost"),
                         ("max_regret_annual_total_cost", "least maximum regret of cost")):
        r = full.loc[full[column].idxmin()]
        pick = f" ({r['pick']})" if isinstance(r["pick"], str) else ""
        lines.append(f"{what}: {r['design']}{pick}, {r[column]:,.0f} EUR/a")
    return lines


def caveats(long: pd.DataFrame, target: float) -> list[str]:
    """What a reader must know before trusting the tables: which evaluations are the
    run's own, evaluations without a plan, and plans certified above the target gap."""
    notes = []
    if "from_run" in long:
        own = long[long["from_run"].fillna(False).astype(bool)]
        if len(own):
            notes.append(f"{len(own)} evaluations are the design run's own, not solved "
                         f"again: on {', '.join(sorted(own['scenario'].unique()))} the case "
                         "is the run's, and the run certified those designs within "
                         f"{target:.1%} (their seconds are the run's).")
    failed = long[~long["ok"].astype(bool)]
    if len(failed):
        notes.append(f"{len(failed)} evaluations ended without a plan (see stress.csv's "
                     "error column); their designs have no expectation.")
    loose = long[long["ok"].astype(bool) & (long["gap"].isna() | (long["gap"] > target))]
    if len(loose):
        worst = loose.loc[loose["gap"].fillna(1.0).idxmax()]
        notes.append(f"{len(loose)} evaluations have a plan but ended above the target gap "
                     f"of {target:.1%} (loosest: {worst['design']} on {worst['scenario']}, "
                     f"{_n(worst['gap'], '.1%')}): their figures are those of a feasible "
                     "plan, an upper bound of what the design achieves there.")
    return notes


def write_stress_report(out: Path) -> None:
    """Figures, summary.md and report.html of a stress folder."""
    long = pd.read_csv(out / "stress.csv")
    robust = pd.read_csv(out / "robustness.csv")
    record = json.loads((out / "stress.json").read_text())
    drawn = {name: ok for name, ok in (
        ("fronts-by-scenario.png", draw_fronts(long, out / "fronts-by-scenario.png")),
        ("spread.png", draw_spread(long, robust, out / "spread.png")))}
    title = f"Stress of {Path(record['source']).name} under {record['scenarios']['name']}"
    intro = (f"{len(robust)} designs of {record['source']} (case {record['case']}) solved on "
             f"{len(record['scenarios']['scenarios'])} scenarios of "
             f"{record['scenarios']['file']}, each as the design run certified its front "
             f"(method {record['operation']['method']}, gap "
             f"{record['operation']['dw']['gap']:.1%} within "
             f"{record['operation']['dw']['time_limit']:g} s). "
             "Costs and A in EUR/a; regret: how much more a design costs on a scenario than "
             "the best stressed design of that scenario.")
    notes = caveats(long, record["operation"]["dw"]["gap"])
    lines = [f"# {title}", "", intro, "", "## Scenarios", ""]
    lines += markdown_table(["scenario", "probability", "description", "changes"],
                            scenario_rows(record))
    lines += ["", "## Findings", "", *[f"- {f}" for f in findings(robust)], ""]
    lines += [x for note in notes for x in (note, "")]
    lines += ["## Designs over the scenarios", ""]
    lines += markdown_table(HEAD, robustness_rows(robust))
    lines += ["", "Figures: " + ", ".join(f"`{n}`" for n, ok in drawn.items() if ok) + "."]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p>{html.escape(intro)}</p>",
             "<h2>Scenarios</h2>",
             html_table(["scenario", "probability", "description", "changes"],
                        scenario_rows(record)),
             "<h2>Findings</h2><ul>",
             *[f"<li>{html.escape(f)}</li>" for f in findings(robust)], "</ul>",
             *[f"<p>{html.escape(note)}</p>" for note in notes],
             "<h2>Designs over the scenarios</h2>", html_table(HEAD, robustness_rows(robust)),
             "<h2>Figures</h2>",
             *[html_figure(out / n, FIGURES[n]) for n, ok in drawn.items() if ok]]
    (out / "report.html").write_text(
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
