"""Prices and time shares: where the first prices come from, which rows carry them, what
the heuristics read from them, and how long each pricing step may take.

The rules here are fixed (module constants with their reasons), not settings; each was
measured on the engine matrix (``benchmarks/engine_matrix.py``, ``docs/engine.md``).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np

from decomp.linking import Linking
from decomp.pricing import IntervalSolver

#: ``first_prices="auto"``: the glued horizon LP while it has at most this many
#: nonzeros, else column generation over the intervals' LPs (the ``master`` path): a
#: glued horizon much larger took HiGHS longer than half an hour
GLUED_LP_MAX_NONZEROS = 1_000_000

#: the glued LP's share of the time limit, and the least it gets while that much is left
LP_SHARE, LP_MIN_SHARE = 0.85, 0.3
#: the ``master`` path's LP phase stops at this share of the limit if not converged
LP_MASTER_SHARE = 0.45

#: a pricing round's share of the time left, shared among the intervals on the workers;
#: no interval gets less than ``PRICING_MIN_SECONDS``
PRICING_SHARE, PRICING_MIN_SECONDS = 0.5, 1.0

#: the share of the time left a pricing round leaves the pass when the run has no plan
#: yet (a round that took all of it made the plan minutes past the limit)
PASS_RESERVE = 0.25

#: a pass may run this share of the limit past it: the plan it makes is worth a small
#: overrun, and a run may end 10 % past its limit
PASS_GRACE = 0.05

#: each interval MILP of a pass stops at this share of the target gap (absolute, shared
#: among the intervals)
PASS_GAP_SHARE = 0.25

#: on the ``master`` path, a state priced 0 at a boundary is worth this share of its next
#: positive price to the pass, and storage kept at the end of an interval this share of
#: the largest cost coefficient (degenerate column-generation prices)
LOOKAHEAD_SHARE, TIEBREAK = 0.3, 1e-3

#: a boundary price at most this share of its state's largest counts as 0 for
#: :func:`lookahead_prices`
ZERO_SHARE = 1e-3


def nonzeros(solvers: list[IntervalSolver]) -> int:
    """Nonzeros of the glued horizon: the sum of the intervals'."""
    return int(sum(sv.form.A.nnz for sv in solvers))


def first_prices_path(chosen: str, solvers: list[IntervalSolver]) -> str:
    """The path ``auto`` stands for (see ``GLUED_LP_MAX_NONZEROS``)."""
    if chosen != "auto":
        return chosen
    return "lp" if nonzeros(solvers) <= GLUED_LP_MAX_NONZEROS else "master"


def continuous_states(solvers: list[IntervalSolver]) -> set[str]:
    """Names of the boundary states that are continuous in every interval (storage
    levels, not units' on/off)."""
    integer, names = set(), set()
    for sv in solvers:
        for cols, states in ((sv.entry_cols, sv.entry_names), (sv.exit_cols, sv.exit_names)):
            names |= set(states)
            integer |= {nm for nm, j in zip(states, cols, strict=True) if sv.form.integer[j]}
    return names - integer


def priced_linking(mode: str, path: str, linking: Linking,
                   solvers: list[IntervalSolver]) -> Linking:
    """The linking rows that carry prices (``auto``: only continuous states on the
    ``master`` path, every row otherwise)."""
    if mode == "auto":
        mode = "continuous" if path == "master" else "all"
    if mode == "all":
        return linking
    return linking.pricing_only(continuous_states(solvers))


def cost_scale(solvers: list[IntervalSolver]) -> float:
    """The largest absolute cost coefficient of the intervals: the scale of the prices
    the master's duals are boxed to at first."""
    scale = max((float(np.abs(sv.form.cost).max(initial=0.0)) for sv in solvers), default=0.0)
    return scale if scale > 0 else 1.0


