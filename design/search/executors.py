"""Where candidates are evaluated: in this process, or on a pool of Ray actors (local or
a cluster), each keeping the interval models of the last candidate it evaluated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, as_completed, wait
from dataclasses import replace

from decomp.workspace import Workspace
from design.network.case import Case
from design.network.operate import OperationSettings
from design.search.evaluate import Candidate, Evaluation, evaluate, expected_work
from design.search.pool import SharedRayPool

ORDERS: tuple[str, ...] = ("longest-first", "given")
"""How a Ray executor hands out a batch: hardest candidates first, or as given."""


def _single_thread(settings: OperationSettings) -> OperationSettings:
    """HiGHS fixes its thread count per process: one thread per parallel worker."""
    solve = replace(settings.solve, threads=1)
    dw = replace(settings.dw, solve=replace(settings.dw.solve, threads=1))
    return replace(settings, solve=solve, dw=dw)


def evaluate_with_retries(
    case: Case, candidate: Candidate, settings: OperationSettings, retries: int,
    workspace: Workspace | None = None,
) -> Evaluation:
    """Evaluate; an evaluation that failed with an exception is tried again up to
    ``retries`` times (on models built afresh). One that ended without a plan within its
    limits (the solver said so: ``status`` is set) is not: the same solve would end the
    same way."""
    result = evaluate(case, candidate, settings, workspace)
    attempt = 1
    while not result.ok and result.status is None and attempt <= retries:
        attempt += 1
        if workspace is not None:
            workspace.clear()
        result = evaluate(case, candidate, settings, workspace)
    return replace(result, attempts=attempt)


def _left(deadline: float | None) -> float | None:
    """Seconds to ``deadline`` (a ``time.monotonic()`` instant), None without one."""
    return None if deadline is None else deadline - time.monotonic()


#: a candidate that starts ``left`` seconds before the deadline solves for at most this
#: share of them, less ``DEADLINE_MARGIN`` seconds: its model build and the engine's
#: overrun of its limit (at most 10 % + 1 s) then end before the deadline, so its plan is
#: recorded instead of stopped with the rest (on the default run, the polish's 216 s
#: ended with none of its 15 jobs recorded when each was given the whole time left)
DEADLINE_SHARE = 0.85
DEADLINE_MARGIN = 5.0


def _for_time_left(settings: OperationSettings,
                   left: float | None) -> tuple[OperationSettings, bool]:
    """The settings a candidate starts with ``left`` seconds before the deadline, and
    whether the deadline shortened its own time limit."""
    if left is None:
        return settings, False
    own = settings.time_limit
    usable = DEADLINE_SHARE * left - DEADLINE_MARGIN
    return settings.capped(usable), own is None or usable < own


def _within_budget(e: Evaluation, capped: bool) -> Evaluation | None:
    """A candidate whose time limit was cut by the deadline and that ended without a plan
    was not evaluated (None), not failed: a resumed run evaluates it again."""
    return None if capped and not e.ok else e


def process_workspace() -> Workspace:
    """This process's kept interval models: a Ray worker process runs task after task,
    and each candidate starts from the models the last one of its structure left."""
    global _WORKSPACE
    if _WORKSPACE is None:
        _WORKSPACE = Workspace()
    return _WORKSPACE


_WORKSPACE: Workspace | None = None


class SerialExecutor:
    """Evaluates candidates one after the other in this process (debugging, tests);
    with ``keep_models`` each candidate's dw solve starts from the interval models kept
    from the last candidate of the same structure."""

    name = "serial"

    def __init__(self, case: Case, settings: OperationSettings, retries: int = 1,
                 keep_models: bool = True) -> None:
        self.case, self.settings, self.retries = case, settings, retries
        self.workspace = Workspace() if keep_models else None

    def map(self, candidates: list[Candidate], deadline: float | None = None,
            settings: OperationSettings | None = None) -> list[Evaluation | None]:
        """Evaluations in the order of the candidates. With a ``deadline``
        (``time.monotonic()``) a candidate gets at most the time left, and one not
        started, or cut short without a plan, before it is None (not evaluated). A
        candidate in progress is not interrupted, so the last may end a little late.
        ``settings`` replaces the executor's operation settings for this call."""
        base = self.settings if settings is None else settings
        out: list[Evaluation | None] = []
        for c in candidates:
            left = _left(deadline)
            if left is not None and left <= 0:
                out.append(None)
                continue
            settings, capped = _for_time_left(base, left)
            e = evaluate_with_retries(self.case, c, settings, self.retries, self.workspace)
            out.append(_within_budget(e, capped))
        return out

    workers = 1

    def map_groups(self, groups: list[tuple[list[Candidate], OperationSettings | None]],
                   deadline: float | None = None) -> list[list[Evaluation | None]]:
        """:meth:`map` for each (candidates, settings) group, in the order given."""
        return [self.map(cands, deadline, settings) for cands, settings in groups]

    def call(self, func, arguments: list[tuple]) -> list:
        """``func(case, *args)`` for each tuple of ``arguments``, one after the other."""
        return [func(self.case, *args) for args in arguments]

    def call_each(self, func, arguments: list[tuple]) -> Iterator[tuple[int, object]]:
        """:meth:`call`, each result as (index, result) as soon as it is there."""
        for i, args in enumerate(arguments):
            yield i, func(self.case, *args)

    def close(self) -> None:
        """Drop the kept models."""
        if self.workspace is not None:
            self.workspace.clear()


