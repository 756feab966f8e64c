"""report.html: one self-contained page (figures inlined as data URIs, tables as HTML)
that opens in any browser without the rest of the results folder."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from design.report.summary import (
    FIGURES,
    cost_table,
    energy_table,
    picks_table,
    run_lines,
)
from design.report.tables import read_settings, with_units

_STYLE = """
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
figcaption { font-size: 0.85em; color: #555; }
"""


def _table(head: list[str], rows: list[list[str]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(path.name)}" '
            f'src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}: '
            f"{html.escape(caption)}</figcaption></figure>")


def write_html(out: Path, evals: pd.DataFrame, front: pd.DataFrame,
               picks: pd.DataFrame | None) -> Path:
    """Write ``out/report.html`` from the folder's tables and figures; returns its path."""
    saved = read_settings(out)
    kinds = saved.get("component_kinds") or {}
    title = f"lcen design: {saved.get('case', out.name)}"
    parts = [f"<h1>{html.escape(title)}</h1>"]
    parts += [f"<p>{html.escape(line)}</p>" for line in run_lines(out, evals, front)]
    if picks is not None and len(picks):
        head = ["", *picks["pick"]]
        parts += ["<h2>Picks</h2>", _table(head, picks_table(picks, kinds))]
        costs = cost_table(picks, kinds)
        if costs:
            parts += ["<h2>Cost breakdown of the picks</h2>", _table(head, costs)]
        if energy_table(picks):
            parts += ["<h2>Energy of the picks (a year)</h2>", _table(head, energy_table(picks))]
    parts.append("<h2>Figures</h2>")
    for name, caption in FIGURES.items():
        if (out / name).exists():
            parts.append(_figure(out / name, caption))
    for path in sorted(out.glob("storage-*.png")):
        parts.append(_figure(path, "storage levels over the horizon"))
    if len(front):
        shown = with_units(front, kinds)
        cols = [c for c in shown.columns if c not in ("started_at", "worker", "error")]
        parts += ["<h2>Pareto front</h2>",
                  shown[cols].to_html(index=False, float_format=lambda v: f"{v:.4g}",
                                      na_rep="-", border=0)]
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
