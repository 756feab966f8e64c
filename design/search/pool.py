"""One queue of jobs shared by every run that uses it, run by a pool of Ray actors.

Each of ``workers`` actors is a long-lived worker process (one CPU, the memory its jobs
declare), so what a job leaves in its process (a design candidate's kept interval
models, :func:`design.search.executors.process_workspace`) serves the next job there. A
dispatcher thread hands an idle actor the queued job with the highest priority (hardest
candidates first), whichever run queued it; among the next ``workers`` jobs in that order
it prefers one whose ``affinity`` (a structure key) is the actor's last, so kept models
are reused without reordering the queue by more than one round. Runs submit from their
own threads and wait on futures. An actor that dies (a node lost) is replaced and its job
queued again while it has retries left; an actor whose job is cancelled is killed and
replaced; an actor idle for ``linger`` seconds is released, so that another pool on the
same cluster can start its own. Joining a cluster ships lcen's code to the nodes
(``code_runtime_env``).
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
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
    __slots__ = ("func", "args", "memory", "retries", "affinity", "future")

    def __init__(self, func, args, memory: int | None, retries: int, affinity) -> None:
        self.func, self.args, self.memory = func, args, memory
        self.retries, self.affinity = retries, affinity
        self.future: Future = Future()


class PoolWorker:
    """The actor class: runs ``func(*args)`` in its own long-lived process."""

    def ready(self) -> bool:
        """Answers once the actor's process is up."""
        return True

    def run(self, func, *args):
        """``func(*args)`` (object references among ``args`` arrive as their values)."""
        return func(*args)


class _Actor:
    """One actor of the pool and what the dispatcher knows of it."""

    __slots__ = ("handle", "memory", "ready_ref", "job", "ref", "affinity", "idle_since")

    def __init__(self, handle, memory: int | None) -> None:
        self.handle, self.memory = handle, memory
        self.ready_ref = handle.ready.remote()
        self.job: _Job | None = None
        self.ref = None
        self.affinity = None
        self.idle_since: float | None = None