def structure_hint(case: Case, candidate: Candidate, settings: OperationSettings) -> tuple:
    """What decides whether a worker's kept models fit the candidate, known without
    building them: the case, the horizon, the dw interval and the installed components
    (the model's structure; sizes and W are only numbers in it). The pool prefers a
    worker whose last candidate had the same hint."""
    installed = tuple(c.name for c in case.spec.components
                      if candidate.design.get(c.name, 0.0) > 0)
    return (case.spec.name, settings.horizon, settings.method, settings.dw.interval,
            installed)


def _ray_task(case: Case, candidate: Candidate, settings: OperationSettings,
              retries: int, wall_deadline: float | None = None,
              keep_models: bool = True) -> Evaluation | None:
    """One evaluation on a Ray worker; with ``wall_deadline`` (UNIX time: the nodes'
    clocks, unlike their monotonic ones, agree) it gets at most the time left when it
    starts, and a plan-less end cut short by it is None (not evaluated). With
    ``keep_models`` the worker process's kept models serve it (:func:`process_workspace`)."""
    left = None if wall_deadline is None else wall_deadline - time.time()
    if left is not None and left <= 0:
        return None
    run, capped = _for_time_left(settings, left)
    workspace = process_workspace() if keep_models else None
    e = _within_budget(evaluate_with_retries(case, candidate, run, retries, workspace), capped)
    return None if e is None else replace(e, node=_node_id())


def _node_id() -> str | None:
    """The Ray node this process runs on (None outside Ray)."""
    try:
        import ray

        return ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - not in a Ray worker
        return None


#: peak memory of one evaluation: a fixed part (Python, pyomo, solver), a part per hour
#: and one per hour and component, fitted to peaks measured on Ray workers (dw: 1.34 GB,
#: the median of the main job's reference-year evaluations with 8 components, at most
#: 2.07 GB; 2.15 GB for a district-10 year with 34, 2026-12-07; 0.3 GB for a day). The
#: former fit (0.036 MB per hour and component) asked 10.8 GB for a district-10 candidate:
#: two did not fit one machine's Ray memory, so one of two workers idled until a peak was
#: measured.
BASE_MB, MB_PER_HOUR, MB_PER_HOUR_AND_COMPONENT = 300.0, 0.085, 0.0042
#: headroom on the largest measured peak once evaluations have reported theirs
MEASURED_HEADROOM = 1.25


def memory_estimate_mb(case: Case, settings: OperationSettings) -> float:
    """Expected peak memory (MiB) of one evaluation before any has been measured."""
    hours = settings.horizon or case.hours
    per_hour = MB_PER_HOUR + MB_PER_HOUR_AND_COMPONENT * max(1, len(case.spec.components))
    return BASE_MB + per_hour * hours


