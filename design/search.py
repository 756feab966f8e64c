"""Bilevel design search: NSGA-II over capacities and W, each candidate's operation solved.

pymoo's ask/tell loop: the algorithm proposes a generation, an executor (serial or Ray)
evaluates the candidates not yet in the cache, the objectives go back to the algorithm,
and a checkpoint is written. ``resume`` reloads it and continues to the same result as an
uninterrupted run with the same seed.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.mixed import MixedVariableMating
from pymoo.core.problem import Problem
from pymoo.indicators.hv import HV
from pymoo.problems.static import StaticProblem
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from decomp.solvers import SolveOptions
from design.case import Case
from design.design_milp import reduced_sweep
from design.evaluate import Candidate, Evaluation
from design.operate import OperationSettings
from design.space import DecodedDuplicateElimination, DesignSpace, SpreadSampling
from design.typical import typical_periods

FAILED = 1e12
CHECKPOINT = "checkpoint.pkl"


SEED_WEIGHTS = (1.0, 0.8, 0.6, 0.5, 0.45, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02)


@dataclass(frozen=True)
class SeedSettings:
    """Multi-fidelity seeding: the design MILP on ``typical_periods`` typical periods of
    ``period_length`` hours (storage chained over the year), solved for each of
    ``weights``, then ``epsilon_seeds`` times more with a cap on A halfway across the widest
    gaps between the weights' designs (epsilon constraints find designs a weighted sum
    alone misses); its designs (with their W) join the first population. The weights are
    dealt out into ``chains`` chains (every other weight), each solved in turn on its own
    persistent model and warm-started from its previous weight; chains run in parallel on
    Ray and one after the other in the serial executor, with the same result (HiGHS on one
    thread is deterministic). A weight whose solve ends above ``fallback_gap`` is solved
    on ``fallback_periods`` typical periods as well (0: never); both designs are seeds.
    By default (gap 0) every weight is: the fine model alone does not solve the hydrogen
    designs within the limit, and each model finds parts of the front the other misses
    (benchmarks/RESULTS.md section 6). 0 typical periods switch seeding off."""

    typical_periods: int = 24
    period_length: int = 24
    weights: tuple[float, ...] = SEED_WEIGHTS
    time_limit: float = 30.0
    gap: float = 0.005
    chains: int = 2
    epsilon_seeds: int = 4
    fallback_periods: int = 12
    fallback_gap: float = 0.0

    def __post_init__(self) -> None:
        if self.chains < 1:
            raise ValueError(f"seed chains must be >= 1, not {self.chains}")
        if self.typical_periods < 0:
            raise ValueError(f"typical periods must be >= 0, not {self.typical_periods}")
        if any(not 0.0 <= w <= 1.0 for w in self.weights):
            raise ValueError(f"seed weights must be in [0, 1], not {self.weights}")
        if not self.time_limit > 0:
            raise ValueError(f"seed time limit must be positive, not {self.time_limit}")

    @property
    def enabled(self) -> bool:
        """True when seeding runs."""
        return self.typical_periods > 0 and bool(self.weights)


@dataclass(frozen=True)
class PolishSettings:
    """Before the results are written, the front's designs whose certified gap is above
    ``gap`` are solved again to ``gap`` (at most ``time_limit`` seconds each); points that
    become dominated leave the front. Under a time budget, ``budget_share`` of it is kept
    for this. ``gap`` None switches polishing off."""

    gap: float | None = 0.01
    time_limit: float = 240.0
    budget_share: float = 0.2

    def __post_init__(self) -> None:
        if self.gap is not None and not 0 < self.gap < 1:
            raise ValueError(f"polish gap must be in (0, 1), not {self.gap}")
        if not 0 <= self.budget_share < 1:
            raise ValueError(f"polish budget share must be in [0, 1), not {self.budget_share}")


@dataclass(frozen=True)
class SearchSettings:
    """Budget and seed of the search, and how each candidate's operation is solved."""

    pop: int = 10
    generations: int = 30
    seed: int = 1
    retries: int = 1
    operation: OperationSettings = field(default_factory=OperationSettings)
    seeding: SeedSettings = field(default_factory=SeedSettings)
    polish: PolishSettings = field(default_factory=PolishSettings)

    def __post_init__(self) -> None:
        if self.pop < 2:
            raise ValueError(f"--pop must be >= 2, not {self.pop}")
        if self.generations < 1:
            raise ValueError(f"--generations must be >= 1, not {self.generations}")
        if self.retries < 0:
            raise ValueError(f"--retries must be >= 0, not {self.retries}")

    def fingerprint(self, case: Case | None = None) -> str:
        """What must match for a resume to continue the same run: the settings and, with
        ``case``, the case's name and a digest of its spec and series."""
        data = {"settings": asdict(self)}
        if case is not None:
            data["case"] = {"name": case.name, "digest": case_digest(case)}
        return json.dumps(data, sort_keys=True, default=str)


