"""Local refinement: candidates between neighbouring front designs, where the front's
gaps are widest in the measure a reference set judges it by (multiplicative epsilon).

Between two neighbours (cost c1 < c2, autonomy A1 > A2) a design that beats both corners
would need a factor of ``min(c2 / c1, A1 / A2)`` from the front: the gap's width. The
candidate for a gap is its two designs' midpoint (each size and W averaged, snapped to the
design space): the front's own neighbours say where a design between them lies.
"""

from __future__ import annotations

import math

from design.search.evaluate import Candidate, Evaluation
from design.search.space import DesignSpace


def gap_widths(front: list[Evaluation]) -> list[tuple[float, Evaluation, Evaluation]]:
    """(width, cheaper end, dearer end) of each gap between neighbouring front points."""
    pts = sorted((e for e in front if e.ok), key=lambda e: e.annual_total_cost)
    out = []
    for a, b in zip(pts, pts[1:], strict=False):
        width = min(_ratio(b.annual_total_cost, a.annual_total_cost),
                    _ratio(a.autonomy, b.autonomy))
        if math.isfinite(width):
            out.append((float(width), a, b))
    return out


def _ratio(top: float, bottom: float) -> float:
    """top / bottom, infinite when bottom is not positive (a zero autonomy end)."""
    return top / bottom if bottom > 0 else math.inf


def midpoint(space: DesignSpace, a: Evaluation, b: Evaluation) -> Candidate:
    """The design halfway between two evaluated designs (sizes and W), snapped."""
    design = {n: 0.5 * (a.design.get(n, 0.0) + b.design.get(n, 0.0)) for n in space.names}
    weight = 0.5 * (a.weight + b.weight)
    size, w = space.decode(space.encode(design, weight))
    return Candidate(size, w)


def gap_candidates(front: list[Evaluation], space: DesignSpace, n: int,
                   known: set[str], narrowest: float = 1.01) -> list[Candidate]:
    """Midpoints of the ``n`` widest gaps of the front whose midpoint is not in ``known``
    (keys of candidates evaluated or tried); gaps narrower than ``narrowest`` are left
    alone (within the certificates' own gap a midpoint could not be told apart)."""
    out: list[Candidate] = []
    for width, a, b in sorted(gap_widths(front), key=lambda g: -g[0]):
        if len(out) >= n or width < narrowest:
            break
        cand = midpoint(space, a, b)
        if cand.key in known or any(c.key == cand.key for c in out):
            continue
        out.append(cand)
    return out


def widest_gap(front: list[Evaluation]) -> float:
    """The widest gap's width (1.0 for a front of fewer than two points)."""
    return max((w for w, _, _ in gap_widths(front)), default=1.0)

