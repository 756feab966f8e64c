"""summary.md of a results folder: the picks like the source report's Table 1, their cost
breakdown and energy figures, where hydrogen enters the front, and how the run went."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from design.network.results import ENERGY_MEANING, ENERGY_UNITS
from design.report.figures import cost_items
from design.report.tables import component_kinds, read_settings, with_unit

#: figures of a results folder and what each shows (drawn when there is data for them)
FIGURES = {
    "pareto.png": "Pareto front (bars: certified gap) with the picks; other evaluations "
                  "faint",
    "autonomy-cost.png": "marginal cost of autonomy between front neighbours, and the limit "
                         "that chose the autonomy-weighted pick",
    "capacities.png": "capacities (and W) along the front, the picks marked",
    "energy.png": "self-sufficiency, PV self-consumption and curtailment, grid import/export "
                  "along the front",
    "costs.png": "cost breakdown of the picks",
}


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


def run_lines(out: Path, evals: pd.DataFrame, front: pd.DataFrame) -> list[str]:
    """Sentences on the run: evaluations, stop reason, wall time, certificates, hydrogen."""
    n_fail = int((~evals["ok"]).sum()) if "ok" in evals else 0
    lines = [f"{len(evals)} evaluations ({n_fail} failed), {len(front)} non-dominated "
             "designs."]
    if len(evals) and n_fail == len(evals):
        lines.append(f"Every evaluation failed: {failure_reason(evals)}.")
    if "phase" in evals and (evals["phase"] == "refine").any():
        refined = evals[evals["phase"] == "refine"]
        on_front = refined.merge(front[["W", "annual_total_cost", "autonomy"]],
                                 on=["W", "annual_total_cost", "autonomy"]) if len(front) else []
        lines.append(f"Local refinement: {len(refined)} designs between front neighbours, "
                     f"{len(on_front)} of them on the front.")
    saved = read_settings(out)
    if saved.get("scenarios"):
        sc = saved["scenarios"]
        listed = ", ".join(f"{x['name']} {x['probability']:g}" for x in sc["scenarios"])
        lines.append(f"Robust search over the {len(sc['scenarios'])} scenarios of "
                     f"{sc['file']} ({listed}): annual total cost and autonomy are "
                     "expectations, the operation solved per scenario; pareto.csv also "
                     "holds each scenario's figures and the worst case.")
    if saved.get("stopped"):
        lines.append(f"The search stopped: {saved['stopped']}.")
    seconds = saved.get("seconds") or {}
    if seconds:
        parts = ", ".join(f"{k} {v:,.0f} s" for k, v in seconds.items())
        lines.append(f"Wall time: {parts} (seeding: the design MILP on typical periods; "
                     "polish: front designs solved again to the certified gap, and "
                     "designs between front neighbours evaluated with the budget left).")
    if len(front) and "gap" in front:
        gaps = front["gap"]
        lines.append(f"Certified gaps on the front: at most {gaps.max():.2%} "
                     f"({int((gaps <= 0.01 + 1e-12).sum())} of {len(front)} within 1 %).")
    note = hydrogen_note(front, saved.get("component_kinds") or {})
    if note:
        lines.append(note)
    return lines


def failure_reason(evals: pd.DataFrame) -> str:
    """The most frequent first line of the failed evaluations' errors, with its count."""
    if "error" not in evals:
        return "no error recorded"
    first = evals.loc[~evals["ok"], "error"].dropna().astype(str).str.split("\n").str[0]
    if first.empty:
        return "no error recorded"
    counts = first.value_counts()
    return f"{counts.index[0]} ({counts.iloc[0]} of {len(evals)}; see evaluations.parquet)"


def picks_table(picks: pd.DataFrame, kinds: dict[str, str]) -> list[list[str]]:
    """Rows (label, value per pick) of the picks table: objectives, W, gap, capacities."""
    cols = list(picks.columns)  # pick, the capacities, W, ... (Evaluation.row order)
    caps = [c for c in cols[cols.index("pick") + 1:cols.index("W")] if c != "reason"]
    rows = [["annual total cost [EUR/a]", *(f"{v:,.0f}" for v in picks["annual_total_cost"])],
            ["autonomy A [EUR/a]", *(f"{v:,.0f}" for v in picks["autonomy"])],
            ["annualised capex [EUR/a]", *(f"{v:,.0f}" for v in picks["capex"])],
            ["C_op [EUR/a]", *(f"{v:,.0f}" for v in picks["c_op"])],
            ["weight W", *(f"{v:.3f}" for v in picks["W"])],
            ["certified gap", *("-" if pd.isna(v) else f"{v:.3%}" for v in picks["gap"])]]
    rows += [[with_unit(c, kinds), *(f"{v:g}" for v in picks[c])] for c in caps]
    return rows


