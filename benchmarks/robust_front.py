"""Does the robust search pay? Compares, in expectation over a scenario set, the front of
``lcen design --scenarios FILE`` with the plain front stressed on the same scenarios.

Usage:
    python benchmarks/robust_front.py --robust ROBUST_DIR --stress STRESS_DIR \
        --scenarios FILE [--out DIR]

``STRESS_DIR`` is ``lcen stress`` of the plain front on a scenario file that holds every
scenario of FILE under the same name with the same changes (it may hold more: only FILE's
are used, with FILE's probabilities). Prints, for every robust front design, whether a
plain front design dominates it in expectation (lower or equal expected annual total cost
and autonomy, one strictly) and by how much (the margin, against the design's certified
gap), and the reverse; writes ``robust-vs-plain.csv`` and
``robust-vs-plain.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from design.bench.front import epsilon_indicator  # noqa: E402
from design.network.builtin import resolve_case  # noqa: E402
from design.report.tables import read_settings, read_table  # noqa: E402
from design.scenarios.robust import robustness  # noqa: E402
from design.scenarios.spec import load_scenarios  # noqa: E402

OBJ = ["annual_total_cost", "autonomy"]


def plain_expectation(stress: Path, probabilities: dict[str, float],
                      changes: dict[str, list]) -> pd.DataFrame:
    """The plain front's designs with a plan on every scenario: expected objectives over
    ``probabilities`` from the stress table (the stress run's scenarios must carry the
    same changes under the same names)."""
    record = json.loads((stress / "stress.json").read_text())
    held = {s["name"]: [{k: v for k, v in c.items() if v is not None}
                        for c in s.get("changes", [])]
            for s in record["scenarios"]["scenarios"]}
    for name, want in changes.items():
        if held.get(name) != want:
            raise SystemExit(f"{stress}: scenario {name!r} is not the same as in the file")
    long = pd.read_csv(stress / "stress.csv")
    table = robustness(long[long["scenario"].isin(probabilities)], probabilities)
    table = table[table["complete"].astype(bool)]
    return pd.DataFrame({"design": table["design"], "front": "plain",
                         "gap": table["loosest_gap"],
                         **{o: table[f"expected_{o}"] for o in OBJ}}).reset_index(drop=True)


#: differences below this share of a figure are rounding, not dominance
TOLERANCE = 1e-6


def dominated_by(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each point, whether some other point is no worse in both and better in one
    (beyond ``TOLERANCE`` of the figure)."""
    out = []
    for x in points:
        tol = TOLERANCE * np.maximum(np.abs(x), 1.0)
        out.append(bool(((others <= x + tol).all(axis=1)
                         & (others < x - tol).any(axis=1)).any()))
    return np.array(out)


def margins(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """For each point, by how much (a share of the point's figures, the smaller of the
    two objectives' improvements) the best other point that dominates it is better; 0
    where none dominates. A margin below the certified gaps is within the figures'
    precision."""
    out = np.zeros(len(points))
    for i, x in enumerate(points):
        better = (others <= x).all(axis=1)
        if better.any():
            share = (x - others[better]) / np.maximum(np.abs(x), 1.0)
            out[i] = float(share.min(axis=1).max())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--robust", required=True, type=Path)
    ap.add_argument("--stress", required=True, type=Path)
    ap.add_argument("--scenarios", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or args.robust
    saved = read_settings(args.robust)
    path = saved.get("case_path")
    case = resolve_case(path if path and Path(path).exists() else saved.get("case", ""))
    scen = load_scenarios(args.scenarios, case)
    changes = {s.name: [c.model_dump(mode="json", exclude_none=True) for c in s.changes]
               for s in scen.spec.scenarios}
    plain = plain_expectation(args.stress, scen.probabilities, changes)
    front = read_table(args.robust / "pareto.csv")
    robust = pd.DataFrame({"design": [f"robust-{i + 1}" for i in range(len(front))],
                           "front": "robust", "gap": front["gap"],
                           **{o: front[o] for o in OBJ}})
    robust["dominated_by_plain"] = dominated_by(robust[OBJ].to_numpy(), plain[OBJ].to_numpy())
    robust["margin"] = margins(robust[OBJ].to_numpy(), plain[OBJ].to_numpy())
    plain["dominated_by_robust"] = dominated_by(plain[OBJ].to_numpy(), robust[OBJ].to_numpy())
    table = pd.concat([robust, plain], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "robust-vs-plain.csv", index=False)
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for name, group, style in (("plain front, stressed", plain, "o"),
                               ("robust front", robust, "s")):
        g = group.sort_values("annual_total_cost")
        ax.plot(g["annual_total_cost"], g["autonomy"], style + "-", ms=5, lw=1, label=name)
    ax.set_xlabel("expected annual total cost [EUR/a]")
    ax.set_ylabel("expected autonomy A [EUR/a]")
    ax.set_title(f"In expectation over {', '.join(scen.names)}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "robust-vs-plain.png", dpi=120)
    beyond = robust["dominated_by_plain"] & (robust["margin"] > robust["gap"])
    eps_robust = epsilon_indicator(robust[OBJ].to_numpy(), plain[OBJ].to_numpy())
    eps_plain = epsilon_indicator(plain[OBJ].to_numpy(), robust[OBJ].to_numpy())
    print(f"robust front: {len(robust)} designs, "
          f"{int(robust['dominated_by_plain'].sum())} dominated in expectation by a plain "
          f"front design ({int(beyond.sum())} by more than their certified gap; largest "
          f"margin {robust['margin'].max():.2%}); plain front: {len(plain)} designs with a "
          f"plan on every scenario, {int(plain['dominated_by_robust'].sum())} dominated by "
          "a robust front design")
    print(f"epsilon indicator in expectation (1 = covers every point of the other): "
          f"robust front against the plain one {eps_robust:.4f}, plain against robust "
          f"{eps_plain:.4f}")
    print(f"wrote {out / 'robust-vs-plain.csv'} and {out / 'robust-vs-plain.png'}")


if __name__ == "__main__":
    main()
