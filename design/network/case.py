"""Case files: a YAML description plus hourly series, validated on load.

A case holds the district (nodes with demand columns), weather, tariffs, the equipment
catalogue, the design space and a default design. Every problem found on load is reported
as one :class:`CaseError` naming the file, the field and the offending value.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

KINDS = ("pv", "battery", "electrolyser", "mh_tank", "fuel_cell", "heat_pump", "hot_water_tank")
CAPACITY_UNITS = {
    "pv": "m2",
    "battery": "kWh",
    "electrolyser": "Nm3/h",
    "mh_tank": "Nm3",
    "fuel_cell": "kW",
    "heat_pump": "kW",
    "hot_water_tank": "m3",
}


class CaseError(ValueError):
    """A case file or series is invalid; the message names file, field and value."""


def close_names(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for the names of ``known`` closest to ``name``, or ``''``."""
    import difflib

    found = difflib.get_close_matches(str(name), [str(k) for k in known], n=3, cutoff=0.6)
    if not found:
        return ""
    return " (did you mean " + " or ".join(repr(f) for f in found) + "?)"


def _field_names() -> set[str]:
    """Every field name of the case models (for suggestions on an unknown field)."""
    names: set[str] = set()
    todo = [m for m in globals().values()
            if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel]
    for model in todo:
        names.update(model.model_fields)
    return names


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


NonNeg = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
Price = Annotated[float, Field(allow_inf_nan=False)]
Hours = Annotated[int, Field(ge=1, le=168)]


class Commitment(_Frozen):
    """On/off behaviour of a unit with a binary state."""

    min_part_load: Fraction = 0.0
    start_cost: NonNeg = 0.0
    min_up: Hours = 1
    min_down: Hours = 1


class Cost(_Frozen):
    """Investment data: cost per capacity unit, fixed cost if installed, lifetime, O&M."""

    unit_cost: NonNeg
    fixed_cost: NonNeg = 0.0
    lifetime: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    om_fraction: Fraction = 0.0


class _Component(_Frozen):
    name: str
    node: str
    cost: Cost
    source: str = "assumption"


class PV(_Component):
    """PV array; output from pvlib (PVWatts DC model) per m2 of panel area."""

    kind: Literal["pv"]
    kw_per_m2: Annotated[float, Field(gt=0, le=0.5)] = 0.2
    gamma_pdc: Annotated[float, Field(ge=-0.02, le=0)] = -0.004
    tilt: Annotated[float, Field(ge=0, le=90)] = 30.0
    azimuth: Annotated[float, Field(ge=0, lt=360)] = 180.0
    system_losses: Fraction = 0.14


class Battery(_Component):
    """Electric battery; capacity in kWh."""

    kind: Literal["battery"]
    eta_charge: Efficiency = 0.95
    eta_discharge: Efficiency = 0.95
    self_discharge: Fraction = 0.0001
    soc_min: Fraction = 0.1
    soc_max: Fraction = 0.95
    c_rate: Annotated[float, Field(gt=0, le=10)] = 0.5

    @model_validator(mode="after")
    def _soc(self) -> Battery:
        if self.soc_min >= self.soc_max:
            raise ValueError(f"soc_min ({self.soc_min}) must be below soc_max ({self.soc_max})")
        return self


class Electrolyser(_Component):
    """Water electrolyser; capacity in Nm3/h of hydrogen."""

    kind: Literal["electrolyser"]
    kwh_per_nm3: Annotated[float, Field(gt=3.0, le=10)] = 5.0
    commitment: Commitment = Commitment(min_part_load=0.2)


class MHTank(_Component):
    """Metal-hydride hydrogen tank; capacity in Nm3."""

    kind: Literal["mh_tank"]
    level_min: Fraction = 0.05
    absorb_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    release_rate: Annotated[float, Field(gt=0, le=1)] = 0.1
    loss: Fraction = 0.0


class FuelCell(_Component):
    """Pure-hydrogen fuel cell; capacity in kW electric; heat recovered to hot water."""

    kind: Literal["fuel_cell"]
    eta_el: Efficiency = 0.5
    eta_th: Fraction = 0.35
    commitment: Commitment = Commitment(min_part_load=0.3)


