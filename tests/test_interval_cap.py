"""Each interval's MILP capped in a pricing round: an interval stopped by its cap counts the
bound its solver proved (or its LP value when it proved none) and the round goes on; the
certificate stays valid (checked against direct optima)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import decomp.pricing as pricing_module
from decomp.dw import DWSettings, solve_dw
from decomp.methods import solve_direct
from decomp.prices import PASS_RESERVE, interval_time_cap
from decomp.pricing import PricingResult, SerialPricer, ThreadPricer
from tests.test_dw import EXACT, assert_sandwich
from tests.test_priced_states import _parts, _toy


def test_the_automatic_cap_shares_half_the_time_left_among_theintervals():
    assert interval_time_cap(None, 730.0, 2, 365) == pytest.approx(0.5 * 730.0 * 2 / 365)
    assert interval_time_cap(None, 10.0, 2, 365) == 1.0  # never below a second
    assert interval_time_cap(None, None, 1, 365) is None  # no limit: uncapped
    assert interval_time_cap(3.0, None, 1, 365) == 3.0
    assert interval_time_cap(3.0, 1e4, 1, 365) == 3.0
    # more workers than intervals: each interval has a worker of its own
    assert interval_time_cap(None, 10.0, 8, 2) == pytest.approx(0.5 * 10.0)
    with pytest.raises(ValueError, match="pricing_time_limit"):
        DWSettings(pricing_time_limit=0.0)


class _Stopped:
    """Wraps an interval solver: its MILP is stopped by the cap before it proves any bound
    (what a twenty-home day does in its first seconds); every limit asked is recorded."""

    def __init__(self, solver, limits: list) -> None:
        self._solver, self._limits = solver, limits

    def __getattr__(self, name):
        return getattr(self._solver, name)

    def solve(self, gap=None, time_limit=None, allow_infeasible=False):
        self._limits.append(time_limit)
        if self._solver.relaxed:
            return self._solver.solve(gap=gap, time_limit=time_limit)
        return PricingResult(self._solver.k, None, None, -np.inf, "no plan", time_limit)


@pytest.mark.parametrize("pricer_type", [SerialPricer, ThreadPricer])
def test_an_interval_stopped_by_its_cap_leaves_the_rest_of_the_round(pricer_type):
    _, _, linking, solvers = _parts(_toy(), 6)
    limits: list = []
    solvers = list(solvers)
    solvers[1] = _Stopped(solvers[1], limits)
    pricer = SerialPricer(solvers) if pricer_type is SerialPricer else ThreadPricer(solvers, 2)
    prices = [linking.interval_prices(np.zeros(linking.size), k) for k in range(len(solvers))]
    full = pricer.price(prices, 1e-9)
    assert [r.k for r in full] == [0, 1, 2, 3]  # the round went on past interval 1
    assert not math.isfinite(full[1].bound) and full[1].column is None
    filled = pricer.price(prices, 1e-9, fill=math.inf, interval_limit=0.5)
    assert all(math.isfinite(r.bound) for r in filled)
    assert filled[1].status == "lp" and filled[1].column is None
    assert limits[-2] == 0.5  # the MILP was given the cap, the LP fill none
    # the LP value bounds the interval's MILP value at the same prices from below
    exact = solvers[1]._solver
    exact.set_prices(*prices[1])
    assert filled[1].bound <= exact.solve(gap=0.0).bound + 1e-7
    # with a deadline that has passed, a stopped interval still ends the round
    assert len(SerialPricer(solvers).price(prices, 1e-9, deadline=0.0)) == 0
    # a fill that must end by an instant already past solves no LP: the round keeps its
    # hole (no bound) rather than running past the limit
    asked = len(limits)
    late = pricer.price(prices, 1e-9, fill=time.perf_counter() - 1.0)
    assert not math.isfinite(late[1].bound) and late[1].status != "lp"
    assert len(limits) == asked + 1  # the MILP only
    # with time left, the fill's LP is given no more than that time
    soon = time.perf_counter() + 30.0
    pricer.price(prices, 1e-9, fill=soon)
    assert limits[-1] is not None and 0 < limits[-1] <= 30.0


def test_every_pricing_milp_is_given_the_cap(monkeypatch):
    asked: list = []
    real = pricing_module._price_one

    def spy(s, p, gap, deadline, interval_limit=None):
        if not s.relaxed:
            asked.append(interval_limit)
        return real(s, p, gap, deadline, interval_limit)

    monkeypatch.setattr(pricing_module, "_price_one", spy)
    r = solve_dw(_toy(), DWSettings(interval=6, gap=1e-9, max_iterations=3,
                                    pricing_time_limit=2.5, solve=EXACT))
    assert asked and all(a == 2.5 for a in asked)
    rows = [row for row in r.log if "interval_cap" in row]
    assert rows and all(row["interval_cap"] == 2.5 for row in rows)
    assert all(row["intervals_capped"] == 0 for row in rows)  # toy days finish in time
    assert_sandwich(r.bound, solve_direct(_toy(), EXACT).objective, r.objective)


@pytest.mark.parametrize("first_prices", ["master", "lp"])
def test_a_round_whose_milps_all_stop_at_the_cap_still_certifies(monkeypatch, first_prices):
    # a year of twenty homes: every day stopped at its cap, most without a plan; the bound
    # counts their LP values, the plan comes from the sequential repair
    import decomp.dw as dw_module

    limits: list = []
    real = dw_module.SerialPricer

    def stopped(solvers):
        return real([_Stopped(sv, limits) for sv in solvers])

    monkeypatch.setattr(dw_module, "SerialPricer", stopped)
    said: list[str] = []
    r = solve_dw(_toy(), DWSettings(interval=6, gap=1e-9, max_iterations=3,
                                    first_prices=first_prices,
                                    pricing_time_limit=0.25, solve=EXACT),
                 progress=said.append)
    assert 0.25 in limits
    assert r.plan is not None and r.status != "no plan"
    assert math.isfinite(r.bound)
    assert_sandwich(r.bound, solve_direct(_toy(), EXACT).objective, r.objective)


def test_a_real_cap_on_a_real_case_keeps_the_certificate(small_case):
    # HiGHS stopped by a cap of a millisecond on each day of the small real case: whatever
    # it proved by then (or the LP value) is the day's bound; a day left without a column
    # stops the rounds, and the pass makes the plan
    from design.network.operate import OperationSettings, operate

    design = small_case.design()
    capped = operate(small_case, design, OperationSettings(
        method="dw", horizon=72, dw=DWSettings(gap=1e-6, max_iterations=2,
                                               pricing_time_limit=1e-3,
                                               heuristics=("pass",))))
    direct = operate(small_case, design, OperationSettings(horizon=72, solve=EXACT))
    assert capped.result.plan is not None
    assert any(row.get("intervals_capped") for row in capped.result.log)
    assert_sandwich(capped.result.bound, direct.result.objective, capped.result.objective)


def test_a_plan_within_the_target_is_not_polished():
    # district-10's quarter: the sequential repair's plan met the 1 % target, yet a 206 s
    # sweep of windows followed it
    said: list[str] = []
    r = solve_dw(_toy(), DWSettings(interval=6, gap=0.9, solve=EXACT),
                 progress=said.append)
    assert any(m.startswith("sequential repair") for m in said)
    assert not any(m.startswith("fix-and-optimise") for m in said)
    assert r.gap <= 0.9 and r.extra["stop_reason"] == "gap"
    assert_sandwich(r.bound, solve_direct(_toy(), EXACT).objective, r.objective)


def test_a_round_without_a_plan_yet_leaves_the_pass_its_share(monkeypatch):
    asked: list[tuple[float, float, bool]] = []
    real = SerialPricer.price

    def spy(self, prices, gap, deadline=None, fill=None, interval_limit=None):
        if fill is not None:  # a MILP round (the LP phase's rounds do not fill)
            asked.append((deadline, time.perf_counter()))
        return real(self, prices, gap, deadline, fill, interval_limit)

    monkeypatch.setattr(SerialPricer, "price", spy)
    limit = 120.0
    t_before = time.perf_counter()
    r = solve_dw(_toy(), DWSettings(interval=6, gap=1e-9, max_iterations=3,
                                    time_limit=limit, solve=EXACT))
    assert asked
    end = t_before + limit  # the run's own deadline is a moment later
    first_deadline, at = asked[0]
    # the first round has no plan to fall back on: it stops a quarter of the time left
    # before the run's deadline, so the pass that makes the plan fits in the limit
    assert first_deadline - at <= (1.0 - PASS_RESERVE) * (end + 0.5 - at)
    # once a plan exists, rounds may run to the deadline itself
    assert all(d >= end for d, _ in asked[1:])
    assert_sandwich(r.bound, solve_direct(_toy(), EXACT).objective, r.objective)
