"""Run a study: every (case, variation, seed) a design run with its own checkpoint and
results folder, all runs' candidates in one shared Ray queue."""

from __future__ import annotations

import json
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from design.network.builtin import resolve_case
from design.network.case import Case, CaseError
from design.network.changes import apply_changes
from design.scenarios.executor import ScenarioExecutor
from design.scenarios.spec import Scenarios, load_scenarios
from design.search.executors import RayExecutor
from design.search.nsga import CHECKPOINT
from design.search.pool import SharedRayPool
from design.search.run import run_design
from design.search.settings import SearchSettings
from design.study.spec import StudySpec


@dataclass(frozen=True)
class StudyRun:
    """One run of a study: a base case under a variation with a seed."""

    case: str
    variation: str
    seed: int
    folder: str

    @property
    def label(self) -> str:
        """``case / variation / seed N``."""
        return f"{self.case} / {self.variation} / seed {self.seed}"


@dataclass(frozen=True)
class PreparedRun:
    """A run with its varied case and search settings, ready to start."""

    run: StudyRun
    case: Case
    settings: SearchSettings
    scenarios: Scenarios | None = None


def _resolve(name: str, study_path: Path) -> Case:
    """A built-in case or a case file (relative to the study file first)."""
    local = study_path.parent / name
    return resolve_case(str(local) if local.exists() else name)


def expand(study: StudySpec, study_path: Path) -> list[PreparedRun]:
    """Every (case, variation, seed) of the study, varied cases built and validated (all
    errors before anything is solved)."""
    runs = []
    for name in study.cases:
        try:
            base = _resolve(name, study_path)
        except CaseError as exc:
            raise CaseError(f"{study_path}: field 'cases' = {name!r}: {exc}") from None
        for variation in study.variations:
            case = apply_changes(base, variation, study_path)
            scenarios = None
            if study.scenarios is not None:
                try:
                    scenarios = load_scenarios(study_path.parent / study.scenarios, case)
                except CaseError as exc:
                    raise CaseError(f"{study_path}: field 'scenarios' = "
                                    f"{study.scenarios!r}: {exc}") from None
            for seed in study.seeds:
                folder = f"{base.name}-{variation.name}-s{seed}"
                runs.append(PreparedRun(StudyRun(base.name, variation.name, seed, folder), case,
                                        study.search.settings(seed), scenarios))
    folders = [r.run.folder for r in runs]
    dup = sorted({f for f in folders if folders.count(f) > 1})
    if dup:
        raise CaseError(f"{study_path}: field 'cases': two cases share a name {dup}")
    return runs


def run_study(study: StudySpec, study_path: Path, out: Path, pool: SharedRayPool, *,
              resume: bool = False, progress=print, stop_after: int | None = None,
              prepared: list[PreparedRun] | None = None) -> pd.DataFrame:
    """Run every run of the study concurrently on ``pool``; returns (and writes to
    ``out/runs.csv``) one row per run: its status (done, stopped, failed with the error),
    seeds (typical-day design MILPs), evaluations (the rows of its evaluations.parquet),
    front size (the rows of its pareto.csv) and wall time. A failed run does not stop the
    others; with ``resume`` each run continues from its own checkpoint: a finished one, or
    one whose time budget (its wall time over all sessions) is spent, is left as is.
    ``stop_after`` ends every run after that many generations (as an interruption).
    ``prepared``: the study's runs when :func:`expand` has built them already."""
    prepared = expand(study, study_path) if prepared is None else prepared
    out.mkdir(parents=True, exist_ok=True)
    (out / "study.json").write_text(json.dumps(
        {"study": study.model_dump(mode="json"), "study_path": str(study_path.resolve()),
         "runs": [r.run.__dict__ for r in prepared]}, indent=2))
    progress(f"study {study.name}: {len(prepared)} runs ({len(study.cases)} cases x "
             f"{len(study.variations)} variations x {len(study.seeds)} seeds) on "
             f"{pool.workers} workers")
    rows: dict[str, dict] = {}
    lock = threading.Lock()
    t0 = time.perf_counter()

    def one(p: PreparedRun) -> None:
        run, folder = p.run, out / p.run.folder
        row = {**run.__dict__, "status": "failed", "error": None}
        started = time.perf_counter()
        try:
            fair = study.queue == "fair-share"
            record = {"executor": "ray", "workers": pool.workers, "study": study.name,
                      "variation": run.variation, "seed": run.seed}
            if p.scenarios is None:
                executor = RayExecutor(p.case, p.settings.operation, p.settings.retries,
                                       pool=pool, fair_share=fair)
            else:
                executor = ScenarioExecutor(p.scenarios, p.settings.operation, "ray",
                                            p.settings.retries, pool=pool, fair_share=fair)
                record["scenarios"] = p.scenarios.record()
            state = run_design(
                p.case, p.settings, executor, folder,
                resume=resume and (folder / CHECKPOINT).exists(),
                time_budget=study.search.time_budget, stop_after=stop_after,
                progress=lambda m: progress(f"[{run.folder}] {m}"), record=record,
                scenarios=None if p.scenarios is None else p.scenarios.pairs())
            row |= {"status": "stopped" if state.stopped else "done",
                    "stopped": state.stopped, "generations": state.generation,
                    "seeds": len(state.seeds), "evaluations": len(state.records),
                    "failed_evaluations": sum(not r.get("ok", False)
                                              for r in state.records),
                    "front": len(state.front()), "spent_seconds": state.spent}
        except Exception as exc:  # noqa: BLE001 - a failed run is recorded, the others go on
            row["error"] = f"{type(exc).__name__}: {exc}"
            progress(f"[{run.folder}] failed: {row['error']}")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "error.txt").write_text(traceback.format_exc())
        row["seconds"] = time.perf_counter() - started
        with lock:
            rows[run.folder] = row

    threads = [threading.Thread(target=one, args=(p,), name=p.run.folder) for p in prepared]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    table = pd.DataFrame([rows[p.run.folder] for p in prepared])
    table.to_csv(out / "runs.csv", index=False)
    wall = time.perf_counter() - t0
    total = int(table.get("evaluations", pd.Series(dtype=float)).fillna(0).sum())
    progress(f"study {study.name}: {total} evaluations in {wall:.0f} s "
             f"({60 * total / max(wall, 1e-9):.1f} per minute), "
             f"{int((table['status'] == 'failed').sum())} runs failed")
    return table
