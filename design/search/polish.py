"""Polish: the front's designs solved again to a certified gap before results are written."""

from __future__ import annotations

import time
from dataclasses import replace

from design.network.operate import OperationSettings
from design.search.evaluate import Candidate, Evaluation
from design.search.refine import gap_candidates
from design.search.settings import SearchSettings
from design.search.space import DesignSpace


def polish_front(state, settings: SearchSettings, executor,
                 deadline: float | None, progress=print, space: DesignSpace | None = None
                 ) -> int:
    """Solve the front's designs again to the polish gap until every front point is
    certified within it, or none is left to try, or the deadline. A design is polished
    at most once; its new evaluation replaces the old one when its certified gap is no
    looser (points that then become dominated leave the front). Returns how many were
    replaced.

    Workers the polish leaves idle finish the candidates of the generation the budget cut
    (``state.pending``, with the search's own settings, in the same queue), then, while
    the deadline allows, ``settings.polish.refine`` candidates per round between
    neighbouring front designs where the front's gaps are widest (with ``space``): the
    reserve is spent on evaluations, not on waiting for the slowest polish."""
    gap = settings.polish.gap
    target = certify(settings.operation, gap, settings.polish.time_limit)
    tried: set[str] = set()
    refined: set[str] = set()
    count = 0
    while deadline is None or time.monotonic() < deadline:
        todo = [e for e in state.front()
                if (e.gap is None or e.gap > gap) and _key(e) not in tried]
        pending = [c for c in state.pending if c.key not in state.cache]
        refine = []
        if space is not None and settings.polish.refine and deadline is not None:
            refine = gap_candidates(state.front(), space, settings.polish.refine,
                                    set(state.cache) | refined, narrowest=1.0 + gap)
        if not todo and not pending and not refine:
            break
        tried.update(_key(e) for e in todo)
        refined.update(c.key for c in refine)
        extra = f" and {len(pending)} candidates the budget cut" if pending else ""
        if refine:
            extra += f"; {len(refine)} new designs between front neighbours far apart"
        progress(f"polish: {len(todo)} front designs to a certified {gap:.1%}{extra}")
        done, finished, between = executor.map_groups(
            [([Candidate(e.design, e.weight) for e in todo], target), (pending, None),
             (refine, None)], deadline)
        for old, new in zip(todo, done, strict=True):
            if new is None or not new.ok or new.gap is None:
                continue
            if old.gap is not None and new.gap > old.gap:
                continue  # cut short by the budget with a looser certificate: keep the old
            count += 1
            state.cache[_key(old)] = new
            state.records.append({**new.row(), "generation": state.generation,
                                  "phase": "polish"})
        for cand, e in zip(pending, finished, strict=True):
            if e is not None:
                state.cache[cand.key] = e
                state.records.append({**e.row(), "generation": state.generation + 1,
                                      "phase": "search (during polish)"})
        for cand, e in zip(refine, between, strict=True):
            if e is not None:
                state.cache[cand.key] = e
                state.records.append({**e.row(), "generation": state.generation,
                                      "phase": "refine"})
        state.pending = [c for c in state.pending if c.key not in state.cache]
        if not todo and not refine:
            break  # only cut candidates were left; those not finished stay pending
    left = sum(1 for e in state.front() if e.gap is None or e.gap > gap)
    progress(f"polish: {count} solved again; {len(state.front())} on the front, "
             f"{left} above {gap:.1%}")
    return count


def certify(op: OperationSettings, gap: float, time_limit: float | None) -> OperationSettings:
    """The operation settings that certify a front design: dw to ``gap`` within
    ``time_limit``, the direct solve no looser."""
    return replace(op, dw=replace(op.dw, gap=gap, time_limit=time_limit),
                   solve=replace(op.solve, gap=min(op.solve.gap, gap), time_limit=time_limit))


def _key(e: Evaluation) -> str:
    return Candidate(e.design, e.weight).key
