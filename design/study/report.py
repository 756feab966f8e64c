"""Study report: every run's front on one figure per base case (coloured by variation),
the picks of every run, and which components enter or leave the picks per variation."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from design.report.picks import choose  # noqa: E402
from design.report.summary import markdown_table  # noqa: E402
from design.report.tables import component_kinds, read_table  # noqa: E402

MARKERS = "osD^vP*X"


def _runs(out: Path) -> pd.DataFrame:
    return pd.DataFrame(json.loads((out / "study.json").read_text())["runs"])


def study_picks(out: Path) -> pd.DataFrame:
    """One row per (run, pick) from each run's picks.csv (runs without results left out)."""
    rows = []
    for run in _runs(out).itertuples():
        path = out / run.folder / "picks.csv"
        if not path.exists() or path.stat().st_size <= 1:
            continue
        picks = read_table(path)
        for _, p in picks.iterrows():
            rows.append({"case": run.case, "variation": run.variation, "seed": run.seed,
                         **p.to_dict()})
    return pd.DataFrame(rows)


def component_changes(out: Path) -> list[str]:
    """Per base case, variation (against the first) and pick: the components the pick
    installs that the base pick does not (+) and the reverse (-), the picks taken from the
    union of each variation's fronts over its seeds."""
    runs = _runs(out)
    lines = []
    for case, runs_c in runs.groupby("case", sort=False):
        variations = list(dict.fromkeys(runs_c["variation"]))
        kinds = component_kinds(out / runs_c.iloc[0]["folder"])
        picks = {v: _pooled_picks(out, runs_c[runs_c["variation"] == v], kinds)
                 for v in variations}
        base = variations[0]
        for v in variations[1:]:
            for name in ("cost-weighted", "balanced", "autonomy-weighted"):
                a, b = picks[base].get(name), picks[v].get(name)
                if a is None or b is None:
                    continue
                added, removed = sorted(b - a), sorted(a - b)
                change = ", ".join([*(f"+ {c}" for c in added), *(f"- {c}" for c in removed)])
                lines.append(f"{case}, {v} vs {base}, {name}: {change or 'same components'}")
    return lines


def _pooled_picks(out: Path, runs: pd.DataFrame, kinds: dict[str, str]) -> dict[str, set]:
    """Installed components of the three picks of the union of the runs' fronts."""
    fronts = [read_table(out / f / "pareto.csv") for f in runs["folder"]
              if (out / f / "pareto.csv").exists()]
    fronts = [f for f in fronts if len(f)]
    if not fronts:
        return {}
    pool = pd.concat(fronts, ignore_index=True)
    F = pool[["annual_total_cost", "autonomy"]].to_numpy(dtype=float)
    keep = [i for i in range(len(F))
            if not ((F <= F[i]).all(axis=1) & (F < F[i]).any(axis=1)).any()]
    front = pool.iloc[keep].sort_values("annual_total_cost").reset_index(drop=True)
    index = {k: p.index for k, p in choose(front[["annual_total_cost", "autonomy"]]
                                           .to_numpy(dtype=float)).items()}
    comps = [c for c in kinds if c in front]
    return {k: {c for c in comps if front.loc[i, c] > 0} for k, i in index.items()}


def draw_fronts(out: Path) -> list[Path]:
    """fronts-<case>.png: every run's front, colour = variation, marker = seed."""
    runs = _runs(out)
    paths = []
    for case, runs_c in runs.groupby("case", sort=False):
        fig, ax = plt.subplots(figsize=(7.5, 5))
        variations = list(dict.fromkeys(runs_c["variation"]))
        seeds = list(dict.fromkeys(runs_c["seed"]))
        colours = plt.get_cmap("tab10")
        for run in runs_c.itertuples():
            path = out / run.folder / "pareto.csv"
            if not path.exists():
                continue
            front = read_table(path).sort_values("annual_total_cost")
            if not len(front):
                continue
            ax.plot(front["annual_total_cost"], front["autonomy"], "-",
                    marker=MARKERS[seeds.index(run.seed) % len(MARKERS)], ms=4, lw=0.8,
                    color=colours(variations.index(run.variation) % 10),
                    label=f"{run.variation}, seed {run.seed}")
        ax.set_xlabel("annual total cost [EUR/a]")
        ax.set_ylabel("autonomy A [EUR/a] (lower = more autonomous)")
        ax.set_title(f"{case}: Pareto fronts by variation")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"fronts-{case}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def write_study_report(out: Path) -> None:
    """fronts-<case>.png, picks.csv and summary.md of a study folder."""
    figures = draw_fronts(out)
    picks = study_picks(out)
    picks.to_csv(out / "picks.csv", index=False)
    lines = [f"# Study {out.name}", ""]
    runs_path = out / "runs.csv"
    if runs_path.exists():
        runs = pd.read_csv(runs_path)
        cols = [c for c in ("case", "variation", "seed", "status", "generations",
                            "evaluations", "front", "seconds", "error") if c in runs]
        lines += ["## Runs", ""]
        lines += markdown_table(cols, [["-" if pd.isna(v) else
                                        (f"{v:.0f}" if isinstance(v, float) else str(v))
                                        for v in r] for r in runs[cols].itertuples(index=False)])
        lines.append("")
    if len(picks):
        lines += ["## Picks of every run", ""]
        head = ["case", "variation", "seed", "pick", "annual total cost [EUR/a]",
                "A [EUR/a]", "W", "installed"]
        comps = [c for c in component_kinds(out / _runs(out).iloc[0]["folder"]) if c in picks]
        rows = [[str(r["case"]), str(r["variation"]), str(r["seed"]), str(r["pick"]),
                 f"{r['annual_total_cost']:,.0f}", f"{r['autonomy']:,.0f}", f"{r['W']:.2f}",
                 ", ".join(f"{c} {r[c]:g}" for c in comps if r[c] > 0) or "nothing"]
                for _, r in picks.iterrows()]
        lines += markdown_table(head, rows) + [""]
    changes = component_changes(out)
    if changes:
        lines += ["## Components entering (+) or leaving (-) the picks", "",
                  *[f"- {c}" for c in changes], ""]
    lines.append("Figures: " + ", ".join(f"`{p.name}`" for p in figures) + ". Each run's "
                 "own results folder holds its front, figures and report.html.")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
