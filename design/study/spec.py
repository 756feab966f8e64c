"""Study files (YAML): base cases, named variations, seeds and the search settings; each
problem is one clear error naming the file, the field and the value."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from design.network.case import (
    Case,
    CaseError,
    Spec,
    _format_validation,
    read_yaml,
    validate_yaml,
)
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


class Change(_Frozen):
    """One change of a case: ``path`` is dotted into the case file (components and nodes
    by name: ``components.pv.cost.unit_cost``, ``tariff.sale``, ``design_space.pv.max``)
    or ``series.<column>``; ``value`` sets it, ``factor`` multiplies it (a field naming a
    series column, such as ``tariff.sale: price_sell``, multiplies that column)."""

    path: Annotated[str, Field(min_length=1)]
    value: float | str | None = None
    factor: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Change:
        if (self.value is None) == (self.factor is None):
            raise ValueError("give either value or factor")
        return self


class Variation(_Frozen):
    """A named set of changes applied to every base case (none: the base case itself)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    changes: list[Change] = []


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
    compute and their fronts can be compared."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    description: str = ""
    cases: Annotated[list[str], Field(min_length=1)]
    variations: list[Variation] = [Variation(name="base")]
    seeds: Annotated[list[int], Field(min_length=1)] = [1]
    search: StudySearch = StudySearch()
    queue: Literal["hardest-first", "fair-share"] = "hardest-first"

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


def _step(node, key: str, where: str):
    """The child ``key`` of ``node``: a dict key, a list item by ``name`` or index."""
    if isinstance(node, dict):
        if key not in node:
            raise KeyError(f"{where}: no field {key!r} (fields: {', '.join(map(str, node))})")
        return node, key
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("name") == key:
                return node, i
        if key.isdigit() and int(key) < len(node):
            return node, int(key)
        names = [item.get("name") for item in node if isinstance(item, dict)]
        raise KeyError(f"{where}: no item named {key!r} (items: {names})")
    raise KeyError(f"{where}: {key!r} goes below a value")


def apply_changes(case: Case, variation: Variation, study_path: Path) -> Case:
    """The case with the variation's changes applied (validated like a case file); its
    name becomes ``<case>-<variation>``. Errors name the study file, the variation and
    the change."""
    data = case.spec.model_dump(mode="python")
    series = case.series.copy()
    for i, ch in enumerate(variation.changes):
        where = f"{study_path}: variations.{variation.name}.changes.{i}.path = {ch.path!r}"
        keys = ch.path.split(".")
        if keys[0] == "series":
            col = ".".join(keys[1:])
            if col not in series:
                raise CaseError(f"{where}: the case {case.name!r} has no series column "
                                f"{col!r}")
            _set_series(series, col, ch, where)
            continue
        node = data
        try:
            for k in keys[:-1]:
                parent, idx = _step(node, k, where)
                node = parent[idx]
            parent, idx = _step(node, keys[-1], where)
        except KeyError as exc:
            raise CaseError(str(exc.args[0])) from None
        old = parent[idx]
        if ch.factor is not None and isinstance(old, str) and old in series:
            _set_series(series, old, ch, where)  # a field naming a series column
        elif ch.factor is not None:
            if not isinstance(old, int | float) or isinstance(old, bool):
                raise CaseError(f"{where}: factor needs a number or a series column, the "
                                f"case has {old!r}")
            parent[idx] = old * ch.factor
        else:
            parent[idx] = ch.value
    data["name"] = f"{case.name}-{variation.name}" if variation.changes else case.name
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise CaseError(_format_validation(Path(f"{study_path} (variation "
                                                f"{variation.name})"), err)) from None
    return Case(spec, series, case.path)


def _set_series(series, col: str, ch: Change, where: str) -> None:
    if ch.factor is not None:
        series[col] = series[col] * ch.factor
        return
    if not isinstance(ch.value, int | float) or not math.isfinite(ch.value):
        raise CaseError(f"{where}: value for a series must be a number, not {ch.value!r}")
    series[col] = float(ch.value)
