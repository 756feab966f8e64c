"""Study files (YAML): base cases, named variations, seeds and the search settings; each
problem is one clear error naming the file, the field and the value."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from design.network.case import CaseError, read_yaml, validate_yaml
from design.network.changes import Variation
from design.search.settings import (
    EVALUATION_GAP,
    EVALUATION_TIME_LIMIT,
    INTERVAL,
    TIME_BUDGET,
    PolishSettings,
    SearchSettings,
    SeedSettings,
    search_settings,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StudySearch(_Frozen):
    """The search settings of every run (as the options of ``lcen design``)."""

    pop: int = SearchSettings().pop
    generations: int = SearchSettings().generations
    method: Literal["direct", "lp", "dw", "rolling"] = "dw"
    horizon: int | None = None
    gap: float = EVALUATION_GAP
    interval: int = INTERVAL
    time_limit: float = EVALUATION_TIME_LIMIT
    typical_periods: int = SeedSettings().typical_periods
    seed_time_limit: float = SeedSettings().time_limit
    seed_fallback_gap: float = SeedSettings().fallback_gap
    polish_gap: float = PolishSettings().gap
    polish_time_limit: float = PolishSettings().time_limit
    refine: Annotated[int, Field(ge=0)] = PolishSettings().refine
    time_budget: Annotated[float, Field(gt=0)] | None = TIME_BUDGET
    retries: int = SearchSettings().retries
    solver: Literal["auto", "highs", "gurobi"] = "auto"

    def settings(self, seed: int) -> SearchSettings:
        """The :class:`SearchSettings` of one run."""
        return search_settings(
            pop=self.pop, generations=self.generations, seed=seed, retries=self.retries,
            method=self.method, horizon=self.horizon, gap=self.gap, interval=self.interval,
            time_limit=self.time_limit, solver=self.solver,
            typical_periods=self.typical_periods, seed_time_limit=self.seed_time_limit,
            seed_fallback_gap=self.seed_fallback_gap, polish_gap=self.polish_gap,
            polish_time_limit=self.polish_time_limit, refine=self.refine)


class StudySpec(_Frozen):
    """The YAML of a study. ``queue``: how the shared queue orders the runs' candidates:
    hardest first whichever run they come from, or the run that has used the fewest
    worker-seconds first (then hardest first), so that runs with time budgets get equal
    compute and their fronts can be compared. ``scenarios``: a scenario file (relative to
    the study file) that makes every run a robust search over its scenarios, applied on
    top of the run's variation (``lcen design --scenarios``)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    description: str = ""
    cases: Annotated[list[str], Field(min_length=1)]
    variations: list[Variation] = [Variation(name="base")]
    seeds: Annotated[list[int], Field(min_length=1)] = [1]
    search: StudySearch = StudySearch()
    queue: Literal["hardest-first", "fair-share"] = "hardest-first"
    scenarios: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _unique(self) -> StudySpec:
        names = [v.name for v in self.variations]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate variation names: {dup}")
        if len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"duplicate seeds: {self.seeds}")
        if not self.variations:
            raise ValueError("at least one variation is needed (name: base, no changes)")
        return self


def load_study(path: str | Path) -> StudySpec:
    """Read and validate a study file."""
    path, data = read_yaml(path, "study")
    spec = validate_yaml(StudySpec, data, path)
    try:
        spec.search.settings(spec.seeds[0])
    except ValueError as exc:
        raise CaseError(f"{path}: field 'search': {exc}") from None
    return spec
