"""Bilevel design search: NSGA-II over capacities and W, each candidate's operation solved.

pymoo's ask/tell loop: the algorithm proposes a generation, an executor (serial or Ray)
evaluates the candidates not yet in the cache, the objectives go back to the algorithm,
and a checkpoint is written. ``resume`` reloads it and continues to the same result as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.mixed import MixedVariableMating
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.problems.static import StaticProblem
from pymoo.termination import get_termination
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from design.network.case import Case
from design.search.evaluate import Candidate, Evaluation
from design.search.polish import polish_front
from design.search.seeding import seed_designs
from design.search.settings import SearchSettings, fingerprint_difference
from design.search.space import DecodedDuplicateElimination, DesignSpace, SpreadSampling

FAILED = 1e12
CHECKPOINT = "checkpoint.pkl"
#: relative tolerance below which two objective values count as equal on the front
FRONT_TOLERANCE = 1e-9


class DesignProblem(Problem):
    """Two objectives (annual total cost, autonomy) and one constraint (failed = violated)."""

    def __init__(self, space: DesignSpace) -> None:
        self.space = space
        super().__init__(vars=space.pymoo_vars(), n_obj=2, n_ieq_constr=1)


@dataclass
class SearchState:
    """Everything a checkpoint holds; the result of a finished search."""

    algorithm: NSGA2
    cache: dict[str, Evaluation]
    records: list[dict]
    history: list[dict]
    ref_point: np.ndarray | None
    generation: int
    fingerprint: str
    rng_state: tuple | None = None
    stopped: str | None = None
    seeds: list[dict] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    pending: list[Candidate] = field(default_factory=list)
    budget: float | None = None
    finished: bool = False

    @property
    def spent(self) -> float:
        """Wall seconds the run has spent over all its sessions (seeding, search, polish)."""
        return float(sum(self.seconds.values()))

    def evaluations(self) -> list[Evaluation]:
        """Every distinct evaluation, in the order it was made."""
        return list(self.cache.values())

    def front(self) -> list[Evaluation]:
        """Non-dominated successful evaluations (annual total cost, autonomy); values
        equal within ``FRONT_TOLERANCE`` (relative) count as equal, so a point that is
        only as good as another on one objective by rounding noise and worse on the other
        is dominated."""
        ok = [e for e in self.cache.values() if e.ok]
        if not ok:
            return []
        F = np.array([[e.annual_total_cost, e.autonomy] for e in ok])
        idx = NonDominatedSorting().do(F, only_non_dominated_front=True)
        G = F[idx]
        slack = FRONT_TOLERANCE * np.maximum(np.abs(G), 1.0)
        keep = [i for k, i in enumerate(idx)
                if not ((G <= G[k] + slack[k]).all(axis=1)
                        & (G < G[k] - slack[k]).any(axis=1)).any()]
        return sorted((ok[i] for i in keep), key=lambda e: e.annual_total_cost)


def _hypervolume(front: list[Evaluation], ref: np.ndarray | None) -> float:
    if ref is None or not front:
        return 0.0
    F = np.array([[e.annual_total_cost, e.autonomy] for e in front])
    F = F[(F < ref).all(axis=1)]
    return float(HV(ref_point=ref)(F)) if len(F) else 0.0


def _save(state: SearchState, out: Path) -> None:
    tmp = out / (CHECKPOINT + ".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(state, fh)
    tmp.replace(out / CHECKPOINT)


def load_checkpoint(out: Path) -> SearchState:
    """The search state saved after the last finished generation."""
    with (out / CHECKPOINT).open("rb") as fh:
        return pickle.load(fh)


def extend_to(algorithm: NSGA2, done: int, generations: int) -> None:
    """Set the limit of an algorithm that has ``done`` generations to ``generations``
    (pymoo's way to go on with a finished run: load it and raise its termination); a
    limit already reached ends it at once."""
    algorithm.termination = get_termination("n_gen", generations)
    if done >= generations:
        algorithm.termination.terminate()
        algorithm.termination.update(algorithm)


def run_search(
    case: Case,
    settings: SearchSettings,
    executor,
    out: Path,
    resume: bool = False,
    progress=print,
    stop_after: int | None = None,
    time_budget: float | None = None,
    on_generation=None,
    scenarios: list[tuple[Case, float]] | None = None,
    start: list[Candidate] | None = None,
) -> SearchState:
    """Run (or resume) NSGA-II; checkpoint after every generation into ``out``.

    ``stop_after`` ends the run after that many generations in total, as an interruption
    would (used to test resuming). ``time_budget`` (seconds) is a hard wall-time limit:
    each candidate gets at most the time left, candidates still running when it is spent
    are stopped (Ray) and not recorded, and ``state.stopped`` says why the run ended.
    The candidates evaluated in an unfinished generation stay in the cache and the
    checkpoint, so ``resume`` continues that generation without evaluating them again.
    ``on_generation(state)`` is called after every checkpoint (e.g. to write the results
    folder, so an interrupted run leaves a readable one). ``scenarios`` ((case,
    probability) pairs, for an executor that judges candidates over them) make the
    seeding's design MILP a two-stage one over the same scenarios. ``start``: designs
    (an earlier run's front) that join the first population after the seeding's.
    """
    out.mkdir(parents=True, exist_ok=True)
    space = DesignSpace.from_case(case)
    problem = DesignProblem(space)
    if resume and (out / CHECKPOINT).exists():
        state = load_checkpoint(out)
        if state.fingerprint != settings.fingerprint(case):
            diff = "; ".join(fingerprint_difference(state.fingerprint,
                                                    settings.fingerprint(case)))
            raise ValueError(f"{out / CHECKPOINT}: saved with other settings or another "
                             f"case ({diff}); cannot resume (use another --out or the same "
                             "case and settings)")
        if state.rng_state is not None:
            np.random.set_state(state.rng_state)
        left = _left_on_resume(state, settings, time_budget)
        if left is not None:
            progress(left)
            return state
        extend_to(state.algorithm, state.generation, settings.generations)
        spent = state.spent
        progress(f"resuming after generation {state.generation} (to at most "
                 f"{settings.generations}); {spent:,.0f} s spent before"
                 + ("" if time_budget is None else
                    f", {time_budget - spent:,.0f} s of the {time_budget:,.0f} s budget left"))
        time_budget = None if time_budget is None else time_budget - spent
        state.finished = False
    total_budget = None if time_budget is None else time_budget + (
        state.spent if resume and (out / CHECKPOINT).exists() else 0.0)
    deadline = None if time_budget is None else time.monotonic() + time_budget
    if not (resume and (out / CHECKPOINT).exists()):
        t0 = time.perf_counter()
        seeds = seed_designs(case, settings.seeding, settings.operation.horizon, deadline,
                             executor, progress, scenarios)
        seed_seconds = time.perf_counter() - t0
        unique = DecodedDuplicateElimination(space)
        algorithm = NSGA2(
            pop_size=settings.pop,
            sampling=SpreadSampling(space, [space.encode(r["design"], r["W"])
                                            for r in seeds if r["feasible"]]
                                    + [space.encode(c.design, c.weight)
                                       for c in start or []]),
            mating=MixedVariableMating(eliminate_duplicates=unique),
            eliminate_duplicates=unique,
        )
        algorithm.setup(problem, termination=("n_gen", settings.generations),
                        seed=settings.seed, verbose=False)
        state = SearchState(algorithm, {}, [], [], None, 0, settings.fingerprint(case),
                            seeds=seeds, seconds={"seeding": seed_seconds})
    state.budget = total_budget
    algorithm = state.algorithm
    reserve = 0.0
    if total_budget is not None and settings.polish.gap is not None:
        reserve = min(settings.polish.budget_share * total_budget, time_budget)
    search_deadline = None if deadline is None else deadline - reserve
    state.stopped = None
    interrupted = False  # stopped as by an interruption: no polish (a resume goes on)
    t_search = time.perf_counter()
    while algorithm.has_next():
        if stop_after is not None and state.generation >= stop_after:
            interrupted = True
            break
        if search_deadline is not None and time.monotonic() >= search_deadline:
            state.stopped = f"time budget of {total_budget:.0f} s spent"
            progress(f"{state.stopped} after generation {state.generation}")
            break
        t0 = time.perf_counter()
        before = pickle.dumps((algorithm, np.random.get_state()))
        pop = algorithm.ask()
        candidates = [Candidate(*space.decode(ind.X)) for ind in pop]
        todo: dict[str, Candidate] = {}
        for c in candidates:
            if c.key not in state.cache:
                todo.setdefault(c.key, c)
        done = executor.map(list(todo.values()), search_deadline)
        for c, e in zip(todo.values(), done, strict=True):
            if e is not None:
                state.cache[c.key] = e
                state.records.append({**e.row(), "generation": state.generation + 1,
                                      "phase": "search"})
        if any(e is None for e in done):
            # the budget ended inside this generation: keep what was evaluated, leave the
            # algorithm where it was, so a resume asks for the same generation again
            state.algorithm, rng = pickle.loads(before)
            np.random.set_state(rng)
            state.rng_state = rng
            finished = sum(e is not None for e in done)
            state.pending = [c for c, e in zip(todo.values(), done, strict=True) if e is None]
            state.stopped = (f"time budget of {total_budget:.0f} s spent during generation "
                             f"{state.generation + 1} ({finished} of {len(done)} new "
                             "candidates evaluated)")
            _save(state, out)
            progress(state.stopped)
            break
        state.pending = []
        evals = [state.cache[c.key] for c in candidates]
        F = np.array([[e.annual_total_cost, e.autonomy] if e.ok else [FAILED, FAILED]
                      for e in evals])
        G = np.array([[0.0] if e.ok else [1.0] for e in evals])
        Evaluator().eval(StaticProblem(problem, F=F, G=G), pop)
        algorithm.tell(infills=pop)
        state.generation += 1
        front = state.front()
        if state.ref_point is None and front:
            ok = np.array([[e.annual_total_cost, e.autonomy] for e in state.cache.values()
                           if e.ok])
            state.ref_point = ok.max(axis=0) * 1.1 + 1e-6
        failures = sum(not e.ok for e in evals)
        row = {
            "generation": state.generation,
            "evaluations": len(todo),
            "total_evaluations": len(state.cache),
            "failures": failures,
            "best_cost": min((e.annual_total_cost for e in front), default=None),
            "best_autonomy": min((e.autonomy for e in front), default=None),
            "front_size": len(front),
            "hypervolume": _hypervolume(front, state.ref_point),
            "seconds": time.perf_counter() - t0,
        }
        state.history.append(row)
        state.rng_state = np.random.get_state()
        _save(state, out)
        if on_generation is not None:
            on_generation(state)
        progress(
            f"generation {row['generation']}: {row['evaluations']} designs evaluated"
            f"{f' ({failures} failed)' if failures else ''}, {row['front_size']} on the "
            f"front, cheapest {_f(row['best_cost'])} EUR/a, most autonomous A "
            f"{_f(row['best_autonomy'])} EUR/a ({row['seconds']:.0f} s)")
    state.seconds["search"] = state.seconds.get("search", 0.0) + time.perf_counter() - t_search
    if not interrupted and settings.polish.gap is not None:
        t0 = time.perf_counter()
        polish_front(state, settings, executor, deadline, progress, space)
        state.seconds["polish"] = state.seconds.get("polish", 0.0) + time.perf_counter() - t0
    if not interrupted:
        state.finished = True
        _save(state, out)
    return state


def _left_on_resume(state: SearchState, settings: SearchSettings,
                    time_budget: float | None) -> str | None:
    """Why a resumed run has nothing to do (None: it goes on). The budget is the run's
    wall time over all its sessions: a run that spent it, or one that finished, is left
    as it is unless the budget or the generations are raised."""
    more_generations = settings.generations > state.generation
    old = getattr(state, "budget", None)
    raised = time_budget is not None and (old is None or time_budget > old)
    if getattr(state, "finished", False) and not more_generations and not raised:
        return (f"the run finished ({state.generation} generations, {state.spent:,.0f} s); "
                "nothing to resume: raise --generations or --time-budget to go on")
    if time_budget is not None and time_budget - state.spent < 1.0:
        return (f"the run's time budget of {time_budget:,.0f} s is spent ({state.spent:,.0f} "
                "s used over its sessions); left as it is: raise --time-budget to go on")
    return None


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"
