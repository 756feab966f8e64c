"""Changes of a case: a dotted path into the case file, the series, its demand or its
weather, and one operation (set, scale, shift, take another column, swap the weather).
Study variations and scenarios are named lists of them; every problem is one clear error
naming the file, the entry and the change."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from design.network.case import (
    Case,
    CaseError,
    Spec,
    _format_validation,
    _series_columns,
    close_names,
)
from design.network.weather import try_year


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Change(_Frozen):
    """One change of a case, by ``path``: a field dotted into the case file (components
    and nodes by name: ``components.pv.cost.unit_cost``, ``tariff.sale``,
    ``design_space.pv.max``), ``series.<column>``, ``demand`` (every demand column;
    ``demand.electricity`` or ``demand.heat`` for one carrier) or ``weather``. Exactly one
    operation: ``value`` sets it; ``factor`` multiplies it (a field naming a series column,
    such as ``tariff.sale: price_sell``, multiplies that column); ``shift`` moves a series
    that many hours later (earlier if negative), wrapping round the series; ``column``
    takes a ``series.<column>``'s values from another column; ``try_region`` (path
    ``weather``) replaces the weather with the DWD test reference year 2010 of that
    climate region (1-15, shipped with demandlib) at its station's position."""

    path: Annotated[str, Field(min_length=1)]
    value: float | str | None = None
    factor: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None
    shift: int | None = None
    column: Annotated[str, Field(min_length=1)] | None = None
    try_region: Annotated[int, Field(ge=1, le=15)] | None = None

    @model_validator(mode="after")
    def _one(self) -> Change:
        given = [k for k in OPERATIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(OPERATIONS)}"
                             + (f" (given: {', '.join(given)})" if given else ""))
        if (self.path == "weather") != (self.try_region is not None):
            raise ValueError("path 'weather' goes with try_region, and try_region with "
                             "path 'weather'")
        if self.column is not None and not self.path.startswith("series."):
            raise ValueError("column goes with a path series.<column>")
        if self.path.split(".")[0] == "demand" and self.factor is None and self.shift is None:
            raise ValueError("a demand path goes with factor or shift")
        if self.path not in DEMAND_PATHS and self.path.split(".")[0] == "demand":
            raise ValueError(f"demand paths are {', '.join(DEMAND_PATHS)}")
        return self


#: the operations of a :class:`Change`, exactly one per change
OPERATIONS = ("value", "factor", "shift", "column", "try_region")
#: paths that name every demand column of the case (or those of one carrier)
DEMAND_PATHS = ("demand", "demand.electricity", "demand.heat")


class Variation(_Frozen):
    """A named set of changes applied to every base case (none: the base case itself)."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    changes: list[Change] = []


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


def apply_changes(case: Case, variation: Variation, study_path: Path,
                  field: str = "variations") -> Case:
    """The case with the variation's changes applied (validated like a case file); its
    name becomes ``<case>-<variation>``. Errors name the file, the variation (under
    ``field``: variations of a study, scenarios of a scenario set) and the change."""
    data = case.spec.model_dump(mode="python")
    series = case.series.copy()
    for i, ch in enumerate(variation.changes):
        where = f"{study_path}: {field}.{variation.name}.changes.{i}.path = {ch.path!r}"
        keys = ch.path.split(".")
        if keys[0] == "series":
            col = ".".join(keys[1:])
            if col not in series:
                raise CaseError(f"{where}: the case {case.name!r} has no series column "
                                f"{col!r}")
            _set_series(series, col, ch, where)
            continue
        if keys[0] == "demand":
            for col in _demand_columns(data, keys[1] if len(keys) > 1 else None):
                _set_series(series, col, ch, where)
            continue
        if ch.try_region is not None:
            _swap_weather(data, series, ch.try_region, where)
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
        if isinstance(old, str) and old in series and (ch.factor is not None
                                                      or ch.shift is not None):
            _set_series(series, old, ch, where)  # a field naming a series column
        elif ch.factor is not None:
            if not isinstance(old, int | float) or isinstance(old, bool):
                raise CaseError(f"{where}: factor needs a number or a series column, the "
                                f"case has {old!r}")
            parent[idx] = old * ch.factor
        elif ch.shift is not None:
            raise CaseError(f"{where}: shift needs a series column, the case has {old!r}")
        else:
            parent[idx] = ch.value
    data["name"] = f"{case.name}-{variation.name}" if variation.changes else case.name
    label = "variation" if field == "variations" else "scenario"
    try:
        spec = Spec.model_validate(data)
    except ValidationError as err:
        raise CaseError(_format_validation(Path(f"{study_path} ({label} "
                                                f"{variation.name})"), err)) from None
    missing = {c: f for c, f in _series_columns(spec).items() if c not in series}
    if missing:
        col, named_by = next(iter(missing.items()))
        raise CaseError(f"{study_path}: {field}.{variation.name}: field '{named_by}' names "
                        f"series column {col!r}, which the case {case.name!r} does not "
                        f"have{close_names(col, series.columns)}")
    return Case(spec, series, case.path)


def _demand_columns(data: dict, carrier: str | None) -> list[str]:
    """Every node's demand columns (of one carrier), each once."""
    carriers = ("electricity", "heat") if carrier is None else (carrier,)
    cols = [c for n in data["nodes"] for k in carriers for c in n[k]]
    return list(dict.fromkeys(cols))


def _swap_weather(data: dict, series, region: int, where: str) -> None:
    """The case's weather columns from the TRY 2010 of ``region``, and the site moved to
    its station (solar geometry); the TRY year runs from 1 January 00:00 (CET)."""
    start = pd.Timestamp(data["location"]["start"])
    if len(series) != 8760 or (start.month, start.day, start.hour) != (1, 1, 0):
        raise CaseError(f"{where}: a weather swap needs a case of 8760 hours from 1 January "
                        f"00:00; this one has {len(series)} hours from {start}")
    year = try_year(region)
    for name in ("ghi", "dhi", "temp_air"):
        series[data["weather"][name]] = year.frame[name].to_numpy()
    data["location"] = {**data["location"], "latitude": year.latitude,
                        "longitude": year.longitude, "altitude": year.altitude,
                        "timezone": "Etc/GMT-1"}
    data["weather"] = {**data["weather"], "source": year.source}


def _set_series(series, col: str, ch: Change, where: str) -> None:
    if ch.factor is not None:
        series[col] = series[col] * ch.factor
        return
    if ch.shift is not None:
        series[col] = np.roll(series[col].to_numpy(), ch.shift)
        return
    if ch.column is not None:
        if ch.column not in series:
            raise CaseError(f"{where}: column {ch.column!r} is not a series column"
                            f"{close_names(ch.column, series.columns)}")
        series[col] = series[ch.column].to_numpy()
        return
    if not isinstance(ch.value, int | float) or not math.isfinite(ch.value):
        raise CaseError(f"{where}: value for a series must be a number, not {ch.value!r}")
    series[col] = float(ch.value)
