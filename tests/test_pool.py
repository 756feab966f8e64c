"""The shared Ray pool: long-lived actors, structure affinity, cancellation, and kept
models across the candidates an actor evaluates."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from decomp.dw import DWSettings
from design.network.operate import OperationSettings
from design.search.evaluate import Candidate
from design.search.executors import RayExecutor, structure_hint
from design.search.pool import SharedRayPool


def _where(affinity: str, seconds: float) -> tuple[str, int]:
    time.sleep(seconds)
    return affinity, os.getpid()


def _barrier(folder: str, parties: int) -> int:
    """Returns once ``parties`` jobs have entered (each on its own actor)."""
    Path(folder, f"{os.getpid()}-{time.monotonic_ns()}").touch()
    t0 = time.monotonic()
    while len(list(Path(folder).iterdir())) < parties and time.monotonic() - t0 < 120:
        time.sleep(0.05)
    return os.getpid()


def test_jobs_go_to_the_actor_of_their_affinity(ray_cluster, tmp_path):
    pool = SharedRayPool(workers=2)
    # both actors up and running at once before the jobs under test arrive
    up = [pool.submit(_barrier, (str(tmp_path), 2)) for _ in range(2)]
    assert len({f.result(timeout=180) for f in up}) == 2
    kinds = ["a", "b"] * 5
    futures = [pool.submit(_where, (k, 0.3), affinity=k) for k in kinds]
    done = [f.result(timeout=120) for f in futures]
    pids = {k: {pid for kind, pid in done if kind == k} for k in "ab"}
    # two actors: each affinity stays on the actor that ran it first
    assert len(pids["a"]) == 1 and len(pids["b"]) == 1 and pids["a"] != pids["b"]
    assert pool.stats["jobs"] == 12 and pool.stats["affine"] == 8
    assert pool.stats["actors_started"] == 2
    pool.close()


def test_priority_still_rules_beyond_one_round(ray_cluster):
    pool = SharedRayPool(workers=1)
    first = pool.submit(_where, ("x", 0.5), priority=(5,), affinity="x")
    time.sleep(2.0)  # the actor is busy with the first job when the others arrive
    low = pool.submit(_where, ("x", 0.0), priority=(1,), affinity="x")
    high = pool.submit(_where, ("y", 0.0), priority=(9,), affinity="y")
    order = []
    for name, f in (("low", low), ("high", high)):
        f.add_done_callback(lambda _, name=name: order.append(name))
    first.result(timeout=120), low.result(timeout=120), high.result(timeout=120)
    # one worker: the look-ahead is one job, so the higher priority goes first although
    # the lower one has the actor's affinity
    assert order == ["high", "low"]
    pool.close()


def test_cancelled_job_kills_its_actor_and_the_pool_goes_on(ray_cluster):
    pool = SharedRayPool(workers=1)
    long = pool.submit(_where, ("x", 60.0))
    while pool.stats["jobs"] < 1:
        time.sleep(0.05)
    time.sleep(0.5)
    t0 = time.monotonic()
    pool.cancel(long)
    assert long.result(timeout=5) is None
    assert pool.submit(_where, ("y", 0.0)).result(timeout=120)[0] == "y"
    assert time.monotonic() - t0 < 60 and pool.stats["actors_started"] == 2
    pool.close()


def test_closed_pool_refuses_jobs(ray_cluster):
    pool = SharedRayPool(workers=1)
    pool.close()
    with pytest.raises(RuntimeError, match="closed"):
        pool.submit(_where, ("x", 0.0))


def test_ray_actors_keep_models_across_candidates(small_case, ray_cluster):
    op = OperationSettings(method="dw", horizon=8,
                           dw=DWSettings(interval=4, gap=0.05, time_limit=60))
    executor = RayExecutor(small_case, op, workers=2, longest_first=False)
    design = small_case.design()
    cands = [Candidate({k: v * f for k, v in design.items()}, w)
             for f, w in ((1.0, 0.3), (0.8, 0.6), (1.2, 0.4), (0.9, 0.7))]
    assert len({structure_hint(small_case, c, op) for c in cands}) == 1
    evals = executor.map(cands)
    assert all(e.ok for e in evals)
    # each actor builds once; the candidates after the first on an actor reuse its models
    actors = len({e.worker for e in evals})
    assert sum(bool(e.models_kept) for e in evals) == len(cands) - actors
    assert executor.pool.stats["affine"] == len(cands) - actors
    # a candidate without a component has another structure: another hint
    none = Candidate({**design, "battery": 0.0}, 0.5)
    assert structure_hint(small_case, none, op) != structure_hint(small_case, cands[0], op)
    executor.close()
