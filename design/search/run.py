"""One design run: the search, with the results folder written after every generation
and at the end (an interrupted run leaves a readable folder; its figures are redrawn at
most every ``FIGURE_SECONDS`` during the run, and always at the end)."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict
from pathlib import Path

from design.network.basis import Basis
from design.network.case import Case
from design.report.results_folder import write_results
from design.search.evaluate import Candidate
from design.search.nsga import SearchState, run_search
from design.search.settings import SearchSettings, case_digest

#: figures are drawn with pyplot's global state: one results folder at a time
_WRITING = threading.Lock()

#: the least time between two drawings of a running search's figures: drawing them takes
#: 3-6 s (most of a short run's time), the tables are written every generation
FIGURE_SECONDS = 60.0


def run_record(case: Case, settings: SearchSettings, state: SearchState | None,
               **extra) -> dict:
    """settings.json of a run: the case (name, path, component kinds), the settings, why
    and when it stopped, and ``extra`` (the case's digest, executor, workers, budget...)."""
    return {"case": case.name,
            "case_path": None if case.path is None else str(Path(case.path).resolve()),
            "basis": Basis.of(case, settings.operation.horizon).as_dict(),
            **extra,
            "stopped": None if state is None else state.stopped,
            "seconds": {} if state is None else state.seconds,
            "component_kinds": {c.name: c.kind for c in case.spec.components},
            **asdict(settings)}


def write_folder(out: Path, case: Case, settings: SearchSettings, state: SearchState,
                 figures: bool = True, **extra) -> None:
    """Write the results folder of a run's current state (thread-safe); ``figures=False``
    writes the tables and the summary only."""
    with _WRITING:
        write_results(out, state, run_record(case, settings, state, **extra), figures)


def run_design(case: Case, settings: SearchSettings, executor, out: Path, *,
               resume: bool = False, time_budget: float | None = None, progress=print,
               stop_after: int | None = None, record: dict | None = None,
               scenarios: list[tuple[Case, float]] | None = None,
               start: list[Candidate] | None = None) -> SearchState:
    """Run (or resume) the search of one case into ``out`` and write its results folder
    after every generation (figures at most every ``FIGURE_SECONDS``) and at the end;
    ``record`` goes into settings.json; ``scenarios`` go to the seeding, ``start`` to the
    first population (:func:`design.search.nsga.run_search`)."""
    extra = {"case_digest": case_digest(case), "time_budget": time_budget, **(record or {})}
    drawn = [time.perf_counter()]

    def generation(st: SearchState) -> None:
        figures = time.perf_counter() - drawn[0] >= FIGURE_SECONDS
        write_folder(out, case, settings, st, figures, **extra)
        if figures:
            drawn[0] = time.perf_counter()

    state = run_search(case, settings, executor, out, resume=resume, progress=progress,
                       time_budget=time_budget, stop_after=stop_after,
                       on_generation=generation, scenarios=scenarios, start=start)
    write_folder(out, case, settings, state, **extra)
    return state
