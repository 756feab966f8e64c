"""report.html: one self-contained page (figures inlined as data URIs, tables as HTML)
that opens in any browser without the rest of the results folder."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from design.report.summary import (
    FIGURES,
    basis_line,
    cost_table,
    energy_table,
    pick_reasons,
    picks_table,
    run_lines,
)
from design.report.tables import read_settings, with_unit

STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.8em; width: 100%;
        table-layout: auto; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: right; }
th { background: #f3f3f3; font-weight: 600; overflow-wrap: anywhere; }
th:first-child, td:first-child { text-align: left; }
p.basis { background: #fff7e0; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
figcaption { font-size: 0.85em; color: #555; }
"""


def html_table(head: list[str], rows: list[list[str]]) -> str:
    """An HTML table of text cells."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def html_figure(path: Path, caption: str) -> str:
    """A PNG inlined as a data URI, with its caption."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(path.name)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}: '
            f"{html.escape(caption)}</figcaption></figure>")


def _num(v, spec: str = ",.0f") -> str:
    return "-" if v is None or pd.isna(v) else format(v, spec)


def front_rows(front: pd.DataFrame, kinds: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    """The front as a reader's table: objectives and costs in EUR/a with thousands
    separators, the marginal cost of autonomy, W, the certified gap and the capacities
    with their units; the solve records stay in the CSV and Parquet tables."""
    front = front.sort_values("annual_total_cost")
    comps = [c for c in kinds if c in front]
    cols = [("annual_total_cost", "annual total cost [EUR/a]", ",.0f"),
            ("autonomy", "autonomy A [EUR/a]", ",.0f"),
            ("marginal_cost_of_autonomy", "marginal cost of autonomy [EUR/a per EUR/a]",
             ",.2f"),
            ("capex", "annualised capex [EUR/a]", ",.0f"),
            ("c_op", "C_op [EUR/a]", ",.0f"),
            ("pv_curtailment", "PV curtailed [%]", ".1%"),
            ("W", "W [-]", ".3f"), ("gap", "certified gap [%]", ".2%")]
    cols = [c for c in cols if c[0] in front]
    head = ["#", *(label for _, label, _ in cols), *(with_unit(c, kinds) for c in comps)]
    rows = []
    for i, (_, r) in enumerate(front.iterrows(), start=1):
        cells = [str(i), *(_num(r[c], spec) for c, _, spec in cols)]
        cells += [_num(r[c], ",.4g") for c in comps]
        rows.append([x.replace("%", " %") if x.endswith("%") else x for x in cells])
    return head, rows


def write_html(out: Path, evals: pd.DataFrame, front: pd.DataFrame,
               picks: pd.DataFrame | None) -> Path:
    """Write ``out/report.html`` from the folder's tables and figures; returns its path."""
    saved = read_settings(out)
    kinds = saved.get("component_kinds") or {}
    title = f"lcen design: {saved.get('case', out.name)}"
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p class='basis'>{html.escape(basis_line(out))}</p>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in run_lines(out, evals, front)]
    if picks is not None and len(picks):
        head = ["", *picks["pick"]]
        reasons = pick_reasons(picks, saved.get("autonomy_cost_limit"))
        parts += ["<h2>Picks</h2>", "<ul>"]
        parts += [f"<li>{html.escape(r.replace('**', '').replace('`', ''))}</li>" for r in reasons]
        parts += ["</ul>", html_table(head, picks_table(picks, kinds))]
        costs = cost_table(picks, kinds)
        if costs:
            parts += ["<h2>Cost breakdown of the picks</h2>", html_table(head, costs)]
        if energy_table(picks):
            parts += ["<h2>Energy of the picks (a year)</h2>",
                      html_table(head, energy_table(picks))]
    parts.append("<h2>Figures</h2>")
    for name, caption in FIGURES.items():
        if (out / name).exists():
            parts.append(html_figure(out / name, caption))
    for path in sorted(out.glob("storage-*.png")):
        parts.append(html_figure(path, "storage levels over the horizon"))
    if len(front):
        head, rows = front_rows(front, kinds)
        parts += ["<h2>Pareto front</h2>",
                  "<p>Every front design, cheapest first (all columns, the solve records "
                  "included, are in <code>pareto.csv</code> and "
                  "<code>evaluations.parquet</code>).</p>", html_table(head, rows)]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{STYLE}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
