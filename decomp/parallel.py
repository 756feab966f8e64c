"""Parallel pricing on Ray actors with dynamic dispatch (a local cluster or any cluster).

Each actor is given the provider once (through the object store) and builds the models of
its home intervals when it starts, keeping them loaded. A pricing round hands each actor
chunks of its home intervals; an actor whose home is done takes the later half of the
longest remaining queue (capped at a chunk), builds those models on demand and keeps them:
stolen intervals become the thief's home, and the victim drops them, so each interval is
loaded once and the split follows where the time goes from round to round. Results come
back as they finish; a chunk stopped by the deadline ends the round (it gives no bound).

Ray is started here (with ``workers`` CPUs) when it is not running yet, and shut down by
:meth:`RayPricer.close` then. If the actors cannot start within ``start_timeout`` (a
cluster whose CPUs are all held, e.g. dw run inside a busy Ray worker), pricing falls back
to this process (:class:`~decomp.pricing.SerialPricer` semantics) and says so.
"""

from __future__ import annotations

import os
import time
from collections import deque

import numpy as np

from decomp.pricing import IntervalSolver, PricingResult, lp_fill, price_all
from decomp.provider import IntervalProvider
from decomp.solvers import SolveOptions


class PricingActor:
    """Holds loaded interval models (built from the provider on demand) and prices them."""

    def __init__(self, provider: IntervalProvider, cuts: list[tuple[int, int]],
                 options: SolveOptions) -> None:
        self.provider, self.cuts, self.options = provider, cuts, options
        self.solvers: dict[int, IntervalSolver] = {}

    def load(self, ks: list[int]) -> int:
        """Build and load the models of intervals ``ks`` not held yet; returns how many
        this actor holds."""
        for k in ks:
            if k not in self.solvers:
                a, b = self.cuts[k]
                self.solvers[k] = IntervalSolver(k, self.provider.build(a, b), self.options)
        return len(self.solvers)

    def drop(self, ks: list[int]) -> int:
        """Forget the models of intervals ``ks`` (another actor holds them now)."""
        for k in ks:
            self.solvers.pop(k, None)
        return len(self.solvers)

    def price(self, ks: list[int], prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              left: float | None, abs_gap: float | None = None,
              interval_limit: float | None = None) -> list[PricingResult]:
        """Price intervals ``ks`` within ``left`` seconds (:func:`price_all`), each MILP
        stopped at ``abs_gap`` and after ``interval_limit`` seconds too."""
        t0 = time.perf_counter()
        self.load(ks)
        for k in ks:
            if self.solvers[k].abs_gap != abs_gap:
                self.solvers[k].set_abs_gap(abs_gap)
        deadline = None if left is None else t0 + left
        return price_all([self.solvers[k] for k in ks], prices, gap, deadline,
                         interval_limit=interval_limit)


class RayPricer:
    """Prices intervals on ``workers`` Ray actors; same interface as ``SerialPricer``.

    ``stats``: intervals moved by stealing (``stolen``), chunks sent (``chunks``), whether
    the actors could not start (``fallback``)."""

    def __init__(self, provider: IntervalProvider, cuts: list[tuple[int, int]],
                 options: SolveOptions, workers: int, chunk: int | None = None,
                 start_timeout: float = 120.0, fallback: list[IntervalSolver] | None = None,
                 say=None) -> None:
        import ray

        if workers < 1:
            raise ValueError(f"workers must be >= 1, not {workers}")
        say = say or (lambda msg: None)
        self.ray = ray
        self.owns_cluster = False
        if not ray.is_initialized():
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            ray.init(address="local", num_cpus=workers, include_dashboard=False,
                     log_to_driver=False)
            self.owns_cluster = True
        n = len(cuts)
        self.workers = min(workers, n)
        self.chunk = chunk or max(1, n // (self.workers * 8))
        self.home = [list(map(int, b)) for b in np.array_split(np.arange(n), self.workers)]
        self.stats = {"stolen": 0, "chunks": 0, "fallback": False}
        self.fallback = None
        self.local = fallback
        self.abs_gap: float | None = None
        ref = ray.put(provider)
        cls = ray.remote(PricingActor).options(num_cpus=1, max_restarts=0)
        self.actors = [cls.remote(ref, cuts, options) for _ in range(self.workers)]
        loads = [a.load.remote(ks) for a, ks in zip(self.actors, self.home, strict=True)]
        ready, _ = ray.wait(loads, num_returns=len(loads), timeout=start_timeout)
        if len(ready) < len(loads):
            self._kill()
            if fallback is None:
                self.close()
                raise RuntimeError(f"{workers} pricing actors did not start within "
                                   f"{start_timeout:g} s (no free CPUs in the Ray cluster?)")
            say(f"pricing actors did not start within {start_timeout:g} s; pricing in this "
                "process")
            self.fallback = fallback
            self.stats["fallback"] = True
            return
        ray.get(loads)  # a failed build raises here, with the worker's error

    def price(self, prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              deadline: float | None = None, fill: float | None = None,
              interval_limit: float | None = None) -> list[PricingResult]:
        """Solve every interval with its (entry, exit) prices on the actors, each solve
        stopped after ``interval_limit`` seconds; a chunk stopped by the deadline ends the
        round with fewer results (no bound), unless ``fill`` (an instant) and this process
        holds the models: then the intervals left without a bound get their LP value here
        before that instant (:func:`~decomp.pricing.lp_fill`)."""
        if self.fallback is not None:
            return price_all(self.fallback, prices, gap, deadline, fill, interval_limit)
        ray = self.ray
        queues = [deque(ks) for ks in self.home]
        flight: dict = {}
        out: list[PricingResult] = []

        def send(i: int) -> None:
            q = queues[i]
            if q:
                ks = [q.popleft() for _ in range(min(self.chunk, len(q)))]
            else:
                j = max(range(len(queues)), key=lambda v: len(queues[v]))
                if not queues[j]:
                    return
                take = min(self.chunk, max(1, len(queues[j]) // 2))
                ks = sorted(queues[j].pop() for _ in range(take))
                for k in ks:
                    self.home[j].remove(k)
                self.home[i] += ks
                self.actors[j].drop.remote(ks)
                self.stats["stolen"] += len(ks)
            left = None if deadline is None else deadline - time.perf_counter()
            if left is not None and left <= 0:
                return
            ref = self.actors[i].price.remote(ks, [prices[k] for k in ks], gap, left,
                                              self.abs_gap, interval_limit)
            flight[ref] = (i, len(ks))
            self.stats["chunks"] += 1

        for i in range(len(self.actors)):
            send(i)
        stopped = False
        while flight:
            done, _ = ray.wait(list(flight), num_returns=1)
            for ref in done:
                i, size = flight.pop(ref)
                res = ray.get(ref)
                out += res
                if len(res) < size or (deadline is not None
                                       and time.perf_counter() >= deadline):
                    stopped = True
                if not stopped:
                    send(i)
        out = sorted(out, key=lambda r: r.k)
        if fill is None or self.local is None:
            return out
        return lp_fill(self.local, prices, out, fill)

    def set_abs_gap(self, value: float | None) -> None:
        """An absolute MIP gap for every interval's pricing solves from now on."""
        self.abs_gap = value
        for sv in self.fallback or []:
            sv.set_abs_gap(value)

    def _kill(self) -> None:
        for a in self.actors:
            try:
                self.ray.kill(a)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self.actors = []

    def close(self) -> None:
        """Stop the actors (and the local cluster this pricer started)."""
        self._kill()
        if self.owns_cluster and self.ray.is_initialized():
            self.ray.shutdown()
            self.owns_cluster = False
