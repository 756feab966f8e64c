"""``lcen stress``: every front design of a results folder (or its picks) solved on every
scenario of a scenario set, as the design run certified its front (its method and
settings, the polish's gap and time limit), on one queue; each finished evaluation is
appended to a checkpoint, so a stopped run resumes where it stopped."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from design.network.builtin import resolve_case
from design.network.case import Case, CaseError
from design.network.operate import OperationSettings, run_operation
from design.report.tables import read_front, read_settings, read_table
from design.scenarios.executor import ScenarioExecutor
from design.scenarios.robust import robustness
from design.scenarios.spec import Scenarios, load_scenarios
from design.search.evaluate import Candidate, Evaluation, expected_work
from design.search.polish import certify
from design.search.settings import case_digest

#: the checkpoint of a stress run: one JSON line per finished evaluation
CHECKPOINT = "evaluations.jsonl"
#: what the run was made of (source, scenarios, designs): a resume must match it
RECORD = "stress.json"
#: the column of stress.csv that marks the run's own evaluations, taken rather than solved
FROM_RUN = "from_run"


@dataclass(frozen=True)
class StressDesign:
    """A design of the source front: ``label`` (``front-03``: its rank by annual total
    cost), the pick it is (if one), what is solved and the run's own record of it
    (``row``, from pareto.csv)."""

    label: str
    pick: str | None
    candidate: Candidate
    row: dict = field(compare=False, repr=False)

    @property
    def annual_total_cost(self) -> float:
        """The run's own annual total cost of the design."""
        return float(self.row["annual_total_cost"])

    @property
    def autonomy(self) -> float:
        """The run's own autonomy figure A of the design."""
        return float(self.row["autonomy"])


