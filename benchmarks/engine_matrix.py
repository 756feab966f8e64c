"""The engine's fixed benchmark matrix: one table (gap, seconds, peak memory per cell).

Every setting and heuristic the engine keeps must show a cell of this matrix where it
pays; a change to ``decomp/`` is judged by running the matrix on it and on a baseline
commit, side by side::

    python benchmarks/engine_matrix.py run --out benchmarks/results/engine-matrix/HEAD
    git worktree add /tmp/base f188b59
    python benchmarks/engine_matrix.py run --src /tmp/base \
        --out benchmarks/results/engine-matrix/f188b59
    python benchmarks/engine_matrix.py compare benchmarks/results/engine-matrix/f188b59 \
        benchmarks/results/engine-matrix/HEAD

``--more`` adds the ablation cells (each remaining setting or heuristic changed where it
should pay) and a network case lcen was not built on. Each cell runs ``lcen`` from
``--src`` (default: this checkout) in a child process under
``/usr/bin/time -v`` (peak memory: the largest resident set of the process tree's
members). ``--cells`` picks a subset; ``--engine KEY=VALUE`` passes engine settings to
the cells that solve operations (a setting's cell with and without it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Cell:
    """One cell: the ``lcen`` arguments (``{out}`` is the cell's folder) and its limit."""

    name: str
    args: tuple[str, ...]
    limit: float
    engine: bool = True


CELLS = (
    *(Cell(f"reference-W{w}", ("operate", "reference", "--method", "dw", "--weight", str(w),
                               "--gap", "0.005", "--time-limit", "180", "--out", "{out}"), 180)
      for w in (0.2, 0.5, 0.8)),
    # reference point 24: the hydrogen end of the front (a seasonal store to be planned);
    # 240 s as the reference set's evaluations (at 120 s the LP and the pass leave the
    # boundary MILP no time)
    Cell("reference-H2-W0.02", ("operate", "reference", "--method", "dw", "--weight", "0.02",
                                "--design", "pv=400", "battery=191.66", "electrolyser=0.8009",
                                "mh_tank=300", "fuel_cell=1.9798", "heat_pump=60",
                                "hot_water_tank=6", "--gap", "0.01", "--time-limit", "240",
                                "--out", "{out}"), 240),
    Cell("throughput", ("bench", "scaling", "--workers", "2", "--candidates", "8",
                        "--candidate-horizon", "8760", "--horizons", "--nodes",
                        "--time-limit", "120", "--gap", "0.01", "--orders", "longest-first",
                        "--out", "{out}"), 120, engine=False),
    Cell("district-10-2160h", ("operate", "district-10", "--method", "dw", "--weight", "0.5",
                               "--horizon", "2160", "--gap", "0.01", "--time-limit", "600",
                               "--workers", "2", "--out", "{out}"), 600),
    Cell("small-96h-vs-direct", ("bench", "operation", "small", "--horizon", "96",
                                  "--methods", "direct", "dw", "--gap", "0.001",
                                  "--time-limit", "120", "--out", "{out}"), 120,
         engine=False),
    Cell("design-default", ("design", "--out", "{out}"), 1080, engine=False),
)


def _ablation(base: str, *pairs: str) -> Cell:
    """``base``'s cell with engine settings ``pairs``: where a setting or heuristic pays."""
    cell = next(c for c in CELLS if c.name == base)
    return Cell(f"{base} {' '.join(pairs)}", (*cell.args, "--engine", *pairs), cell.limit)


#: each remaining part switched off (or changed) in the cell where it should pay
ABLATIONS = (
    _ablation("reference-W0.5", "heuristics=pass"),
    _ablation("reference-W0.5", "heuristics=pass,windows"),
    _ablation("reference-H2-W0.02", "heuristics=pass,windows"),
    _ablation("reference-W0.5", "stabilisation=none"),
    _ablation("reference-W0.5", "first_prices=master"),
    _ablation("reference-W0.2", "first_prices=master"),
    _ablation("reference-W0.8", "first_prices=master"),
    _ablation("district-10-2160h", "lp_aggregate=None"),
    _ablation("district-10-2160h", "priced_states=all"),
    _ablation("district-10-2160h", "stabilisation=none"),
)

#: a network case lcen was not built on (``cases/networks/generate.py``)
OWN_CASES = (
    Cell("coast-6-2160h", ("operate", "cases/networks/coast-6/case.yaml", "--method", "dw",
                           "--horizon", "2160", "--gap", "0.01", "--time-limit", "600",
                           "--workers", "2", "--out", "{out}"), 600),
)


def _max_rss_mb(stderr: str) -> float | None:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stderr)
    return None if m is None else int(m.group(1)) / 1024


def _run(cell: Cell, src: Path, out: Path, engine: list[str]) -> dict:
    folder = out / cell.name
    args = [a.replace("{out}", str(folder)) for a in cell.args]
    if engine and cell.engine:
        args += ["--engine", *engine]
    if cell.name == "design-default":
        args.append("--overwrite")
    code = "import sys; sys.argv[0] = 'lcen'; from design.cli.commands import main; main()"
    env = dict(os.environ, PYTHONPATH=str(src), PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code, *args],
                          cwd=src, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stdout.txt").write_text(proc.stdout)
    (folder / "stderr.txt").write_text(proc.stderr)
    row = {"cell": cell.name, "rc": proc.returncode, "wall_s": wall, "limit_s": cell.limit,
           "max_rss_mb": _max_rss_mb(proc.stderr)}
    row.update(_figures(cell, folder))
    return row


