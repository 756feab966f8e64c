"""Run by tests/test_study.py in a subprocess: a study on a simulated 3-node Ray cluster
(ray.cluster_utils.Cluster), uninterrupted, with a worker node killed mid-study, and
interrupted then resumed. Prints one JSON line of findings."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import yaml
from ray.cluster_utils import Cluster

from design.search.pool import SharedRayPool
from design.study.runner import run_study
from design.study.spec import load_study

SEARCH = {"pop": 4, "generations": 2, "method": "direct", "horizon": 8, "time_limit": 30,
          "typical_periods": 0, "polish_gap": 0, "time_budget": None, "retries": 2}


def fronts(out: Path) -> dict:
    runs = pd.read_csv(out / "runs.csv")
    found = {}
    for folder in runs["folder"]:
        f = pd.read_csv(out / folder / "pareto.csv")
        found[folder] = sorted(zip(f["annual_total_cost"].round(6).tolist(),
                                   f["autonomy"].round(6).tolist(), strict=True))
    return found


def main(tmp: Path) -> None:
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump({"name": "cluster", "cases": ["small"],
                                    "variations": [{"name": "base"}], "seeds": [1, 2],
                                    "search": SEARCH}))
    study = load_study(path)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(3)]
    cluster.wait_for_nodes()
    pool = SharedRayPool(workers=3, address=cluster.address)
    quiet = lambda m: None  # noqa: E731
    statuses = []

    table = run_study(study, path, tmp / "a", pool, progress=quiet)
    statuses += list(table["status"])
    used = set()
    for folder in table["folder"]:
        used |= set(pd.read_parquet(tmp / "a" / folder / "evaluations.parquet")["node"])

    # kill a worker node that has finished evaluations while the study goes on
    finished: list = []
    submit = pool.submit

    def watched(*args, **kwargs):
        fut = submit(*args, **kwargs)
        fut.add_done_callback(lambda f: finished.append(f.result()) if not f.exception()
                              else None)
        return fut

    pool.submit = watched
    box = {}
    worker = threading.Thread(target=lambda: box.setdefault(
        "table", run_study(study, path, tmp / "b", pool, progress=quiet)))
    worker.start()
    while len([e for e in finished if e is not None]) < 3 and worker.is_alive():
        time.sleep(0.05)
    by_node = {e.node for e in finished if e is not None}
    ids = {n.node_id: n for n in workers}
    victim = next((ids[n] for n in by_node if n in ids), None)
    before = [(json.dumps(e.design, sort_keys=True), e.weight, e.annual_total_cost)
              for e in finished if e is not None]
    if victim is not None:
        cluster.remove_node(victim, allow_graceful=False)
    worker.join()
    statuses += list(box["table"]["status"])
    after = set()
    for folder in box["table"]["folder"]:
        ev = pd.read_parquet(tmp / "b" / folder / "evaluations.parquet")
        for _, r in ev.iterrows():
            design = {c: r[c] for c in ("pv", "battery", "electrolyser", "mh_tank",
                                        "fuel_cell", "heat_pump_house", "heat_pump_flats",
                                        "tank_flats")}
            after.add((json.dumps(design, sort_keys=True), r["W"], r["annual_total_cost"]))
    kept = all(any(d == a[0] and w == a[1] and abs(c - a[2]) < 1e-6 for a in after)
               for d, w, c in before)

    run_study(study, path, tmp / "c", pool, progress=quiet, stop_after=1)
    resumed = run_study(study, path, tmp / "c", pool, progress=quiet, resume=True)
    statuses += list(resumed["status"])
    pool.close()
    result = {"nodes_used": len(used), "killed_node_had_tasks": victim is not None,
              "finished_before_kill_kept": kept and len(before) >= 3,
              "fronts_uninterrupted": fronts(tmp / "a"), "fronts_after_kill": fronts(tmp / "b"),
              "fronts_resumed": fronts(tmp / "c"), "statuses": statuses}
    import ray

    ray.shutdown()
    cluster.shutdown()
    print(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