class HeatPump(_Component):
    """Heat-pump water heater; capacity in kW heat; COP from ambient temperature."""

    kind: Literal["heat_pump"]
    supply_temp: Annotated[float, Field(ge=20, le=90)] = 55.0
    carnot_efficiency: Efficiency = 0.45
    cop_min: Annotated[float, Field(ge=1, le=10)] = 1.5
    cop_max: Annotated[float, Field(ge=1, le=10)] = 5.0
    commitment: Commitment = Commitment(min_part_load=0.3)


class HotWaterTank(_Component):
    """Hot-water tank; capacity in m3; heat content from its temperature spread."""

    kind: Literal["hot_water_tank"]
    delta_t: Annotated[float, Field(gt=0, le=80)] = 40.0
    loss: Fraction = 0.005
    max_rate: Annotated[float, Field(gt=0)] = 1.0

    @property
    def kwh_per_m3(self) -> float:
        """Heat content of one m3 over ``delta_t`` (water: 4.186 kJ/kg/K, 1000 kg/m3)."""
        return 4.186 * 1000.0 * self.delta_t / 3600.0


Component = Annotated[
    PV | Battery | Electrolyser | MHTank | FuelCell | HeatPump | HotWaterTank,
    Field(discriminator="kind"),
]


class Node(_Frozen):
    """A consumer bus: electricity and hot-water demand (sums of series columns, kWh/h)."""

    name: str
    electricity: list[str]
    heat: list[str] = []


class Link(_Frozen):
    """A two-way connection between nodes for electricity or heat, with a loss fraction."""

    a: str
    b: str
    carrier: Literal["electricity", "heat"] = "electricity"
    capacity: NonNeg
    loss: Fraction = 0.02


class Tariff(_Frozen):
    """Grid purchase and sale prices (column name or constant, EUR/kWh; negative prices of a
    dynamic tariff are allowed) and contract limits."""

    purchase: str | Price
    sale: str | Price
    node: str
    import_limit: NonNeg = 1000.0
    export_limit: NonNeg = 1000.0
    source: str = "assumption"


class Backup(_Frozen):
    """Backup heater at every node with heat demand: keeps every design feasible.

    Its fuel is bought from outside, so it counts in both C_op and autonomy A.
    """

    fuel_price: NonNeg = 0.12
    efficiency: Efficiency = 0.9