def _figures(cell: Cell, folder: Path) -> dict:
    """The cell's own figures read back from what lcen wrote."""
    if cell.args[0] == "operate":
        path = folder / "summary.json"
        if not path.exists():
            return {}
        s = json.loads(path.read_text())
        return {"gap": s.get("gap"), "seconds": s.get("seconds"), "status": s.get("status"),
                "overrun": s["seconds"] / cell.limit if s.get("seconds") else None}
    if cell.name == "throughput":
        path = folder / "throughput.csv"
        if not path.exists():
            return {}
        t = pd.read_csv(path).iloc[-1]
        out = {"seconds": float(t["seconds"]), "status": f"{t['failed']} failed",
               "per_minute": float(t["evaluations_per_minute"])}
        timeline = folder / "throughput-timeline.csv"
        if timeline.exists():
            c = pd.read_csv(timeline)
            # each candidate's seconds include its model build, outside dw's limit
            dw_s = c["seconds"] - c["build_seconds"].fillna(0.0)
            out |= {"gap": float(c["gap"].max()), "overrun": float(dw_s.max()) / cell.limit,
                    "front_within_1pct": int((c["gap"] <= 0.01 + 1e-9).sum())}
        return out
    if cell.name.startswith("small"):
        path = folder / "operation.csv"
        if not path.exists():
            return {}
        t = pd.read_csv(path).set_index("method")
        direct, dw = t.loc["direct"], t.loc["dw"]
        exact = float(direct["upper_bound"])
        tol = 1e-6 * max(1.0, abs(exact))
        ordered = dw["lower_bound"] <= exact + tol and exact <= dw["upper_bound"] + tol
        return {"gap": float(dw["gap"]), "seconds": float(dw["seconds"]),
                "status": "LB <= direct <= UB" if ordered else "BOUNDS VIOLATED",
                "overrun": float(dw["seconds"]) / cell.limit}
    if cell.name == "design-default":
        return _design_figures(folder)
    return {}


def _design_figures(folder: Path) -> dict:
    path = folder / "settings.json"
    if not path.exists():
        return {}
    s = json.loads(path.read_text())
    seconds = s.get("seconds", {})
    front = pd.read_csv(folder / "pareto.csv", comment="#")
    evaluations = pd.read_parquet(folder / "evaluations.parquet")
    gen = re.search(r"generation (\d+)", s.get("stopped", ""))
    return {"seconds": sum(seconds.values()) if seconds else None,
            "seeding_s": seconds.get("seeding"), "evaluations": len(evaluations),
            "generation": int(gen.group(1)) if gen else None, "front": len(front),
            "front_within_1pct": int((front["gap"] <= 0.01 + 1e-9).sum()),
            "gap": float(front["gap"].max()), "status": s.get("stopped")}


def cmd_run(args: argparse.Namespace) -> None:
    src = Path(args.src).resolve()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    every = CELLS + ABLATIONS + OWN_CASES
    pool = every if args.more or args.cells else CELLS
    chosen = [c for c in pool if not args.cells or c.name in args.cells]
    unknown = set(args.cells or ()) - {c.name for c in every}
    if unknown:
        raise SystemExit(f"unknown cells {sorted(unknown)}; cells: {[c.name for c in every]}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src,
                            capture_output=True, text=True).stdout.strip()
    table = out / "matrix.csv"
    rows = pd.read_csv(table).to_dict("records") if table.exists() else []
    for cell in chosen:
        print(f"[{time.strftime('%H:%M:%S')}] {cell.name} ...", flush=True)
        row = _run(cell, src, out, args.engine or []) | {"commit": commit,
                                                         "engine": " ".join(args.engine or [])}
        rows = [r for r in rows if r["cell"] != cell.name] + [row]
        pd.DataFrame(rows).to_csv(table, index=False)
        print("   " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                for k, v in row.items() if k != "cell"), flush=True)


def cmd_compare(args: argparse.Namespace) -> None:
    tables = [pd.read_csv(Path(f) / "matrix.csv").set_index("cell") for f in args.folders]
    cols = ["gap", "seconds", "max_rss_mb", "overrun", "per_minute", "seeding_s",
            "evaluations", "generation", "front_within_1pct"]
    names = [f"{Path(f).name}" for f in args.folders]
    lines = ["| cell | figure | " + " | ".join(names) + " |",
             "|---|---|" + "---:|" * len(names)]
    cells = list(dict.fromkeys(c for t in tables for c in t.index))
    for cell in cells:
        for col in cols:
            values = [t.loc[cell, col] if cell in t.index and col in t.columns else None
                      for t in tables]
            if all(v is None or pd.isna(v) for v in values):
                continue
            fmt = ("{:.3%}" if col == "gap" else "{:.2f}" if col in ("overrun", "per_minute")
                   else "{:.0f}")
            text = ["-" if v is None or pd.isna(v) else fmt.format(v) for v in values]
            lines.append(f"| {cell} | {col} | " + " | ".join(text) + " |")
    print("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the matrix (or --cells) and write matrix.csv")
    r.add_argument("--src", default=str(ROOT), help="checkout whose lcen runs the cells")
    r.add_argument("--out", required=True, help="folder of matrix.csv and the cells' output")
    r.add_argument("--cells", nargs="*", default=None,
                   help=f"cells to run (default all: {', '.join(c.name for c in CELLS)})")
    r.add_argument("--more", action="store_true",
                   help="also the ablation cells and the network case lcen was not built on")
    r.add_argument("--engine", nargs="*", default=None, metavar="KEY=VALUE",
                   help="engine settings for the cells that solve operations")
    r.set_defaults(func=cmd_run)
    c = sub.add_parser("compare", help="the matrices of several folders side by side")
    c.add_argument("folders", nargs="+")
    c.set_defaults(func=cmd_compare)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