class RayExecutor:
    """Evaluates candidates on the actors of a :class:`SharedRayPool`, at most
    ``workers`` at a time.

    The case is put in the object store once. Each actor keeps the interval models of
    its last candidate, and a candidate goes preferably to an actor whose last one had
    the same structure (:func:`structure_hint`). A candidate whose actor died (a node
    lost) is tried again on another; one whose retries are spent is recorded as failed. With
    ``longest_first`` the candidates are handed out hardest first (``expected_work``), so
    the batch does not end with one worker busy and the others idle. Given a ``pool``
    (a :class:`SharedRayPool`), its tasks share that pool's queue with other runs'
    (``fair_share``: the run that has used the fewest worker-seconds goes first);
    otherwise the executor has a pool of its own.
    """

    name = "ray"

    def __init__(
        self,
        case: Case,
        settings: OperationSettings,
        retries: int = 1,
        workers: int | None = None,
        address: str | None = None,
        longest_first: bool = True,
        pool: SharedRayPool | None = None,
        fair_share: bool = False,
        keep_models: bool = True,
    ) -> None:
        self.owns_pool = pool is None
        self.pool = pool if pool is not None else SharedRayPool(workers, address)
        self.ray = self.pool.ray
        self.workers = self.pool.workers
        self.case = case
        self.settings = _single_thread(settings)
        self.retries = retries
        self.longest_first = longest_first
        self.fair_share = fair_share
        self.keep_models = keep_models
        self.used_seconds = 0.0
        self.case_ref = self.pool.put(case)
        self.memory_mb = memory_estimate_mb(case, settings)
        self.measured_mb: float | None = None

    def task_memory(self) -> int:
        """Bytes a task declares to Ray: the estimate, or the measured peak with headroom
        once evaluations have reported theirs; never more than the largest node has (a
        task no node can hold would wait forever)."""
        mb = self.memory_mb if self.measured_mb is None else self.measured_mb * MEASURED_HEADROOM
        largest = self.pool.largest_node_memory()
        want = int(mb * 2**20)
        return min(want, int(largest)) if largest > 0 else want

    def _account(self, e: Evaluation | None) -> None:
        """Worker-seconds used (fair share) and the largest measured peak (memory)."""
        if e is not None:
            self.used_seconds += e.seconds
        if e is not None and e.peak_rss_mb:
            self.measured_mb = max(self.measured_mb or 0.0, float(e.peak_rss_mb))

    def priority(self, candidate: Candidate) -> tuple:
        """Queue priority of a candidate: its expected work (hardest first), or none;
        with ``fair_share`` first the worker-seconds this executor's evaluations have
        used so far (least first), so runs sharing a pool get equal compute."""
        work = tuple(expected_work(self.case, candidate)) if self.longest_first else ()
        return ((-round(self.used_seconds, 1),) + work) if self.fair_share else work

    def order(self, candidates: list[Candidate]) -> list[int]:
        """Indices of the candidates in the order they are handed out."""
        prio = [self.priority(c) for c in candidates]
        return sorted(range(len(candidates)), key=lambda i: prio[i], reverse=True)

    def map(self, candidates: list[Candidate], deadline: float | None = None,
            settings: OperationSettings | None = None) -> list[Evaluation | None]:
        """Evaluations in the order of the candidates. With a ``deadline``
        (``time.monotonic()``) each task gets at most the time left when it starts, and
        at the deadline the tasks not finished are stopped: those are None (not
        evaluated). ``settings`` replaces the executor's operation settings for this
        call."""
        return self.map_groups([(candidates, settings)], deadline)[0]

    def map_groups(self, groups: list[tuple[list[Candidate], OperationSettings | None]],
                   deadline: float | None = None) -> list[list[Evaluation | None]]:
        """:meth:`map` for several (candidates, settings) groups at once: all their
        tasks share the queue (hardest first), so no worker idles while another group
        has work."""
        left = _left(deadline)
        if left is not None and left <= 0:
            return [[None] * len(cands) for cands, _ in groups]
        memory = self.task_memory()  # asks Ray for its nodes: once per batch, not per task
        submitted = [[self.submit(c, settings, deadline, memory) for c in cands]
                     for cands, settings in groups]
        wait([f for futures in submitted for f in futures], timeout=_left(deadline))
        return [[self.collect(c, f) for c, f in zip(cands, futures, strict=True)]
                for (cands, _), futures in zip(groups, submitted, strict=True)]

    def submit(self, candidate: Candidate, settings: OperationSettings | None = None,
               deadline: float | None = None, memory: int | None = None) -> Future:
        """Queue one evaluation; its future holds what :meth:`collect` reads. Executors
        of other cases sharing this one's pool share its queue."""
        left = _left(deadline)
        wall = None if left is None else time.time() + left
        base = self.settings if settings is None else _single_thread(settings)
        return self.pool.submit(
            _ray_task, (self.case_ref, candidate, base, self.retries, wall, self.keep_models),
            self.priority(candidate), self.retries,
            self.task_memory() if memory is None else memory,
            structure_hint(self.case, candidate, base))

    def collect(self, candidate: Candidate, future: Future) -> Evaluation | None:
        """The evaluation of a submitted candidate: an unfinished one is stopped (None:
        not evaluated), a lost task is a failed candidate."""
        if not future.done():
            self.pool.cancel(future)
        try:
            e = future.result()
        except Exception as exc:  # noqa: BLE001 - a lost task is a failed candidate
            e = Evaluation(candidate.design, candidate.weight, ok=False,
                           attempts=self.retries + 1, error=f"ray task failed: {exc}")
        self._account(e)
        return e

    def call(self, func, arguments: list[tuple]) -> list:
        """``func(case, *args)`` for each tuple of ``arguments`` as Ray tasks (one CPU
        each, the case from the object store); results in the order of ``arguments``."""
        out: list = [None] * len(arguments)
        for i, result in self.call_each(func, arguments):
            out[i] = result
        return out

    def call_each(self, func, arguments: list[tuple]) -> Iterator[tuple[int, object]]:
        """:meth:`call`, each result as (index, result) in the order they finish."""
        futures = {self.pool.submit(func, (self.case_ref, *args), (1_000,)): i
                   for i, args in enumerate(arguments)}
        for f in as_completed(futures):
            yield futures[f], f.result()

    def close(self) -> None:
        """Release the pool (and the local cluster) this executor started."""
        if self.owns_pool:
            self.pool.close()


def make_executor(kind: str, case: Case, settings: OperationSettings, retries: int = 1,
                  workers: int | None = None, address: str | None = None,
                  longest_first: bool = True, keep_models: bool = True):
    """``serial`` or ``ray``."""
    if kind == "serial":
        return SerialExecutor(case, settings, retries, keep_models)
    if kind == "ray":
        return RayExecutor(case, settings, retries, workers, address, longest_first,
                           keep_models=keep_models)
    raise ValueError(f"executor must be ray or serial, not {kind!r}")