class Location(_Frozen):
    """Site of the weather data (for solar geometry)."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    altitude: float = 0.0
    timezone: str = "UTC"
    start: str = "2010-01-01 00:00"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            hint = close_names(value, sorted(zoneinfo.available_timezones()))
            raise ValueError(f"unknown time zone{hint}: use an IANA name such as "
                             "'Europe/Berlin', or 'Etc/GMT-1' for UTC+1 all year") from None
        return value

    @field_validator("start")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError):
            raise ValueError("not a date and time such as '2010-01-01 00:00'") from None
        return value


class Weather(_Frozen):
    """Column names of the weather series (W/m2, degC)."""

    ghi: str = "ghi"
    dhi: str = "dhi"
    temp_air: str = "temp_air"
    source: str = ""


class Range(_Frozen):
    """Design-space entry: a candidate grid (``values``) or a continuous range."""

    values: list[NonNeg] | None = None
    min: NonNeg | None = None
    max: NonNeg | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Range:
        if (self.values is None) == (self.min is None or self.max is None):
            raise ValueError("give either values: [...] or min and max")
        if self.values is not None and len(self.values) == 0:
            raise ValueError("values must not be empty")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self

    def contains(self, x: float) -> bool:
        """True if ``x`` is a candidate of this entry."""
        if self.values is not None:
            return any(math.isclose(x, v, rel_tol=1e-9, abs_tol=1e-9) for v in self.values)
        return self.min - 1e-9 <= x <= self.max + 1e-9

    @property
    def upper(self) -> float:
        """Largest candidate."""
        return max(self.values) if self.values is not None else float(self.max)


#: what a group's factor multiplies per member: 1, or a figure of the member's node
GROUP_SCALES = ("one", "peak_heat", "mean_daily_heat", "peak_electricity")


class Group(_Frozen):
    """Components sized together by one factor of the search: member ``i`` gets
    ``factor * scale_i`` (``scale``: 1, or its node's peak heat demand [kW], mean daily
    heat demand [kWh/day] or peak electricity demand [kW]), clipped to its own
    ``design_space`` range. The search then has one variable per group, however many
    buildings there are."""

    components: list[str]
    scale: Literal["one", "peak_heat", "mean_daily_heat", "peak_electricity"] = "one"
    min: NonNeg = 0.0
    max: NonNeg

    @model_validator(mode="after")
    def _bounds(self) -> Group:
        if not self.components:
            raise ValueError("components must not be empty")
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) exceeds max ({self.max})")
        return self


class Spec(_Frozen):
    """The YAML part of a case."""

    name: str
    description: str = ""
    series: str
    hours: int | None = None
    location: Location
    weather: Weather = Weather()
    tariff: Tariff
    backup: Backup = Backup()
    interest_rate: Fraction = 0.03
    weight: Fraction = 0.5
    storage_boundary: Literal["cyclic", "fixed"] = "cyclic"
    initial_storage: Fraction = 0.5
    nodes: list[Node]
    links: list[Link] = []
    components: list[Component]
    design_space: dict[str, Range]
    design_groups: dict[str, Group] = {}
    default_design: dict[str, NonNeg]
    sources: dict[str, str] = {}

    @field_validator("nodes")
    @classmethod
    def _nodes(cls, v: list[Node]) -> list[Node]:
        if not v:
            raise ValueError("at least one node is needed")
        names = [n.name for n in v]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate node names: {sorted(dup)}")
        return v

    @model_validator(mode="after")
    def _references(self) -> Spec:
        nodes = {n.name for n in self.nodes}
        names = [c.name for c in self.components]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"duplicate component names: {sorted(dup)}")
        for c in self.components:
            if c.node not in nodes:
                raise ValueError(f"component {c.name!r}: unknown node {c.node!r}")
        if self.tariff.node not in nodes:
            raise ValueError(f"tariff.node: unknown node {self.tariff.node!r}")
        for link in self.links:
            for end in (link.a, link.b):
                if end not in nodes:
                    raise ValueError(f"link {link.a}-{link.b}: unknown node {end!r}")
        reach, frontier = {self.tariff.node}, [self.tariff.node]
        while frontier:
            here = frontier.pop()
            for link in self.links:
                if link.carrier == "electricity" and here in (link.a, link.b):
                    other = link.b if here == link.a else link.a
                    if other not in reach:
                        reach.add(other)
                        frontier.append(other)
        cut_off = sorted(nodes - reach)
        if cut_off:
            raise ValueError(
                f"nodes {cut_off} have no electricity link path to the grid node "
                f"{self.tariff.node!r}"
            )
        comps = set(names)
        for key in self.design_space:
            if key not in comps:
                raise ValueError(f"design_space: unknown component {key!r}")
        grouped: dict[str, str] = {}
        for group, spec in self.design_groups.items():
            if group in comps or group == "W":
                raise ValueError(f"design_groups.{group}: the name of a component or of W")
            for member in spec.components:
                if member not in comps:
                    raise ValueError(f"design_groups.{group}: unknown component {member!r}")
                if member not in self.design_space:
                    raise ValueError(f"design_groups.{group}: {member!r} has no design_space "
                                     "entry (its range bounds the group's size for it)")
                if self.design_space[member].values is not None:
                    raise ValueError(f"design_groups.{group}: {member!r} has a candidate grid; "
                                     "a group sizes members with a range (min, max)")
                if member in grouped:
                    raise ValueError(f"design_groups.{group}: {member!r} is in "
                                     f"{grouped[member]!r} already")
                grouped[member] = group
        for key, val in self.default_design.items():
            if key not in comps:
                raise ValueError(f"default_design: unknown component {key!r}")
            if key in self.design_space and not self.design_space[key].contains(val):
                raise ValueError(f"default_design.{key} = {val} is outside its design_space")
        return self


def _format_validation(path: Path, err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        val = e.get("input")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            key = e["loc"][-1] if e["loc"] else ""
            lines.append(f"{path}: field '{loc}' is not a known field"
                         f"{close_names(key, _field_names())}")
        elif not loc:
            lines.append(f"{path}: {msg}")
        elif isinstance(val, dict | list):
            lines.append(f"{path}: field '{loc}': {msg}")
        else:
            lines.append(f"{path}: field '{loc}' = {val!r}: {msg}")
    return "\n".join(lines)


class Case:
    """A validated case: its spec and the hourly series it needs."""

    def __init__(self, spec: Spec, series: pd.DataFrame, path: Path | None = None) -> None:
        self.spec = spec
        self.series = series
        self.path = path
        self.derived: dict[tuple[str, str], np.ndarray] = {}

    @property
    def name(self) -> str:
        """Case name."""
        return self.spec.name

    @property
    def hours(self) -> int:
        """Length of the series."""
        return len(self.series)

    def component(self, name: str) -> Component:
        """Catalogue entry of a component by name."""
        for c in self.spec.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def design(self, overrides: dict[str, float] | None = None) -> dict[str, float]:
        """The default design with ``overrides`` applied, checked against the design space."""
        design = {c.name: 0.0 for c in self.spec.components}
        design.update(self.spec.default_design)
        for key, value in (overrides or {}).items():
            if key not in design:
                raise CaseError(
                    f"design: unknown component {key!r} (known: {', '.join(sorted(design))})"
                )
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise CaseError(f"design: {key} = {value!r} must be a finite number >= 0")
            rng = self.spec.design_space.get(key)
            if rng is not None and not rng.contains(value):
                raise CaseError(f"design: {key} = {value} is outside its design space {rng}")
            design[key] = float(value)
        return design

    def group_scales(self) -> dict[str, dict[str, float]]:
        """Per design group, what its factor multiplies for each member (see
        :class:`Group`), from the member's node's demand over the case's hours."""
        nodes = {n.name: n for n in self.spec.nodes}
        out: dict[str, dict[str, float]] = {}
        for group, spec in self.spec.design_groups.items():
            scales = {}
            for member in spec.components:
                node = nodes[self.component(member).node]
                heat = sum((self.column(c) for c in node.heat), np.zeros(self.hours))
                el = sum((self.column(c) for c in node.electricity), np.zeros(self.hours))
                scales[member] = {"one": 1.0, "peak_heat": float(heat.max()),
                                  "mean_daily_heat": float(heat.sum()) * 24.0 / self.hours,
                                  "peak_electricity": float(el.max())}[spec.scale]
            out[group] = scales
        return out

    def column(self, ref: str | float) -> np.ndarray:
        """A series column by name, or a constant broadcast to the horizon."""
        if isinstance(ref, str):
            return self.series[ref].to_numpy(dtype=float)
        return np.full(self.hours, float(ref))


