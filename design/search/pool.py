"""One queue of Ray tasks shared by every run that uses it.

A dispatcher thread keeps at most ``workers`` tasks in flight and hands out the queued
task with the highest priority next (hardest candidates first), whichever run queued it,
so a cluster stays busy while one run waits for its slowest candidate. Runs submit from
their own threads and wait on futures; each task declares its memory to Ray, and joining a
cluster ships lcen's code to the nodes (``code_runtime_env``).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
from concurrent.futures import Future
from pathlib import Path


def code_runtime_env() -> dict:
    """Ray runtime environment that ships lcen's own packages (decomp, design, cases) to
    the nodes of a cluster; the nodes need the same Python and lcen's dependencies."""
    import cases
    import decomp
    import design.search

    roots = [Path(decomp.__file__).parent, Path(design.search.__file__).parent.parent,
             Path(cases.__file__).parent]
    return {"py_modules": [str(r) for r in roots],
            "excludes": ["__pycache__", "*.pyc", "generate.py"],
            "env_vars": {"RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled")}}


def connect(workers: int | None = None, address: str | None = None) -> tuple[object, bool]:
    """(ray, whether this call started the cluster): joins ``address`` (shipping the code)
    or starts a local cluster with ``workers`` CPUs; an initialised Ray is used as is."""
    import ray

    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, not {workers}")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    if ray.is_initialized():
        return ray, False
    if address:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env=code_runtime_env())
        return ray, False
    ray.init(address="local", num_cpus=workers or os.cpu_count(), include_dashboard=False,
             log_to_driver=False)
    return ray, True


class _Job:
    __slots__ = ("func", "args", "options", "future", "ref")

    def __init__(self, func, args, options) -> None:
        self.func, self.args, self.options = func, args, options
        self.future: Future = Future()
        self.ref = None


class SharedRayPool:
    """Ray tasks from any number of runs (threads) through one priority queue.

    ``submit`` returns a future; ``cancel`` drops a queued task or stops a running one
    (its future then holds None). ``close`` stops the dispatcher and, when this pool
    started the cluster, shuts it down.
    """

    def __init__(self, workers: int | None = None, address: str | None = None) -> None:
        self.ray, self.owns_cluster = connect(workers, address)
        self.workers = workers or max(1, int(self.ray.available_resources().get("CPU", 1)))
        self._remote: dict = {}
        self._queue: list = []
        self._order = itertools.count()
        self._running: dict = {}
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._dispatch, name="lcen-ray-pool",
                                        daemon=True)
        self._thread.start()

    def largest_node_memory(self) -> float:
        """Bytes of Ray's memory resource on the largest live node (0 if unknown)."""
        return max((n["Resources"].get("memory", 0.0) for n in self.ray.nodes()
                    if n.get("Alive")), default=0.0)

    def put(self, value):
        """``ray.put``: one copy in the object store for every task that needs it."""
        return self.ray.put(value)

    def submit(self, func, args: tuple, priority: tuple = (), retries: int = 0,
               memory: int | None = None) -> Future:
        """Queue ``func(*args)`` as a one-CPU Ray task; higher ``priority`` tuples go
        first, equal ones in the order submitted."""
        options = {"num_cpus": 1, "max_retries": max(retries, 0)}
        if memory:
            options["memory"] = int(memory)
        job = _Job(func, args, options)
        with self._cv:
            if self._closed:
                raise RuntimeError("the Ray pool is closed")
            heapq.heappush(self._queue, (tuple(-p for p in priority), next(self._order), job))
            self._cv.notify_all()
        return job.future

    def cancel(self, future: Future) -> None:
        """Drop the task of ``future`` if queued, stop it if running; its result is None."""
        with self._cv:
            for i, (_, _, job) in enumerate(self._queue):
                if job.future is future:
                    self._queue.pop(i)
                    heapq.heapify(self._queue)
                    job.future.set_result(None)
                    return
            for ref, job in list(self._running.items()):
                if job.future is future:
                    del self._running[ref]
                    self.ray.cancel(ref, force=True)
                    job.future.set_result(None)
                    return

    def _remote_of(self, func):
        if func not in self._remote:
            self._remote[func] = self.ray.remote(func)
        return self._remote[func]

    def _dispatch(self) -> None:
        ray = self.ray
        while True:
            with self._cv:
                while not self._closed and not self._queue and not self._running:
                    self._cv.wait(0.5)
                if self._closed:
                    return
                while self._queue and len(self._running) < self.workers:
                    _, _, job = heapq.heappop(self._queue)
                    job.ref = self._remote_of(job.func).options(**job.options).remote(*job.args)
                    self._running[job.ref] = job
                refs = list(self._running)
            if not refs:
                continue
            done, _ = ray.wait(refs, num_returns=1, timeout=0.2)
            for ref in done:
                with self._cv:
                    job = self._running.pop(ref, None)
                if job is None or job.future.done():
                    continue  # cancelled meanwhile
                try:
                    job.future.set_result(ray.get(ref))
                except Exception as exc:  # noqa: BLE001 - the submitter decides what a loss is
                    job.future.set_exception(exc)

    def close(self) -> None:
        """Stop the dispatcher (queued tasks end as None) and a cluster this pool started."""
        with self._cv:
            self._closed = True
            for _, _, job in self._queue:
                job.future.set_result(None)
            self._queue.clear()
            self._cv.notify_all()
        self._thread.join(timeout=5)
        if self.owns_cluster:
            self.ray.shutdown()
