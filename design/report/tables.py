"""Tables of a results folder: capacity columns carry their units in the header
(``pv [m2]``); readers strip them again, so code addresses columns by component name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from design.network.case import CAPACITY_UNITS, Case, CaseError

_UNIT = re.compile(r" \[[^\]]*\]$")


def with_unit(name: str, kinds: dict[str, str]) -> str:
    """A capacity's name with its unit, e.g. ``pv [m2]`` (as given without a known kind)."""
    unit = CAPACITY_UNITS.get(kinds.get(name, ""))
    return f"{name} [{unit}]" if unit else name


def with_units(table: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The table with each capacity column renamed to carry its unit."""
    return table.rename(columns={c: with_unit(c, kinds) for c in table.columns if c in kinds})


def read_table(path: Path) -> pd.DataFrame:
    """A CSV table of a results folder with the unit suffixes stripped from its header."""
    table = pd.read_csv(path)
    return table.rename(columns={c: _UNIT.sub("", c) for c in table.columns})


def read_front(folder: Path, case: Case) -> pd.DataFrame:
    """The front of a results folder of ``lcen design`` (pareto.csv, units stripped)
    ranked by annual total cost, indexed by each design's row in the file (0: the first
    after the header); refuses a folder without one, an empty front, or one without a
    column for every component of ``case``."""
    path = folder / "pareto.csv"
    if not path.exists():
        raise CaseError(f"{folder}: pareto.csv not found (not a results folder of lcen "
                        "design?)")
    front = read_table(path).sort_values("annual_total_cost", kind="stable")
    if front.empty:
        raise CaseError(f"{path}: the front is empty")
    missing = [c.name for c in case.spec.components if c.name not in front]
    if missing:
        raise CaseError(f"{path}: no column for component(s) {missing} of the case "
                        f"{case.name!r}")
    return front


def read_settings(folder: Path) -> dict:
    """settings.json of a results folder ({} when missing or unreadable)."""
    try:
        return json.loads((folder / "settings.json").read_text())
    except (OSError, ValueError):
        return {}


def component_kinds(folder: Path) -> dict[str, str]:
    """Component name -> kind of the case a results folder was made for."""
    return read_settings(folder).get("component_kinds") or {}
