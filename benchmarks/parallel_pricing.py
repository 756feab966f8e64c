"""Does parallel pricing pay? One pricing round's time with 1 and K worker processes.

Usage: ``python benchmarks/parallel_pricing.py --case district-10 --horizon 336
[--workers 1 2]``. Runs dw with a target it cannot reach in two iterations (so both price)
and reports pricing seconds per round from the log.
"""

from __future__ import annotations

import argparse

from decomp.dw import DWSettings
from design.network.builtin import resolve_case
from design.network.operate import OperationSettings, operate


def main() -> None:
    """Time pricing rounds for each worker count."""
    p = argparse.ArgumentParser()
    p.add_argument("--case", default="district-10")
    p.add_argument("--horizon", type=int, default=336)
    p.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = p.parse_args()
    case = resolve_case(args.case)
    for k in args.workers:
        dw = DWSettings(gap=1e-9, max_iterations=2, heuristics=("pass",), workers=k)
        out = operate(case, case.design(), OperationSettings(method="dw", horizon=args.horizon,
                                                             dw=dw))
        rounds = [r["pricing_seconds"] for r in out.result.log if r["pricing_seconds"] > 0]
        print(f"workers {k}: pricing rounds {[round(x, 1) for x in rounds]} s, "
              f"{out.result.extra['intervals']} intervals, LB {out.result.bound:.6g}")


if __name__ == "__main__":
    main()
