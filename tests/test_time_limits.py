"""A run ends within its time limit + 10 % + 1 s, whichever path its first prices take."""

from __future__ import annotations

import time

import pytest

from decomp.dw import DWSettings
from design.network.operate import OperationSettings, operate


@pytest.mark.parametrize("first_prices", ["auto", "master"])
@pytest.mark.parametrize("limit", [0.2, 1.0, 3.0])
def test_dw_ends_within_its_limit(small_case, first_prices, limit):
    design = small_case.design()
    settings = OperationSettings(method="dw", horizon=96, dw=DWSettings(
        interval=6, gap=1e-6, time_limit=limit, first_prices=first_prices))
    t0 = time.perf_counter()
    out = operate(small_case, design, settings)
    wall = time.perf_counter() - t0
    assert out.result.seconds <= 1.1 * limit + 1.0, out.result.seconds
    # the model build (outside dw's clock) is small next to the limit's slack
    assert wall <= 1.1 * limit + 1.0 + out.result.build_seconds + 1.0, wall
    if limit >= 1.0:
        assert out.result.plan is not None
    # a run past its limit says which step the limit passed in, and by how much
    extra = out.result.extra
    over = out.result.seconds - limit
    assert extra["overrun_seconds"] == pytest.approx(max(0.0, over), abs=0.05)
    assert (extra["time_limit_cut"] is not None) == (over > 0.05) or abs(over) <= 0.05


def test_the_clock_names_the_step_the_limit_passed_in():
    from decomp.loop import Clock

    clock = Clock(time.perf_counter() - 5.0, 4.0)
    clock.steps = [(0.5, "LP relaxation"), (3.0, "integer pricing"), (4.5, "pass")]
    assert clock.cut_step() == "integer pricing"
    assert Clock(time.perf_counter(), 10.0).cut_step() is None
    assert Clock(time.perf_counter(), None).cut_step() is None
