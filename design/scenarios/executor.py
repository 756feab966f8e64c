"""The robust search's executor: every candidate evaluated on every scenario (the design
first, the operation re-optimised per scenario: a two-stage problem) and judged by its
expectation. It stands in for a plain executor, so NSGA-II, the polish and the results
folder work unchanged; on Ray the scenarios of all candidates share one queue."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import as_completed, wait

from design.network.operate import OperationSettings
from design.scenarios.robust import combine
from design.scenarios.spec import Scenarios
from design.search.evaluate import Candidate, Evaluation
from design.search.executors import RayExecutor, SerialExecutor, _left
from design.search.pool import SharedRayPool


class ScenarioExecutor:
    """Evaluates candidates on each scenario case of ``scenarios`` with one plain executor
    per scenario (``ray``: sharing one pool; ``serial``: in this process) and returns
    their combination (:func:`design.scenarios.robust.combine`): expected annual total
    cost and autonomy, each scenario's figures in the evaluation's ``extra``. ``call`` runs on
    the base case (the seeding builds its own scenario models from ``scenarios``). Given
    a ``pool`` (a study's), its queue is shared with other runs (``fair_share`` as for
    :class:`RayExecutor`)."""

    def __init__(self, scenarios: Scenarios, settings: OperationSettings, kind: str = "ray",
                 retries: int = 1, workers: int | None = None, address: str | None = None,
                 longest_first: bool = True, keep_models: bool = True,
                 pool: SharedRayPool | None = None, fair_share: bool = False) -> None:
        self.scenarios = scenarios
        self.name = kind
        if kind == "ray":
            self.base = RayExecutor(scenarios.base, settings, retries, workers, address,
                                    longest_first, pool=pool, fair_share=fair_share,
                                    keep_models=keep_models)
            self.executors = {s: RayExecutor(c, settings, retries, pool=self.base.pool,
                                             longest_first=longest_first,
                                             fair_share=fair_share, keep_models=keep_models)
                              for s, c in scenarios.cases.items()}
        elif kind == "serial":
            self.base = SerialExecutor(scenarios.base, settings, retries, keep_models)
            self.executors = {s: SerialExecutor(c, settings, retries, keep_models)
                              for s, c in scenarios.cases.items()}
        else:
            raise ValueError(f"executor must be ray or serial, not {kind!r}")
        self.workers = self.base.workers

    def map(self, candidates: list[Candidate], deadline: float | None = None,
            settings: OperationSettings | None = None) -> list[Evaluation | None]:
        """Combined evaluations in the order of the candidates (None: some scenario not
        evaluated before the deadline)."""
        return self.map_groups([(candidates, settings)], deadline)[0]

    def map_groups(self, groups: list[tuple[list[Candidate], OperationSettings | None]],
                   deadline: float | None = None) -> list[list[Evaluation | None]]:
        """:meth:`map` for several (candidates, settings) groups; on Ray every scenario of
        every candidate is queued at once."""
        p = self.scenarios.probabilities
        if self.name == "serial":
            return [[combine(c, {s: ex.map([c], deadline, settings)[0]
                                 for s, ex in self.executors.items()}, p) for c in cands]
                    for cands, settings in groups]
        left = _left(deadline)
        if left is not None and left <= 0:
            return [[None] * len(cands) for cands, _ in groups]
        memory = {s: ex.task_memory() for s, ex in self.executors.items()}  # once a batch
        submitted = [[{s: ex.submit(c, settings, deadline, memory[s])
                       for s, ex in self.executors.items()}
                      for c in cands] for cands, settings in groups]
        wait([f for group in submitted for per in group for f in per.values()],
             timeout=_left(deadline))
        return [[combine(c, {s: self.executors[s].collect(c, f) for s, f in per.items()}, p)
                 for c, per in zip(cands, group, strict=True)]
                for (cands, _), group in zip(groups, submitted, strict=True)]

    def call(self, func, arguments: list[tuple]) -> list:
        """``func(base case, *args)`` for each tuple of ``arguments``."""
        return self.base.call(func, arguments)

    def call_each(self, func, arguments: list[tuple]) -> Iterator[tuple[int, object]]:
        """:meth:`call`, each result as (index, result) as soon as it is there."""
        return self.base.call_each(func, arguments)

    def each(self, pairs: list[tuple[Candidate, str]]
             ) -> Iterator[tuple[int, Evaluation | None]]:
        """Each (candidate, scenario) pair's own evaluation, not combined, as (index,
        evaluation) as soon as it is there: on Ray all queued at once, serially in
        order."""
        if self.name == "serial":
            for i, (c, s) in enumerate(pairs):
                yield i, self.executors[s].map([c])[0]
            return
        memory = {s: ex.task_memory() for s, ex in self.executors.items()}
        futures = {self.executors[s].submit(c, memory=memory[s]): i
                   for i, (c, s) in enumerate(pairs)}
        for f in as_completed(futures):
            c, s = pairs[futures[f]]
            yield futures[f], self.executors[s].collect(c, f)

    def close(self) -> None:
        """Release the pool (Ray, unless it was given) or the kept models (serial)."""
        if self.name == "serial":
            for ex in self.executors.values():
                ex.close()
        self.base.close()
