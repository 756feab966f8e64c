"""Blocks by building against the time decomposition and the direct solve.

For each (district, hours): the node decomposition (:func:`decomp.nodes.solve_nodes`:
one block per home and one for the hub), the time decomposition (``solve_dw``, days) and
the direct MILP, each at the same target gap and time limit; one row each with the
certified gap, seconds and peak memory::

    python benchmarks/node_blocks.py --out benchmarks/results/node-blocks \
        --cells district-2:24 district-3:168 district-10:168
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.nodes import solve_nodes
from decomp.solvers import SolveOptions
from design.network.builtin import resolve_case
from design.network.model import EnergyProvider
from design.network.operation_data import prepare


def run_cell(case_name: str, hours: int, gap: float, limit: float) -> list[dict]:
    """The three methods on one district and horizon (W 0.5, the case's default design)."""
    case = resolve_case(case_name)
    provider = EnergyProvider(prepare(case, case.design(), hours), 0.5)
    settings = DWSettings(gap=gap, time_limit=limit)
    rows = []
    t0 = time.perf_counter()
    problem = provider.node_blocks()
    build = time.perf_counter() - t0
    for method, solve in (
            ("node", lambda: solve_nodes(problem, settings)),
            ("time", lambda: solve_dw(provider, settings)),
            ("direct", lambda: solve_direct(provider, SolveOptions(gap=gap,
                                                                   time_limit=limit)))):
        r = solve()
        rows.append({"case": case_name, "hours": hours, "method": method, "status": r.status,
                     "lower_bound": r.bound, "upper_bound": r.objective, "gap": r.gap,
                     "seconds": r.seconds + (build if method == "node" else 0.0),
                     "peak_rss_mb": r.peak_rss_mb,
                     "stop": r.extra.get("stop_reason", "")})
        print(f"  {case_name} {hours} h {method}: {r.status}, gap "
              f"{'-' if r.gap is None else f'{r.gap:.3%}'}, {rows[-1]['seconds']:.1f} s",
              flush=True)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="folder of node-blocks.csv")
    p.add_argument("--cells", nargs="+", default=["district-2:24", "district-3:168"],
                   help="CASE:HOURS pairs")
    p.add_argument("--gap", type=float, default=0.005)
    p.add_argument("--time-limit", type=float, default=300.0)
    args = p.parse_args()
    rows = []
    for cell in args.cells:
        name, hours = cell.split(":")
        rows += run_cell(name, int(hours), args.gap, args.time_limit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(out / "node-blocks.csv", index=False)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
