"""Pricing on Ray actors: the same results as pricing in this process, work taken from a
busy actor by an idle one, a deadline that ends the round, and a fallback when no actor
can start."""

from __future__ import annotations

import numpy as np
import pytest

from decomp.parallel import RayPricer
from decomp.pricing import SerialPricer
from decomp.solvers import SolveOptions
from decomp.workspace import build_intervals
from tests.toy_provider import ToyProvider

OPTIONS = SolveOptions(solver="highs", threads=1)


def _problem():
    rng = np.random.default_rng(3)
    provider = ToyProvider(rng.integers(0, 5, 24).astype(float), rng.uniform(1, 3, 24))
    iv = build_intervals(provider, 3, OPTIONS)
    prices = [(rng.uniform(-1, 1, len(s.entry_names)), rng.uniform(-1, 1, len(s.exit_names)))
              for s in iv.solvers]
    return provider, iv, prices


def _same(a, b) -> None:
    assert [r.k for r in a] == [r.k for r in b] == list(range(len(b)))
    for x, y in zip(a, b, strict=True):
        assert x.bound == pytest.approx(y.bound, rel=1e-7, abs=1e-7)
        assert x.column.cost == pytest.approx(y.column.cost, rel=1e-6, abs=1e-6)


def test_actors_price_as_this_process_does_and_steal_work(ray_cluster):
    provider, iv, prices = _problem()
    serial = SerialPricer(iv.solvers).price(prices, 1e-9)
    pricer = RayPricer(provider, iv.cuts, OPTIONS, workers=2, chunk=1)
    _same(pricer.price(prices, 1e-9), serial)
    # every interval home to one actor: the other takes work from it, and keeps what it
    # took for the next round (each interval held by exactly one actor)
    pricer.home = [list(range(len(iv.cuts))), []]
    _same(pricer.price(prices, 1e-9), serial)
    assert pricer.stats["stolen"] > 0 and all(pricer.home)
    assert sorted(pricer.home[0] + pricer.home[1]) == list(range(len(iv.cuts)))
    held = [ray_cluster.get(a.drop.remote([])) for a in pricer.actors]
    # the victim dropped what was taken (the thief still holds its first home as well,
    # which this test took from it without telling it)
    assert held[0] == len(pricer.home[0]) and held[1] >= len(pricer.home[1])
    # a deadline already passed: no interval priced, the round gives no bound
    assert len(pricer.price(prices, 1e-9, deadline=0.0)) < len(iv.cuts)
    pricer.close()


def test_pricing_falls_back_to_this_process_when_no_actor_starts(ray_cluster):
    provider, iv, prices = _problem()
    said = []
    pricer = RayPricer(provider, iv.cuts, OPTIONS, workers=2, start_timeout=0.0,
                       fallback=iv.solvers, say=said.append)
    assert pricer.stats["fallback"] and "did not start" in said[0]
    _same(pricer.price(prices, 1e-9), SerialPricer(iv.solvers).price(prices, 1e-9))
    pricer.close()
    with pytest.raises(RuntimeError, match="did not start"):
        RayPricer(provider, iv.cuts, OPTIONS, workers=2, start_timeout=0.0)