def _series_columns(spec: Spec) -> dict[str, str]:
    cols: dict[str, str] = {}
    for i, n in enumerate(spec.nodes):
        for c in n.electricity:
            cols[c] = f"nodes.{i}.electricity"
        for c in n.heat:
            cols[c] = f"nodes.{i}.heat"
    for field_name in ("ghi", "dhi", "temp_air"):
        cols[getattr(spec.weather, field_name)] = f"weather.{field_name}"
    for field_name in ("purchase", "sale"):
        ref = getattr(spec.tariff, field_name)
        if isinstance(ref, str):
            cols[ref] = f"tariff.{field_name}"
    return cols


NON_NEGATIVE = ("nodes", "weather.ghi", "weather.dhi")
#: plausible ranges of weather series (a value outside is a unit or column mix-up)
PLAUSIBLE = {"weather.temp_air": (-60.0, 60.0, "degC"), "weather.ghi": (0.0, 1400.0, "W/m2"),
             "weather.dhi": (0.0, 1400.0, "W/m2")}


def _where(path: Path, i: int) -> str:
    """Where table row ``i`` (0-based, after the header) is in its file."""
    return f"line {i + 2}" if path.suffix != ".parquet" else f"row {i + 1}"


def _header(path: Path, df: pd.DataFrame) -> list[str]:
    """The column names as the file has them (pandas renames a repeated ``x`` to ``x.1``)."""
    if path.suffix == ".parquet":
        return [str(c) for c in df.columns]
    import csv

    with path.open(newline="") as fh:
        return next(csv.reader(fh), [])


