"""Where candidates are evaluated: in this process, or as Ray tasks (local or a cluster)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from design.case import Case
from design.evaluate import Candidate, Evaluation, evaluate, expected_work
from design.operate import OperationSettings

ORDERS: tuple[str, ...] = ("longest-first", "given")
"""How a Ray executor hands out a batch: hardest candidates first, or as given."""


def _single_thread(settings: OperationSettings) -> OperationSettings:
    """HiGHS fixes its thread count per process: one thread per parallel worker."""
    solve = replace(settings.solve, threads=1)
    dw = replace(settings.dw, solve=replace(settings.dw.solve, threads=1))
    return replace(settings, solve=solve, dw=dw)


def evaluate_with_retries(
    case: Case, candidate: Candidate, settings: OperationSettings, retries: int
) -> Evaluation:
    """Evaluate; an evaluation that failed with an exception is tried again up to
    ``retries`` times. One that ended without a plan within its limits (the solver said
    so: ``status`` is set) is not: the same solve would end the same way."""
    result = evaluate(case, candidate, settings)
    attempt = 1
    while not result.ok and result.status is None and attempt <= retries:
        attempt += 1
        result = evaluate(case, candidate, settings)
    return replace(result, attempts=attempt)


def _left(deadline: float | None) -> float | None:
    """Seconds to ``deadline`` (a ``time.monotonic()`` instant), None without one."""
    return None if deadline is None else deadline - time.monotonic()


def _for_time_left(settings: OperationSettings,
                   left: float | None) -> tuple[OperationSettings, bool]:
    """The settings a candidate starts with ``left`` seconds before the deadline, and
    whether the deadline shortened its own time limit."""
    if left is None:
        return settings, False
    own = settings.time_limit
    return settings.capped(left), own is None or left < own


def _within_budget(e: Evaluation, capped: bool) -> Evaluation | None:
    """A candidate whose time limit was cut by the deadline and that ended without a plan
    was not evaluated (None), not failed: a resumed run evaluates it again."""
    return None if capped and not e.ok else e


class SerialExecutor:
    """Evaluates candidates one after the other in this process (debugging, tests)."""

    name = "serial"

    def __init__(self, case: Case, settings: OperationSettings, retries: int = 1) -> None:
        self.case, self.settings, self.retries = case, settings, retries

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
            e = evaluate_with_retries(self.case, c, settings, self.retries)
            out.append(_within_budget(e, capped))
        return out

    workers = 1

    def call(self, func, arguments: list[tuple]) -> list:
        """``func(case, *args)`` for each tuple of ``arguments``, one after the other."""
        return [func(self.case, *args) for args in arguments]

    def close(self) -> None:
        """Nothing to release."""


def _ray_task(case: Case, candidate: Candidate, settings: OperationSettings,
              retries: int) -> Evaluation:
    return evaluate_with_retries(case, candidate, settings, retries)


class RayExecutor:
    """Evaluates candidates as Ray tasks, at most ``workers`` at a time.

    The case is put in the object store once. Worker crashes are retried by Ray
    (``max_retries``); a candidate whose task still fails is recorded as failed. With
    ``longest_first`` the candidates are handed out hardest first (``expected_work``), so
    the batch does not end with one worker busy and the others idle.
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
    ) -> None:
        import ray

        if workers is not None and workers < 1:
            raise ValueError(f"--workers must be >= 1, not {workers}")
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        self.ray = ray
        self.owns_cluster = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address="local", num_cpus=workers or os.cpu_count(),
                         include_dashboard=False, log_to_driver=False)
                self.owns_cluster = True
        self.workers = workers or max(1, int(ray.available_resources().get("CPU", 1)))
        self.case = case
        self.settings = _single_thread(settings)
        self.retries = retries
        self.longest_first = longest_first
        self.case_ref = ray.put(case)
        self.task = ray.remote(num_cpus=1, max_retries=max(retries, 0))(_ray_task)

    def order(self, candidates: list[Candidate]) -> list[int]:
        """Indices of the candidates in the order they are handed out."""
        idx = list(range(len(candidates)))
        if self.longest_first:
            work = [expected_work(self.case, c) for c in candidates]
            idx.sort(key=lambda i: work[i], reverse=True)
        return idx

    def map(self, candidates: list[Candidate], deadline: float | None = None,
            settings: OperationSettings | None = None) -> list[Evaluation | None]:
        """Evaluations in the order of the candidates. With a ``deadline``
        (``time.monotonic()``) each task gets at most the time left, and at the deadline
        the tasks still running are cancelled: those and the ones never started are None
        (not evaluated). ``settings`` replaces the executor's operation settings for this
        call."""
        ray = self.ray
        base = self.settings if settings is None else _single_thread(settings)
        results: dict[int, Evaluation | None] = {}
        pending: dict = {}
        queue = self.order(candidates)
        while queue or pending:
            left = _left(deadline)
            if left is not None and left <= 0:
                for ref, (i, _) in pending.items():
                    ray.cancel(ref, force=True)
                    results[i] = None
                results.update({i: None for i in queue})
                break
            while queue and len(pending) < self.workers:
                i = queue.pop(0)
                settings, capped = _for_time_left(base, left)
                ref = self.task.remote(self.case_ref, candidates[i], settings, self.retries)
                pending[ref] = (i, capped)
            done, _ = ray.wait(list(pending), num_returns=1, timeout=left)
            for ref in done:
                i, capped = pending.pop(ref)
                try:
                    results[i] = _within_budget(ray.get(ref), capped)
                except Exception as exc:  # noqa: BLE001 - a lost task is a failed candidate
                    cand = candidates[i]
                    results[i] = Evaluation(cand.design, cand.weight, ok=False,
                                            attempts=self.retries + 1,
                                            error=f"ray task failed: {exc}")
        return [results[i] for i in range(len(candidates))]

    def call(self, func, arguments: list[tuple]) -> list:
        """``func(case, *args)`` for each tuple of ``arguments`` as Ray tasks (one CPU
        each, the case from the object store); results in the order of ``arguments``."""
        task = self.ray.remote(num_cpus=1, max_retries=0)(func)
        return self.ray.get([task.remote(self.case_ref, *args) for args in arguments])

    def close(self) -> None:
        """Shut down the local cluster this executor started."""
        if self.owns_cluster:
            self.ray.shutdown()


def make_executor(kind: str, case: Case, settings: OperationSettings, retries: int = 1,
                  workers: int | None = None, address: str | None = None,
                  longest_first: bool = True):
    """``serial`` or ``ray``."""
    if kind == "serial":
        return SerialExecutor(case, settings, retries)
    if kind == "ray":
        return RayExecutor(case, settings, retries, workers, address, longest_first)
    raise ValueError(f"executor must be ray or serial, not {kind!r}")
