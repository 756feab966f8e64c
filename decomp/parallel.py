"""Parallel pricing: worker processes that each own a slice of the intervals' models.

Each worker builds its interval models once (from the pickled provider) and keeps them
loaded in their solvers; a pricing round sends prices and receives results. Processes are
started with ``spawn`` so that no solver thread state is inherited.
"""

from __future__ import annotations

import multiprocessing as mp
import time

import numpy as np

from decomp.pricing import IntervalSolver, PricingResult, price_all
from decomp.provider import IntervalProvider
from decomp.solvers import SolveOptions


def _worker(conn, provider: IntervalProvider, cuts: list[tuple[int, int]], ks: list[int],
            options: SolveOptions) -> None:
    try:
        solvers = [IntervalSolver(k, provider.build(a, b), options)
                   for k, (a, b) in zip(ks, cuts, strict=True)]
        conn.send("ready")
    except Exception as exc:  # noqa: BLE001 - report to the parent, which raises
        conn.send(exc)
        return
    while True:
        msg = conn.recv()
        if msg is None:
            break
        prices, gap, left = msg
        try:
            deadline = None if left is None else time.perf_counter() + left
            conn.send(price_all(solvers, prices, gap, deadline))
        except Exception as exc:  # noqa: BLE001
            conn.send(exc)


class ProcessPricer:
    """Prices intervals in ``workers`` processes; same interface as ``SerialPricer``."""

    def __init__(self, provider: IntervalProvider, cuts: list[tuple[int, int]],
                 options: SolveOptions, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.slices = [list(map(int, s)) for s in np.array_split(range(len(cuts)), workers)
                       if len(s)]
        self.conns, self.procs = [], []
        for ks in self.slices:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, daemon=True,
                               args=(child, provider, [cuts[k] for k in ks], ks, options))
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        for conn in self.conns:
            msg = conn.recv()
            if isinstance(msg, Exception):
                self.close()
                raise msg

    def price(self, prices: list[tuple[np.ndarray, np.ndarray]], gap: float,
              deadline: float | None = None) -> list[PricingResult]:
        """Solve every interval with its (entry, exit) prices, in parallel; a slice
        stopped by the deadline returns fewer results (the round gives no bound)."""
        left = None if deadline is None else deadline - time.perf_counter()
        for conn, ks in zip(self.conns, self.slices, strict=True):
            conn.send(([prices[k] for k in ks], gap, left))
        out: list[PricingResult] = []
        for conn in self.conns:
            msg = conn.recv()
            if isinstance(msg, Exception):
                raise msg
            out += msg
        return sorted(out, key=lambda r: r.k)

    def close(self) -> None:
        """Stop the workers."""
        for conn in self.conns:
            try:
                conn.send(None)
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
