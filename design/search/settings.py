"""Settings of a design search: population, budget, seeding and polish (frozen), and the
fingerprint a resume must match."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import pandas as pd

from design.network.case import Case
from design.network.operate import OperationSettings

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
    (benchmarks/HISTORY.md section 6). 0 typical periods switch seeding off."""

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
    for this. ``gap`` None switches polishing off. Workers the polish leaves idle evaluate
    ``refine`` candidates per round between neighbouring front designs where the front's
    gaps are widest (local refinement, :mod:`design.search.refine`) until the budget ends;
    0 switches that off."""

    gap: float | None = 0.01
    time_limit: float = 240.0
    budget_share: float = 0.2
    refine: int = 4

    def __post_init__(self) -> None:
        if self.gap is not None and not 0 < self.gap < 1:
            raise ValueError(f"polish gap must be in (0, 1), not {self.gap}")
        if not 0 <= self.budget_share < 1:
            raise ValueError(f"polish budget share must be in [0, 1), not {self.budget_share}")
        if self.refine < 0:
            raise ValueError(f"refine candidates per round must be >= 0, not {self.refine}")


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
        """What must match for a resume to continue the same run: the settings (but the
        number of generations, which a resume may raise) and, with ``case``, the case's
        name and a digest of its spec and series."""
        data = {"settings": asdict(self)}
        data["settings"].pop("generations")  # a resume may extend a run (more generations)
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


#: defaults of ``lcen design`` (and of a study's ``search``) that no settings class holds:
#: each candidate's dw target gap and time limit, its interval length and the run's budget
EVALUATION_GAP, EVALUATION_TIME_LIMIT, INTERVAL, TIME_BUDGET = 0.01, 120.0, 24, 1080.0


def search_settings(*, pop: int, generations: int, seed: int, retries: int, method: str,
                    horizon: int | None, gap: float, interval: int, time_limit: float,
                    solver: str, typical_periods: int, seed_time_limit: float,
                    seed_fallback_gap: float, polish_gap: float,
                    polish_time_limit: float,
                    refine: int = PolishSettings.refine) -> SearchSettings:
    """The settings of a search from the options of ``lcen design`` (and of a study's
    ``search``): dw to ``gap`` within ``time_limit`` per candidate, seeding on
    ``typical_periods`` typical days, polish to ``polish_gap`` (0: no polish)."""
    from decomp.dw import DWSettings
    from decomp.solvers import SolveOptions

    op = OperationSettings(
        method=method, horizon=horizon,
        solve=SolveOptions(solver=solver, time_limit=time_limit),
        dw=DWSettings(gap=gap, time_limit=time_limit, interval=interval,
                      solve=SolveOptions(solver=solver)),
    )
    return SearchSettings(
        pop=pop, generations=generations, seed=seed, retries=retries, operation=op,
        seeding=SeedSettings(typical_periods=typical_periods, time_limit=seed_time_limit,
                             fallback_gap=seed_fallback_gap),
        polish=PolishSettings(gap=polish_gap if polish_gap > 0 else None,
                              time_limit=polish_time_limit, refine=refine),
    )