class SharedRayPool:
    """Jobs from any number of runs (threads) through one priority queue, run on a pool
    of ``workers`` Ray actors.

    ``submit`` returns a future; ``cancel`` drops a queued job or stops a running one (its
    future then holds None). ``close`` stops the dispatcher and the actors and, when this
    pool started the cluster, shuts it down. ``stats`` counts the jobs run on an actor
    whose previous job had the same affinity (``affine``) and the actors started.
    """

    def __init__(self, workers: int | None = None, address: str | None = None,
                 linger: float = 10.0) -> None:
        self.ray, self.owns_cluster = connect(workers, address)
        self.workers = workers or max(1, int(self.ray.available_resources().get("CPU", 1)))
        self.linger = linger
        self._actor_class = self.ray.remote(PoolWorker)
        self._actors: list[_Actor] = []
        self._queue: list = []
        self._order = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self.stats = {"jobs": 0, "affine": 0, "actors_started": 0, "actors_lost": 0}
        self._thread = threading.Thread(target=self._dispatch, name="lcen-ray-pool",
                                        daemon=True)
        self._thread.start()

    def largest_node_memory(self) -> float:
        """Bytes of Ray's memory resource on the largest live node (0 if unknown)."""
        return max((n["Resources"].get("memory", 0.0) for n in self.ray.nodes()
                    if n.get("Alive")), default=0.0)

    def put(self, value):
        """``ray.put``: one copy in the object store for every job that needs it."""
        return self.ray.put(value)

    def submit(self, func, args: tuple, priority: tuple = (), retries: int = 0,
               memory: int | None = None, affinity=None) -> Future:
        """Queue ``func(*args)``; higher ``priority`` tuples go first, equal ones in the
        order submitted. ``memory`` (bytes) is reserved by the actor that runs it;
        ``affinity`` (hashable) prefers an actor whose last job had the same."""
        job = _Job(func, args, int(memory) if memory else None, max(retries, 0), affinity)
        with self._cv:
            if self._closed:
                raise RuntimeError("the Ray pool is closed")
            self._push(job, priority)
            self._cv.notify_all()
        return job.future

    def _push(self, job: _Job, priority: tuple) -> None:
        heapq.heappush(self._queue, (tuple(-p for p in priority), next(self._order), job))

    def cancel(self, future: Future) -> None:
        """Drop the job of ``future`` if queued; if running, kill its actor (replaced on
        demand); its result is None."""
        with self._cv:
            for i, (_, _, job) in enumerate(self._queue):
                if job.future is future:
                    self._queue.pop(i)
                    heapq.heapify(self._queue)
                    job.future.set_result(None)
                    return
            for actor in list(self._actors):
                if actor.job is not None and actor.job.future is future:
                    self._retire(actor)
                    future.set_result(None)
                    self._cv.notify_all()
                    return

    def _retire(self, actor: _Actor) -> None:
        """Kill an actor and forget it (the caller holds the lock)."""
        self._actors.remove(actor)
        try:
            self.ray.kill(actor.handle)
        except Exception:  # noqa: BLE001 - already dead
            pass

    def _spawn(self, memory: int | None) -> None:
        options = {"num_cpus": 1, "max_restarts": 0, "scheduling_strategy": "SPREAD"}
        if memory:
            options["memory"] = memory
        handle = self._actor_class.options(**options).remote()
        self._actors.append(_Actor(handle, memory))
        self.stats["actors_started"] += 1

    def _pick(self, actor: _Actor) -> _Job | None:
        """The job for an idle actor: the first of the next ``workers`` in priority order
        with the actor's affinity, else the first; one needing more memory than the actor
        holds is left to an actor started for it."""
        if not self._queue:
            return None
        ahead = heapq.nsmallest(self.workers, self._queue)
        entry = next((e for e in ahead if actor.affinity is not None
                      and e[2].affinity == actor.affinity), ahead[0])
        job = entry[2]
        if job.memory and (actor.memory or 0) < job.memory:
            return None
        self._queue.remove(entry)
        heapq.heapify(self._queue)
        return job

    def _assign(self) -> None:
        """Start actors up to ``workers`` while jobs wait, replace idle ones too small
        for the next job, hand jobs to idle actors, release actors idle too long (the
        caller holds the lock)."""
        now = time.monotonic()
        for actor in [a for a in self._actors if a.ready_ref is None and a.job is None]:
            job = self._pick(actor)
            if job is None:
                if self._queue:
                    self._retire(actor)  # too small for the next job: one is started for it
                elif actor.idle_since is not None and now - actor.idle_since > self.linger:
                    self._retire(actor)
                continue
            self.stats["jobs"] += 1
            if job.affinity is not None and job.affinity == actor.affinity:
                self.stats["affine"] += 1
            actor.job, actor.affinity, actor.idle_since = job, job.affinity, None
            actor.ref = actor.handle.run.remote(job.func, *job.args)
        waiting = len(self._queue) - sum(a.ready_ref is not None for a in self._actors)
        while waiting > 0 and len(self._actors) < self.workers:
            need = max((j.memory or 0 for _, _, j in self._queue), default=0)
            self._spawn(need or None)
            waiting -= 1

    def _dispatch(self) -> None:
        ray = self.ray
        while True:
            with self._cv:
                if self._closed:
                    return
                self._assign()
                refs = {}
                for a in self._actors:
                    if a.ready_ref is not None:
                        refs[a.ready_ref] = a
                    elif a.ref is not None:
                        refs[a.ref] = a
                if not refs:
                    # nothing in flight: woken by a submit, or in time to release
                    # actors idle for longer than ``linger``
                    self._cv.wait(0.5)
                    continue
            done, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
            for ref in done:
                self._finished(refs[ref], ref)

    def _finished(self, actor: _Actor, ref) -> None:
        """An actor answered: it is up, or its job ended (result, error or its death)."""
        try:
            value, error = self.ray.get(ref), None
        except Exception as exc:  # noqa: BLE001 - the submitter decides what a loss is
            value, error = None, exc
        with self._cv:
            if actor not in self._actors:
                return  # retired meanwhile (its job was cancelled)
            if actor.ready_ref is not None and ref == actor.ready_ref:
                actor.ready_ref = None
                if error is not None:
                    self._lost(actor)
                else:
                    actor.idle_since = time.monotonic()
                self._cv.notify_all()
                return
            job, actor.job, actor.ref = actor.job, None, None
            actor.idle_since = time.monotonic()
            if job is None or job.future.done():
                return
            if error is None:
                job.future.set_result(value)
            elif isinstance(error, self.ray.exceptions.RayActorError):
                # the actor (its process or node) is gone: another actor takes the job
                self._lost(actor)
                if job.retries > 0:
                    job.retries -= 1
                    self._push(job, (1_000_000,))
                else:
                    job.future.set_exception(error)
            else:
                job.future.set_exception(error)
            self._cv.notify_all()

    def _lost(self, actor: _Actor) -> None:
        self.stats["actors_lost"] += 1
        self._retire(actor)

    def close(self) -> None:
        """Stop the dispatcher (queued jobs end as None), the actors, and a cluster this
        pool started."""
        with self._cv:
            self._closed = True
            for _, _, job in self._queue:
                job.future.set_result(None)
            self._queue.clear()
            for actor in list(self._actors):
                if actor.job is not None and not actor.job.future.done():
                    actor.job.future.set_result(None)
                self._retire(actor)
            self._cv.notify_all()
        self._thread.join(timeout=5)
        if self.owns_cluster:
            self.ray.shutdown()