def case_digest(case: Case) -> str:
    """SHA-256 of a case's spec and series: any change of costs, series or design space
    changes it."""
    h = hashlib.sha256(case.spec.model_dump_json().encode())
    h.update(pd.util.hash_pandas_object(case.series, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def fingerprint_difference(saved: str, current: str) -> list[str]:
    """The dotted names of the settings (or case fields) that differ between two
    fingerprints, e.g. ``settings.pop: 10 -> 6``."""

    def flat(value, prefix=""):
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                out |= flat(v, f"{prefix}{k}.")
            return out
        return {prefix.rstrip("."): value}

    try:
        a, b = flat(json.loads(saved)), flat(json.loads(current))
    except json.JSONDecodeError:
        return ["(the checkpoint was written by another version of lcen)"]
    return [f"{k}: {a.get(k, '-')} -> {b.get(k, '-')}" for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


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

    def evaluations(self) -> list[Evaluation]:
        """Every distinct evaluation, in the order it was made."""
        return list(self.cache.values())

    def front(self) -> list[Evaluation]:
        """Non-dominated successful evaluations (annual total cost, autonomy)."""
        ok = [e for e in self.cache.values() if e.ok]
        if not ok:
            return []
        F = np.array([[e.annual_total_cost, e.autonomy] for e in ok])
        idx = NonDominatedSorting().do(F, only_non_dominated_front=True)
        return sorted((ok[i] for i in idx), key=lambda e: e.annual_total_cost)


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
) -> SearchState:
    """Run (or resume) NSGA-II; checkpoint after every generation into ``out``.

    ``stop_after`` ends the run after that many generations in total, as an interruption
    would (used to test resuming). ``time_budget`` (seconds) is a hard wall-time limit:
    each candidate gets at most the time left, candidates still running when it is spent
    are stopped (Ray) and not recorded, and ``state.stopped`` says why the run ended.
    The candidates evaluated in an unfinished generation stay in the cache and the
    checkpoint, so ``resume`` continues that generation without evaluating them again.
    ``on_generation(state)`` is called after every checkpoint (e.g. to write the results
    folder, so an interrupted run leaves a readable one).
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
        progress(f"resuming after generation {state.generation}")
    deadline = None if time_budget is None else time.monotonic() + time_budget
    if not (resume and (out / CHECKPOINT).exists()):
        t0 = time.perf_counter()
        seeds = seed_designs(case, settings.seeding, settings.operation.horizon, deadline,
                             executor, progress)
        seed_seconds = time.perf_counter() - t0
        unique = DecodedDuplicateElimination(space)
        algorithm = NSGA2(
            pop_size=settings.pop,
            sampling=SpreadSampling(space, [space.encode(r["design"], r["W"])
                                            for r in seeds if r["feasible"]]),
            mating=MixedVariableMating(eliminate_duplicates=unique),
            eliminate_duplicates=unique,
        )
        algorithm.setup(problem, termination=("n_gen", settings.generations),
                        seed=settings.seed, verbose=False)
        state = SearchState(algorithm, {}, [], [], None, 0, settings.fingerprint(case),
                            seeds=seeds, seconds={"seeding": seed_seconds})
    algorithm = state.algorithm
    reserve = 0.0
    if time_budget is not None and settings.polish.gap is not None:
        reserve = settings.polish.budget_share * time_budget
    search_deadline = None if deadline is None else deadline - reserve
    state.stopped = None
    interrupted = False  # stopped as by an interruption: no polish (a resume goes on)
    t_search = time.perf_counter()
    while algorithm.has_next():
        if stop_after is not None and state.generation >= stop_after:
            interrupted = True
            break
        if search_deadline is not None and time.monotonic() >= search_deadline:
            state.stopped = f"time budget of {time_budget:.0f} s spent"
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
            state.stopped = (f"time budget of {time_budget:.0f} s spent during generation "
                             f"{state.generation + 1} ({finished} of {len(done)} new "
                             "candidates evaluated)")
            _save(state, out)
            progress(state.stopped)
            break
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
            f"gen {row['generation']:3d}  evals {row['evaluations']:3d}  failed {failures}  "
            f"front {row['front_size']:3d}  best cost {_f(row['best_cost'])}  "
            f"best A {_f(row['best_autonomy'])}  HV {row['hypervolume']:.4g}  "
            f"{row['seconds']:.1f} s")
    state.seconds["search"] = state.seconds.get("search", 0.0) + time.perf_counter() - t_search
    if not interrupted and settings.polish.gap is not None:
        t0 = time.perf_counter()
        polish_front(state, settings, executor, deadline, progress)
        state.seconds["polish"] = state.seconds.get("polish", 0.0) + time.perf_counter() - t0
        _save(state, out)
    return state


def seed_designs(case: Case, seeding: SeedSettings, hours: int | None, deadline: float | None,
          executor, progress) -> list[dict]:
    """The reduced-horizon design MILP's designs for the seed weights (rows with design,
    W, the reduced objectives and the solve record), chains in parallel where the
    executor has workers."""
    if not seeding.enabled:
        return []
    periods = typical_periods(case, seeding.typical_periods, seeding.period_length, hours)
    chains = max(1, min(seeding.chains, len(seeding.weights)))
    progress(f"seeding: design MILP on {len(periods.medoids)} typical periods of "
             f"{periods.length} h, {len(seeding.weights)} weights in {chains} chain(s)")
    options = SolveOptions(solver="highs", time_limit=seeding.time_limit, gap=seeding.gap,
                           threads=1)
    weights = tuple(seeding.weights)

    def run(parts: list[tuple], model=periods) -> list[dict]:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left < 1.0:
            return []
        calls = [(model, w, options, left, caps, start, designs)
                 for w, caps, start, designs in parts if w]
        return [r for chain in executor.call(seed_chain, calls) for r in chain]

    rows = sorted(run(sweep_chains(weights, chains)), key=lambda r: -r["W"])
    hard = tuple(r["W"] for r in rows
                 if not r["feasible"] or r["gap"] is None or r["gap"] > seeding.fallback_gap)
    models = {len(periods.medoids): periods}
    if hard and 0 < seeding.fallback_periods < len(periods.medoids):
        # weights above the fallback gap (by default all): the coarser model as well;
        # both designs are seeds (the full year judges them)
        coarse = typical_periods(case, seeding.fallback_periods, seeding.period_length,
                                 hours)
        models[len(coarse.medoids)] = coarse
        progress(f"seeding: {len(hard)} weights above a {seeding.fallback_gap:.0%} gap "
                 f"solved on {len(coarse.medoids)} typical periods as well")
        rows += run(sweep_chains(hard, chains), coarse)
    for model, targets in model_targets(rows, seeding.epsilon_seeds).items():
        n = max(1, min(chains, len(targets)))
        rows += run([(tuple(t[0] for t in targets[i::n]), tuple(t[1] for t in targets[i::n]),
                      "empty", tuple(t[2] for t in targets[i::n])) for i in range(n)],
                    models[model])
    for r in rows:
        cap = "" if r["autonomy_cap"] is None else f", A <= {_f(r['autonomy_cap'])}"
        progress(f"seed W {r['W']:.2f}{cap} ({r['typical_periods']} d): {r['status']}, "
                 f"gap {_pct(r['gap'])}, reduced cost "
                 f"{_f(r['reduced_annual_total_cost'])}, A {_f(r['reduced_autonomy'])} "
                 f"({r['seconds']:.1f} s)")
    return rows


def sweep_chains(weights: tuple[float, ...], chains: int) -> list[tuple]:
    """The weighted-sum sweep dealt into ``chains`` chains of neighbouring weights, as
    (weights, caps, start, designs): each chain solves its weights in turn, each solve
    warm-started from the previous plan. The chain of the lowest weights runs upwards
    from the largest design (where W = 0 ends), the others downwards from the empty
    design (where W = 1 ends): each starts near its first weight's optimum."""
    order = sorted(weights, reverse=True)
    n = max(1, min(chains, len(order)))
    blocks = [tuple(float(w) for w in b) for b in np.array_split(order, n)]
    out = []
    for i, block in enumerate(blocks):
        upward = n > 1 and i == n - 1
        ws = block[::-1] if upward else block
        out.append((ws, (None,) * len(ws), "largest" if upward else "empty",
                    (None,) * len(ws)))
    return out


def epsilon_targets(rows: list[dict], n: int, span: np.ndarray | None = None
                    ) -> list[tuple[float, float, dict]]:
    """The ``n`` widest gaps between neighbouring non-dominated seeds (reduced objectives,
    each scaled to its range, or to ``span``): per gap, the W of its cheaper end, an A
    cap halfway across it and the design of its other end, which meets the cap (the
    solve starts from it). At that W the cap binds (the weight alone chose the cheaper
    end), so the design MILP must find a design between the two ends."""
    gaps = _front_gaps(rows, span)
    if n < 1:
        return []
    return [t for _, t in sorted(sorted(gaps, key=lambda g: -g[0])[:n],
                                 key=lambda g: -g[1][1])]


def _front_gaps(rows: list[dict], span: np.ndarray | None) -> list[tuple[float, tuple]]:
    """(scaled width, (W, cap, design)) of each gap of the rows' non-dominated front."""
    pts = sorted((r["reduced_annual_total_cost"], r["reduced_autonomy"], r["W"], i)
                 for i, r in enumerate(rows) if r["feasible"])
    front = []
    for cost, a, w, i in pts:
        if not front or a < front[-1][1] - 1e-9:
            front.append((cost, a, w, rows[i]["design"]))
    if len(front) < 2:
        return []
    F = np.array([(c, a) for c, a, _, _ in front])
    if span is None:
        span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    widths = np.linalg.norm(np.diff(F / span, axis=0), axis=1)
    return [(float(widths[i]), (front[i][2], 0.5 * (front[i][1] + front[i + 1][1]),
                                front[i + 1][3]))
            for i in range(len(front) - 1)]


def model_targets(rows: list[dict], n: int) -> dict[int, list[tuple[float, float, dict]]]:
    """Epsilon targets over the seeds of every model (by ``typical_periods``): each model's
    own front (A of another model is not comparable), gaps scaled by the span of all
    seeds, the ``n`` widest overall; each target is solved on its gap's model."""
    ok = [r for r in rows if r["feasible"]]
    if n < 1 or len(ok) < 2:
        return {}
    F = np.array([(r["reduced_annual_total_cost"], r["reduced_autonomy"]) for r in ok])
    span = np.where(F.max(0) > F.min(0), F.max(0) - F.min(0), 1.0)
    gaps = [(width, model, target)
            for model in sorted({r["typical_periods"] for r in ok})
            for width, target in _front_gaps([r for r in ok
                                              if r["typical_periods"] == model], span)]
    out: dict[int, list] = {}
    for _, model, target in sorted(gaps, key=lambda g: -g[0])[:n]:
        out.setdefault(model, []).append(target)
    return out


def seed_chain(case: Case, periods, weights: tuple[float, ...], options: SolveOptions,
               left: float | None, caps: tuple[float | None, ...], start: str = "empty",
               designs: tuple[dict | None, ...] | None = None) -> list[dict]:
    """One chain of the seeding's reduced-horizon design MILPs, as plain rows; ``left``:
    seconds of the budget left when it was handed out (clocks differ between nodes)."""
    local = None if left is None else time.monotonic() + left
    rows = []
    solved = reduced_sweep(case, periods, weights, options, local, caps=caps, start=start,
                           designs=designs)
    for r, cap in zip(solved, caps, strict=False):
        rows.append({"W": r.weight, "autonomy_cap": cap, "design": r.design,
                     "typical_periods": len(periods.medoids),
                     "feasible": r.feasible,
                     "status": r.status, "gap": r.gap, "seconds": r.seconds,
                     "reduced_annual_total_cost": r.annual_total_cost,
                     "reduced_autonomy": r.autonomy})
    return rows


def polish_front(state: SearchState, settings: SearchSettings, executor,
                 deadline: float | None, progress=print) -> int:
    """Solve the front's designs again to the polish gap until every front point is
    certified within it, or none is left to try, or the deadline. A design is polished
    at most once; its new evaluation replaces the old one when its certified gap is no
    looser (points that then become dominated leave the front). Returns how many were
    replaced."""
    gap = settings.polish.gap
    op = settings.operation
    target = replace(op, dw=replace(op.dw, gap=gap, time_limit=settings.polish.time_limit),
                     solve=replace(op.solve, gap=min(op.solve.gap, gap),
                                   time_limit=settings.polish.time_limit))
    tried: set[str] = set()
    count = 0
    while deadline is None or time.monotonic() < deadline:
        todo = [e for e in state.front()
                if (e.gap is None or e.gap > gap) and _key(e) not in tried]
        if not todo:
            break
        tried.update(_key(e) for e in todo)
        progress(f"polish: {len(todo)} front designs to a certified {gap:.1%}")
        done = executor.map([Candidate(e.design, e.weight) for e in todo], deadline, target)
        for old, new in zip(todo, done, strict=True):
            if new is None or not new.ok or new.gap is None:
                continue
            if old.gap is not None and new.gap > old.gap:
                continue  # cut short by the budget with a looser certificate: keep the old
            count += 1
            state.cache[_key(old)] = new
            state.records.append({**new.row(), "generation": state.generation,
                                  "phase": "polish"})
    left = sum(1 for e in state.front() if e.gap is None or e.gap > gap)
    progress(f"polish: {count} solved again; {len(state.front())} on the front, "
             f"{left} above {gap:.1%}")
    return count


def _key(e: Evaluation) -> str:
    return Candidate(e.design, e.weight).key


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}"