def _eur(v) -> str:
    return "-" if pd.isna(v) else f"{round(v):,}"  # round() to an int: no "-0"


def cost_table(picks: pd.DataFrame, kinds: dict[str, str] | None = None) -> list[list[str]]:
    """Rows of the cost breakdown per pick (EUR/a); empty when the picks carry none."""
    return [[f"{c.removeprefix('cost.')} [EUR/a]", *(_eur(v) for v in picks[c])]
            for c in cost_items(picks.columns, kinds)]


def energy_table(picks: pd.DataFrame) -> list[list[str]]:
    """Rows of the energy figures per pick (kWh/a, shares in %)."""
    rows = []
    for c, unit in ENERGY_UNITS.items():
        if c not in picks:
            continue
        if unit == "share":
            vals = ["-" if pd.isna(v) else f"{100 * v:.1f} %" for v in picks[c]]
            rows.append([c.replace("_", " "), *vals])
        else:
            vals = ["-" if pd.isna(v) else f"{v:,.0f}" for v in picks[c]]
            rows.append([f"{c.removesuffix('_kwh').replace('_', ' ')} [{unit}]", *vals])
    return rows


def markdown_table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table."""
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(r) + " |" for r in rows])


def basis_line(out: Path) -> str:
    """What was solved and how figures were scaled (settings.json's ``basis``)."""
    basis = read_settings(out).get("basis") or {}
    return basis.get("text") or ("The basis of these figures (hours solved, scaling) was "
                                 "not recorded by the lcen version that wrote this folder.")


def pick_reasons(picks: pd.DataFrame, limit: float | None) -> list[str]:
    """One line per pick: its name and why it was chosen."""
    lines = []
    for _, p in picks.iterrows():
        reason = p.get("reason")
        if reason is None or pd.isna(reason):
            reason = "(reason not recorded by the lcen version that wrote this folder)"
        lines.append(f"**{p['pick']}**: {reason}.")
    if limit is not None:
        lines.append(f"The marginal cost of autonomy is the annual total cost added per EUR/a "
                     f"of autonomy A removed, between front neighbours (`pareto.csv`, "
                     f"`autonomy-cost.png`); the limit {limit:g} is set with "
                     "`--autonomy-cost-limit` (`lcen design` or `lcen report`).")
    return lines


def write_summary(out: Path, evals: pd.DataFrame, front: pd.DataFrame,
                  picks: pd.DataFrame | None) -> None:
    """summary.md: what was solved, the three picks like the source report's Table 1 with
    why each was chosen, their costs and energy, and how the run went."""
    kinds = component_kinds(out)
    saved = read_settings(out)
    title = f"# Design search: {saved.get('case', out.name)}"
    lines = [title, "", basis_line(out), "", *run_lines(out, evals, front), ""]
    if picks is not None and len(picks):
        head = ["", *picks["pick"]]
        lines += ["## Picks", ""]
        lines += [f"- {r}" for r in pick_reasons(picks, saved.get("autonomy_cost_limit"))]
        lines += [""] + markdown_table(head, picks_table(picks, kinds)) + [""]
        costs = cost_table(picks, kinds)
        if costs:
            lines += ["## Cost breakdown of the picks", ""]
            lines += markdown_table(head, costs) + [""]
        energy = energy_table(picks)
        if energy:
            lines += ["## Energy of the picks (a year)", ""]
            lines += markdown_table(head, energy) + [""]
            lines += [f"- {c.replace('_', ' ').removesuffix(' kwh')}: {text}"
                      for c, text in ENERGY_MEANING.items() if c in picks] + [""]
    shown = [f"`{f}`" for f in FIGURES if (out / f).exists()]
    shown += [f"`{p.name}`" for p in sorted(out.glob("storage-*.png"))]
    lines.append(f"Figures: {', '.join(shown)}. Tables: `pareto.csv`, `picks.csv`, "
                 "`evaluations.parquet`, `history.csv`. All in one page: `report.html`.")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
