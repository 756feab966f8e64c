"""Where candidates are evaluated: in this process, or as Ray tasks (local or a cluster)."""

from __future__ import annotations

import os
from dataclasses import replace

from design.case import Case
from design.evaluate import Candidate, Evaluation, evaluate
from design.operate import OperationSettings


def _single_thread(settings: OperationSettings) -> OperationSettings:
    """HiGHS fixes its thread count per process: one thread per parallel worker."""
    solve = replace(settings.solve, threads=1)
    dw = replace(settings.dw, solve=replace(settings.dw.solve, threads=1))
    return replace(settings, solve=solve, dw=dw)


def evaluate_with_retries(
    case: Case, candidate: Candidate, settings: OperationSettings, retries: int
) -> Evaluation:
    """Evaluate; a failed evaluation is tried again up to ``retries`` times."""
    result = evaluate(case, candidate, settings)
    attempt = 1
    while not result.ok and attempt <= retries:
        attempt += 1
        result = evaluate(case, candidate, settings)
    return replace(result, attempts=attempt)


class SerialExecutor:
    """Evaluates candidates one after the other in this process (debugging, tests)."""

    name = "serial"

    def __init__(self, case: Case, settings: OperationSettings, retries: int = 1) -> None:
        self.case, self.settings, self.retries = case, settings, retries

    def map(self, candidates: list[Candidate]) -> list[Evaluation]:
        """Evaluations in the order of the candidates."""
        return [evaluate_with_retries(self.case, c, self.settings, self.retries)
                for c in candidates]

    def close(self) -> None:
        """Nothing to release."""


def _ray_task(case: Case, candidate: Candidate, settings: OperationSettings,
              retries: int) -> Evaluation:
    return evaluate_with_retries(case, candidate, settings, retries)


class RayExecutor:
    """Evaluates candidates as Ray tasks, at most ``workers`` at a time.

    The case is put in the object store once. Worker crashes are retried by Ray
    (``max_retries``); a candidate whose task still fails is recorded as failed.
    """

    name = "ray"

    def __init__(
        self,
        case: Case,
        settings: OperationSettings,
        retries: int = 1,
        workers: int | None = None,
        address: str | None = None,
    ) -> None:
        import ray

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
        self.settings = _single_thread(settings)
        self.retries = retries
        self.case_ref = ray.put(case)
        self.task = ray.remote(num_cpus=1, max_retries=max(retries, 0))(_ray_task)

    def map(self, candidates: list[Candidate]) -> list[Evaluation]:
        """Evaluations in the order of the candidates."""
        ray = self.ray
        results: dict[int, Evaluation] = {}
        pending: dict = {}
        queue = list(enumerate(candidates))
        while queue or pending:
            while queue and len(pending) < self.workers:
                i, cand = queue.pop(0)
                ref = self.task.remote(self.case_ref, cand, self.settings, self.retries)
                pending[ref] = (i, cand)
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i, cand = pending.pop(ref)
                try:
                    results[i] = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost task is a failed candidate
                    results[i] = Evaluation(cand.design, cand.weight, ok=False,
                                            attempts=self.retries + 1,
                                            error=f"ray task failed: {exc}")
        return [results[i] for i in range(len(candidates))]

    def close(self) -> None:
        """Shut down the local cluster this executor started."""
        if self.owns_cluster:
            self.ray.shutdown()


def make_executor(kind: str, case: Case, settings: OperationSettings, retries: int = 1,
                  workers: int | None = None, address: str | None = None):
    """``serial`` or ``ray``."""
    if kind == "serial":
        return SerialExecutor(case, settings, retries)
    if kind == "ray":
        return RayExecutor(case, settings, retries, workers, address)
    raise ValueError(f"executor must be ray or serial, not {kind!r}")