def _cell_text(path: Path, col: str, i: int, df: pd.DataFrame) -> str:
    """A cell as the file writes it: ``'n/a'``, ``an empty cell``, ``'1,5'``."""
    if path.suffix == ".parquet":
        return repr(df[col].iloc[i])
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=[col])[col].iloc[i]
    return "an empty cell" if raw.strip() == "" else repr(raw)


def read_series(path: Path, spec: Spec, yaml_path: Path) -> pd.DataFrame:
    """Read and check the series a spec refers to (columns, length, NaN, sign)."""
    if not path.exists():
        raise CaseError(f"{yaml_path}: field 'series' = {spec.series!r}: file {path} not found")
    if path.stat().st_size == 0:
        raise CaseError(f"{path}: the file is empty (expected a header line of column names "
                        "and one line per hour)")
    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise CaseError(f"{path}: cannot be read as a table: {exc}") from exc
    header = _header(path, df)
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise CaseError(f"{path}: the header names column(s) {dup} more than once")
    needed = _series_columns(spec)
    for col, field_name in needed.items():
        if col not in df.columns:
            raise CaseError(
                f"{path}: column {col!r} (named by field '{field_name}' in {yaml_path}) "
                f"is missing{close_names(col, df.columns)}; the {len(df.columns)} columns "
                f"are {list(df.columns)}"
            )
    if spec.hours is not None and len(df) != spec.hours:
        raise CaseError(
            f"{path}: has {len(df)} rows but field 'hours' in {yaml_path} says {spec.hours}"
        )
    if len(df) < 1:
        raise CaseError(f"{path}: has no rows")
    for col, field_name in needed.items():
        values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise CaseError(
                f"{path}: column {col!r} ({field_name}) has a missing or non-numeric value "
                f"{_cell_text(path, col, int(bad[0]), df)} at {_where(path, int(bad[0]))}"
            )
        if field_name.startswith(NON_NEGATIVE):
            neg = np.flatnonzero(values < 0)
            if neg.size:
                raise CaseError(
                    f"{path}: column {col!r} ({field_name}) has a negative value "
                    f"{values[neg[0]]} at {_where(path, int(neg[0]))}"
                )
        if field_name in PLAUSIBLE:
            lo, hi, unit = PLAUSIBLE[field_name]
            out = np.flatnonzero((values < lo) | (values > hi))
            if out.size:
                raise CaseError(
                    f"{path}: column {col!r} ({field_name}) has an implausible value "
                    f"{values[out[0]]} {unit} at {_where(path, int(out[0]))} (expected "
                    f"{lo:g} to {hi:g} {unit})"
                )
        df[col] = values
    return df.reset_index(drop=True)


def validate_yaml(model: type[BaseModel], data: object, path: Path):
    """Validate YAML content (a mapping) into ``model``; every problem becomes one line of
    a :class:`CaseError` naming the file, the field and the value."""
    if data is None:
        raise CaseError(f"{path}: the file is empty (expected fields such as 'name:')")
    if not isinstance(data, dict):
        raise CaseError(f"{path}: expected fields ('key: value' lines) at the top level, got "
                        f"a {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise CaseError(_format_validation(path, err)) from None


def read_yaml(path: str | Path, what: str) -> tuple[Path, object]:
    """(path, content) of a YAML file; a missing or unparsable file is a CaseError."""
    path = Path(path)
    if not path.exists():
        raise CaseError(f"{path}: {what} file not found")
    try:
        return path, yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CaseError(f"{path}: not valid YAML: {exc}") from None


def parse_spec(data: object, path: Path) -> Spec:
    """Validate YAML content into a :class:`Spec` or raise :class:`CaseError`."""
    return validate_yaml(Spec, data, path)


def load_case(path: str | Path) -> Case:
    """Load a case from a YAML file path, validating the spec and its series."""
    path, data = read_yaml(path, "case")
    spec = parse_spec(data, path)
    series = read_series(path.parent / spec.series, spec, path)
    return Case(spec, series, path)