def tiebreak_prices(y: np.ndarray, linking: Linking, solvers: list[IntervalSolver],
                    bonus: float) -> np.ndarray:
    """``y`` with ``bonus`` added on the boundary rows of continuous states: what an
    interval solved on its own is paid for each unit of such a state it leaves at its end,
    so that at prices that leave it indifferent it keeps storage rather than spending it
    for nothing. Only for heuristics (a row's price changes the Lagrangian's)."""
    if bonus == 0:
        return y
    keep = continuous_states(solvers)
    mask = np.array([r.kind == "link" and r.state in keep for r in linking.rows], dtype=bool)
    return y + bonus * mask


def lookahead_prices(y: np.ndarray, linking: Linking, states: set[str],
                     cyclic: Collection[str] = (), share: float = 1.0) -> np.ndarray:
    """``y`` with each boundary price of a state in ``states`` that is 0 (within
    ``ZERO_SHARE`` of the state's largest price) raised to ``share`` of that state's next
    positive price along the horizon (for a state in ``cyclic``, past the horizon's end
    from its start again). Where a relaxation prices storage at 0 while it fills it for
    later, an interval solved on its own then sees what the store is worth once full
    instead of nothing. Only for heuristics."""
    out = np.array(y, dtype=float, copy=True)
    rows: dict[str, list[tuple[int, int]]] = {}
    for r, row in enumerate(linking.rows):
        if row.kind == "link" and row.state in states:
            rows.setdefault(row.state, []).append((row.k, r))
    for state, pairs in rows.items():
        index = np.array([r for _, r in sorted(pairs)])
        values = out[index]
        zero = ZERO_SHARE * max(float(values.max()), 0.0)
        m = len(index)
        later = None
        # walk backwards (twice round for a cyclic state) carrying the next positive price
        for j in range(2 * m - 1 if state in cyclic else m - 1, -1, -1):
            v = values[j % m]
            if v > zero:
                later = v
            elif j < m and later is not None and v >= -zero:
                out[index[j]] = max(v, share * later)
    return out


def interval_share(share: float, scale: float, intervals: int) -> float:
    """``share`` of an objective of size ``scale`` (at least 1) divided among the
    ``intervals``: the absolute gap each interval MILP may leave."""
    return share * max(1.0, abs(scale)) / max(1, intervals)


def pricing_share(gap: float, pricing_gap: float) -> float:
    """The share of the objective a round's Lagrangian may lose to the intervals'
    absolute gaps: ``pricing_gap``, or a twentieth of the target gap if that is more."""
    return max(pricing_gap, gap / 20)


def pass_abs_gap(s, scale: float, intervals: int) -> float | None:
    """The absolute gap each interval MILP of a pass stops at (see
    ``PASS_GAP_SHARE``), None while the scale is unknown."""
    if not math.isfinite(scale):
        return None
    return interval_share(max(PASS_GAP_SHARE * s.gap, pricing_share(s.gap, s.pricing_gap)),
                          scale, intervals)


def lp_time_cap(limit: float, elapsed: float, probe_seconds: float, intervals: int,
                safety: float = 1.5) -> float:
    """Seconds the glued LP may take: at most ``LP_SHARE`` of the ``limit``, and no more
    than what leaves the first pricing round ``safety`` times its estimate (one
    interval's solve, ``probe_seconds``, for each of the ``intervals`` a worker prices),
    but at least ``LP_MIN_SHARE`` of the limit while that much is left."""
    left = max(0.0, limit - elapsed)
    cap = min(LP_SHARE * limit, left - safety * probe_seconds * intervals)
    return max(0.0, min(left, max(cap, LP_MIN_SHARE * limit)))


def interval_time_cap(own: float | None, left: float | None, workers: int,
                      intervals: int) -> float | None:
    """Seconds each interval's MILP may take in a round begun with ``left`` seconds to go:
    ``own`` (``pricing_time_limit``) if set, else ``PRICING_SHARE`` of the time left
    shared among the intervals on the workers (None without a limit)."""
    if own is not None:
        return own
    if left is None:
        return None
    share = PRICING_SHARE * left * min(workers, intervals) / max(1, intervals)
    return max(PRICING_MIN_SECONDS, share)
