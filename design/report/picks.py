"""The three designs a results folder recommends, each with the reason it was chosen.

Along a front ordered from the cheapest design to the most autonomous one, the *marginal
cost of autonomy* between two neighbours is the annual total cost added per EUR/a of
autonomy A removed (EUR/a per EUR/a). The picks:

* **cost-weighted**: the cheapest design (lowest annual total cost).
* **autonomy-weighted**: the most autonomous design reached before the marginal cost of
  autonomy exceeds ``limit``. It is read on the front's lower convex hull, whose marginal
  costs rise steadily (a design below the hull's segments would be a cheaper way to the
  same autonomy than its neighbours); the raw neighbour-to-neighbour figures are noisy.
  The everything-at-maximum design at the front's far end is chosen only when its
  autonomy is worth the limit.
* **balanced**: the knee of the front between those two: the design farthest from the
  straight line joining them, both objectives scaled to that stretch of the front.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PICKS = ("cost-weighted", "balanced", "autonomy-weighted")

#: default limit on the marginal cost of autonomy (EUR/a of annual total cost per EUR/a of
#: autonomy A) for the autonomy-weighted pick: autonomy is bought while each EUR/a of
#: grid exchange avoided costs at most this much more a year
AUTONOMY_COST_LIMIT = 2.0


@dataclass(frozen=True)
class Pick:
    """A chosen front design: its position in the cost-ordered front and why."""

    name: str
    index: int
    reason: str


def marginal_costs(F: np.ndarray) -> np.ndarray:
    """Marginal cost of autonomy of each point of a front ordered by annual total cost
    (column 0; autonomy A in column 1): the cost added from its cheaper neighbour per
    EUR/a of A removed. NaN for the first point and where A does not fall."""
    out = np.full(len(F), np.nan)
    if len(F) < 2:
        return out
    d_cost, d_a = np.diff(F[:, 0]), -np.diff(F[:, 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.where(d_a > 0, d_cost / d_a, np.nan)
    return out


def lower_hull(F: np.ndarray) -> list[int]:
    """Indices of the lower-left convex hull of a cost-ordered front (cost rising, A
    falling), from the cheapest to the most autonomous point."""
    hull: list[int] = []
    for i in range(len(F)):
        while len(hull) >= 2:
            (x0, y0), (x1, y1), (x2, y2) = F[hull[-2]], F[hull[-1]], F[i]
            # drop the middle point when it lies on or above the segment from hull[-2] to i
            if (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0) <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return hull


def choose(F: np.ndarray, limit: float = AUTONOMY_COST_LIMIT) -> dict[str, Pick]:
    """The picks of a front ordered by annual total cost (column 0) with autonomy A in
    column 1 (falling); ``limit`` on the marginal cost of autonomy (EUR/a per EUR/a)."""
    if not len(F):
        return {}
    if limit <= 0:
        raise ValueError(f"the autonomy cost limit must be positive, not {limit}")
    picks = {"cost-weighted": Pick("cost-weighted", 0, "lowest annual total cost")}
    hull = lower_hull(F)
    last = hull[0]
    stop = None
    for a, b in zip(hull, hull[1:], strict=False):
        slope = (F[b, 0] - F[a, 0]) / max(F[a, 1] - F[b, 1], 1e-12)
        if slope > limit:
            stop = slope
            break
        last = b
    if stop is None:
        why = (f"the most autonomous front design: every step towards it costs at most "
               f"{limit:g} EUR/a per EUR/a of autonomy")
    else:
        why = (f"most autonomous design before the marginal cost of autonomy exceeds "
               f"{limit:g} EUR/a per EUR/a (the next step on the front's convex hull costs "
               f"{stop:,.2f})")
    picks["autonomy-weighted"] = Pick("autonomy-weighted", last, why)
    picks["balanced"] = Pick("balanced", *_knee(F, last))
    return {name: picks[name] for name in PICKS}


def _knee(F: np.ndarray, last: int) -> tuple[int, str]:
    """The knee of the front from its cheapest point to ``last``."""
    part = F[:last + 1]
    if len(part) == 1:
        return 0, ("the cheapest design: no step towards autonomy is within the limit, so "
                   "all three picks are this design")
    if len(part) < 3:
        return last, ("the autonomy-weighted design: the front has no design between it "
                      "and the cheapest")
    span = np.where(np.ptp(part, axis=0) > 0, np.ptp(part, axis=0), 1.0)
    norm = (part - part.min(axis=0)) / span
    a, b = norm[0], norm[-1]
    direction = (b - a) / max(np.linalg.norm(b - a), 1e-12)
    rel = norm - a
    dist = np.abs(rel[:, 0] * direction[1] - rel[:, 1] * direction[0])
    k = int(dist.argmax())
    return k, ("knee of the front between the cost-weighted and autonomy-weighted picks: "
               "farthest from the line joining them (objectives scaled to that stretch)")