@dataclass(frozen=True)
class StressSettings:
    """How to run: the picks only or the whole front; where (``ray`` or ``serial``);
    retries of an evaluation that raised; the certificate each evaluation aims at
    (``gap``, ``time_limit``; None: as the run certified its front)."""

    picks_only: bool = False
    executor: str = "ray"
    workers: int | None = None
    address: str | None = None
    retries: int = 1
    gap: float | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        if self.gap is not None and not 0 < self.gap < 1:
            raise ValueError(f"--gap must be in (0, 1), not {self.gap}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"--time-limit must be positive, not {self.time_limit}")
        if self.executor not in ("ray", "serial"):
            raise ValueError(f"executor must be ray or serial, not {self.executor!r}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"--workers must be >= 1, not {self.workers}")
        if self.retries < 0:
            raise ValueError(f"--retries must be >= 0, not {self.retries}")


def front_designs(folder: Path, case: Case, picks_only: bool) -> list[StressDesign]:
    """The designs of a results folder of ``lcen design``: its front ranked by annual
    total cost, the picks named; only the picks with ``picks_only``."""
    front = read_front(folder, case)
    picks_path = folder / "picks.csv"
    picks = read_table(picks_path) if picks_path.exists() else pd.DataFrame()
    names = [c.name for c in case.spec.components]
    out = []
    width = len(str(len(front)))
    for i, (_, row) in enumerate(front.iterrows()):
        pick = None
        for _, p in picks.iterrows():
            if all(abs(float(p[n]) - float(row[n])) <= 1e-9 for n in names) and \
                    abs(float(p["W"]) - float(row["W"])) <= 1e-9:
                pick = str(p["pick"])
        if picks_only and pick is None:
            continue
        design = case.design({n: float(row[n]) for n in names})
        out.append(StressDesign(f"front-{i + 1:0{width}d}", pick,
                                Candidate(design, float(row["W"])),
                                {k: None if pd.isna(v) else v for k, v in row.items()}))
    if not out:
        raise CaseError(f"{picks_path}: no pick matches a design of "
                        f"{folder / 'pareto.csv'}: nothing to stress (leave out --picks)")
    return out


def source_case(folder: Path, how: StressSettings) -> tuple[Case, OperationSettings]:
    """The case of a results folder's run and the operation settings that certified its
    front (the run's, to the polish's gap and time limit when it polished), with
    ``how``'s gap and time limit on top."""
    record = read_settings(folder)
    if not record:
        raise CaseError(f"{folder}: settings.json not found or unreadable (not a results "
                        "folder of lcen design?)")
    name = record.get("case_path") or record.get("case")
    if not name:
        raise CaseError(f"{folder / 'settings.json'}: no field 'case'")
    op = run_operation(record.get("operation", {}))
    polish = record.get("polish") or {}
    gap = how.gap or polish.get("gap") or op.dw.gap
    limit = how.time_limit or polish.get("time_limit") or op.time_limit
    return resolve_case(str(name)), certify(op, gap, limit)


def prepare_stress_out(out: Path, record: dict, resume: bool, overwrite: bool) -> set:
    """The (design, scenario) pairs already done. A folder holding another stress run is
    replaced only with ``overwrite``; ``resume`` needs the same source, scenarios and
    designs."""
    if resume and overwrite:
        raise ValueError("--resume and --overwrite exclude each other")
    held = out / RECORD
    if resume:
        if not held.exists():
            raise ValueError(f"--resume: {out} has no {RECORD}: there is no stress run to "
                             "resume (leave out --resume to start one)")
        before = json.loads(held.read_text())
        for key in ("source", "scenarios", "designs", "operation"):
            if _fingerprint(before, key) != _fingerprint(record, key):
                raise ValueError(f"--resume: {held} was made with another {key} (the "
                                 "scenario file, the source folder or its front changed); "
                                 "--overwrite starts afresh")
        return set(read_checkpoint(out))
    if held.exists() and not overwrite:
        raise ValueError(f"{out} holds an earlier stress run: --resume continues it, "
                         "--overwrite replaces it, or choose another --out")
    if out.exists() and any(out.iterdir()) and not held.exists():
        raise ValueError(f"{out} is not empty and not a folder of lcen stress: choose "
                         "another --out")
    for path in out.glob("*") if out.exists() else []:
        if path.is_file():
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    held.write_text(json.dumps(record, indent=2, default=str))
    return set()


def _fingerprint(record: dict, key: str):
    """What a resume must find unchanged under ``key`` (the scenarios by their content,
    not where their file lies)."""
    value = record.get(key)
    return value.get("digest") if key == "scenarios" and isinstance(value, dict) else value


def read_checkpoint(out: Path) -> dict[tuple[str, str], dict]:
    """The checkpoint's rows by (design, scenario), the last where a resumed run repeated
    a pair. A line cut short by a stop is dropped from the file, so the lines appended
    next start on a line of their own."""
    path = out / CHECKPOINT
    if not path.exists():
        return {}
    rows, kept = {}, []
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        rows[(r["design"], r["scenario"])] = r
        kept.append(line)
    path.write_text("".join(f"{line}\n" for line in kept))
    return rows


def run_evaluations(run: dict, designs: list[StressDesign], scenarios: Scenarios,
                    gap: float) -> dict[tuple[str, str], dict]:
    """The run's own evaluations a stress need not repeat, by (design, scenario): on every
    scenario whose case is the run's (the digest its settings.json records), each front
    design the run certified within ``gap``. A robust run's front holds expectations, not
    one scenario's figures: none from it; nor from a run that recorded no digest."""
    digest = run.get("case_digest")
    if not digest or run.get("scenarios"):
        return {}
    same = [s for s in scenarios.names if case_digest(scenarios.cases[s]) == digest]
    out = {}
    for d in designs:
        r = d.row
        if not r.get("ok") or r.get("gap") is None or not r["gap"] <= gap:
            continue
        for s in same:
            out[(d.label, s)] = {"design": d.label, "scenario": s, **r, FROM_RUN: True}
    return out


def _jobs(designs: list[StressDesign], scenarios: Scenarios,
          done: set) -> list[tuple[StressDesign, str]]:
    """The pairs still to solve, scenario by scenario: among designs of equal expected
    work the queue then hands a worker the same scenario again, whose kept models (built
    for that scenario's series) serve designs of the same structure."""
    return [(d, s) for s in scenarios.names for d in designs if (d.label, s) not in done]


def _evaluations(jobs: list[tuple[StressDesign, str]], scenarios: Scenarios,
                 settings: OperationSettings, how: StressSettings
                 ) -> Iterator[tuple[StressDesign, str, Evaluation]]:
    """Each job's evaluation as it finishes: on a Ray pool (one queue, hardest first,
    one executor per scenario case sharing it) or one after the other here."""
    if not jobs:
        return
    sx = ScenarioExecutor(scenarios, settings, how.executor, how.retries, how.workers,
                          how.address)
    try:
        for i, e in sx.each([(d.candidate, s) for d, s in jobs]):
            yield jobs[i][0], jobs[i][1], e
    finally:
        sx.close()


def run_stress(folder: Path, scenarios_path: Path, out: Path, how: StressSettings,
               resume: bool = False, overwrite: bool = False,
               progress: Callable[[str], None] = print) -> pd.DataFrame:
    """Solve every design on every scenario (resuming a stopped run with ``resume``);
    returns the long table (one row per design and scenario) also written to
    ``stress.csv``, with ``robustness.csv`` beside it."""
    case, settings = source_case(folder, how)
    scenarios = load_scenarios(scenarios_path, case)
    designs = front_designs(folder, case, how.picks_only)
    record = {"source": str(folder.resolve()), "scenarios": scenarios.record(),
              "designs": [{"label": d.label, "pick": d.pick, "W": d.candidate.weight,
                           "design": d.candidate.design} for d in designs],
              "operation": _operation_record(settings), "case": case.name,
              "executor": how.executor, "workers": how.workers}
    done = prepare_stress_out(out, record, resume, overwrite)
    before = len(done)
    taken = {k: r for k, r in run_evaluations(read_settings(folder), designs, scenarios,
                                              settings.dw.gap).items() if k not in done}
    if taken:
        with (out / CHECKPOINT).open("a") as log:
            log.writelines(json.dumps(r, default=_plain) + "\n" for r in taken.values())
        done |= set(taken)
    jobs = _jobs(designs, scenarios, done)
    jobs.sort(key=lambda j: expected_work(case, j[0].candidate), reverse=True)
    total = len(designs) * len(scenarios.names)
    progress(f"{len(designs)} designs x {len(scenarios.names)} scenarios = {total} "
             f"evaluations ({before} done before, {len(taken)} the run's own, {len(jobs)} "
             f"to run; method {settings.method}, gap {settings.dw.gap:.1%}, "
             f"{settings.time_limit or '-'} s each)")
    if taken:
        progress(f"  the run's own: on {', '.join(sorted({s for _, s in taken}))} the case "
                 "is the run's, and the designs the run certified within "
                 f"{settings.dw.gap:.1%} are not solved again")
    t0 = time.monotonic()
    with (out / CHECKPOINT).open("a") as log:
        for n, (d, s, e) in enumerate(_evaluations(jobs, scenarios, settings, how), 1):
            row = {"design": d.label, "scenario": s, **e.row(), FROM_RUN: False}
            log.write(json.dumps(row, default=_plain) + "\n")
            log.flush()
            what = (f"cost {e.annual_total_cost:,.0f} EUR/a, A {e.autonomy:,.0f} EUR/a, "
                    f"gap {_pct(e.gap)}" if e.ok else f"failed: {(e.error or '').splitlines()[0]}")
            progress(f"{len(done) + n}/{total} {d.label}{f' ({d.pick})' if d.pick else ''} "
                     f"on {s}: {what} ({e.seconds:.0f} s; {time.monotonic() - t0:.0f} s in "
                     "this run)")
    long = stress_table(out, designs, scenarios)
    long.to_csv(out / "stress.csv", index=False)
    robust = robustness_table(long, designs, scenarios)
    robust.to_csv(out / "robustness.csv", index=False)
    return long


def stress_table(out: Path, designs: list[StressDesign], scenarios: Scenarios) -> pd.DataFrame:
    """The checkpoint as a table: one row per design and scenario (the last evaluation of
    a pair where a resumed run repeated one), in the order of designs and scenarios."""
    rows = read_checkpoint(out)
    order = [(d.label, s) for d in designs for s in scenarios.names]
    picks = {d.label: d.pick for d in designs}
    table = pd.DataFrame([{**rows[k], "pick": picks[k[0]],
                           "probability": scenarios.probabilities[k[1]]}
                          for k in order if k in rows])
    first = ["design", "pick", "scenario", "probability", "W", "ok", "annual_total_cost",
             "autonomy", "gap", "status"]
    return table[[*first, *[c for c in table.columns if c not in first]]]


def robustness_table(long: pd.DataFrame, designs: list[StressDesign],
                     scenarios: Scenarios) -> pd.DataFrame:
    """Per design: its pick, W and sizes, the run's own figures, then the expected, worst
    and best figures and regrets over the scenarios (:func:`robustness`)."""
    table = robustness(long, scenarios.probabilities)
    info = pd.DataFrame([{"design": d.label, "pick": d.pick, "W": d.candidate.weight,
                          "run_annual_total_cost": d.annual_total_cost,
                          "run_autonomy": d.autonomy, **d.candidate.design}
                         for d in designs])
    return info.merge(table, on="design", how="left")


def _operation_record(settings: OperationSettings) -> dict:
    """The operation settings as plain JSON (what a resume must find again)."""
    return json.loads(json.dumps(asdict(settings), default=str))


def _plain(x):
    """JSON for numpy scalars and anything else a row holds."""
    try:
        return x.item()
    except AttributeError:
        return str(x)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.2%}"
