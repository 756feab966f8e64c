"""The picks a results folder recommends: defined, defensible, and each with its reason."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from design.report.picks import choose, lower_hull, marginal_costs

#: a front like the default run's: autonomy gets dearer, and its far end is the
#: everything-at-maximum design (13,000 EUR/a more for 36 EUR/a of autonomy)
FRONT = np.array([[11239.0, 11013.0], [11617.0, 9639.0], [12618.0, 8188.0],
                  [14612.0, 6230.0], [16659.0, 4800.0], [18366.0, 4456.0],
                  [29287.0, 3978.0], [42365.0, 3942.0]])


def test_marginal_cost_between_neighbours():
    mc = marginal_costs(FRONT)
    assert np.isnan(mc[0])
    assert mc[1] == pytest.approx((11617 - 11239) / (11013 - 9639))
    assert mc[-1] == pytest.approx((42365 - 29287) / (3978 - 3942))  # ~363 EUR per EUR


def test_autonomy_weighted_pick_stops_where_autonomy_gets_too_dear():
    picks = choose(FRONT, limit=2.0)
    assert picks["cost-weighted"].index == 0
    aw = picks["autonomy-weighted"]
    assert aw.index == 4  # the next step costs (18366-16659)/(4800-4456) = 4.96 > 2
    assert "exceeds 2 EUR/a per EUR/a" in aw.reason and "4.96" in aw.reason
    assert aw.index != len(FRONT) - 1  # not the everything-at-maximum design
    # the limit is the designer's: a generous one walks further, a strict one less far
    assert choose(FRONT, limit=5.0)["autonomy-weighted"].index == 5
    assert choose(FRONT, limit=1.0)["autonomy-weighted"].index == 2
    assert choose(FRONT, limit=1e6)["autonomy-weighted"].index == len(FRONT) - 1
    with pytest.raises(ValueError, match="positive"):
        choose(FRONT, limit=0.0)


def test_balanced_pick_is_the_knee_between_the_other_two():
    picks = choose(FRONT, limit=2.0)
    b = picks["balanced"].index
    assert 0 < b < picks["autonomy-weighted"].index
    assert "knee" in picks["balanced"].reason
    # on a front with one clear corner the knee is that corner
    corner = np.array([[0.0, 10.0], [1.0, 2.0], [2.0, 1.5], [10.0, 1.0]])
    assert choose(corner, limit=100.0)["balanced"].index == 1


def test_small_fronts():
    assert choose(np.empty((0, 2))) == {}
    one = choose(np.array([[5.0, 3.0]]))
    assert {p.index for p in one.values()} == {0}
    two = choose(np.array([[5.0, 3.0], [6.0, 2.0]]), limit=2.0)
    assert two["autonomy-weighted"].index == 1 and two["balanced"].index == 1


@given(st.lists(st.tuples(st.floats(0.1, 100.0), st.floats(0.1, 100.0)), min_size=1,
                max_size=12),
       st.floats(0.05, 50.0))
def test_picks_are_ordered_and_on_the_hull(steps, limit):
    """On any front (cost rising, A falling) the picks run cheapest, balanced,
    autonomy-weighted, and the autonomy-weighted one is a hull vertex within the limit."""
    F = np.cumsum(np.array([[0.0, 0.0], *[(dc, -da) for dc, da in steps]]), axis=0)
    F[:, 1] += 1000.0
    picks = choose(F, limit)
    c, b, a = (picks[n].index for n in ("cost-weighted", "balanced", "autonomy-weighted"))
    assert c == 0 <= b <= a
    hull = lower_hull(F)
    assert a in hull
    k = hull.index(a)
    for i, j in zip(hull[:k], hull[1:k + 1], strict=True):
        assert (F[j, 0] - F[i, 0]) / (F[i, 1] - F[j, 1]) <= limit + 1e-9
