"""Results of an operation solve: the tidy hourly schedule and the objective parts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from decomp.provider import IntervalModel, SeriesPlan
from design.network.case import Case
from design.network.operation_data import OperationData


def capital_recovery_factor(rate: float, lifetime: float) -> float:
    """Annuity factor that spreads an investment over its lifetime at an interest rate."""
    if rate == 0:
        return 1.0 / lifetime
    q = (1.0 + rate) ** lifetime
    return rate * q / (q - 1.0)


def annual_cost_factor(case: Case, component) -> float:
    """Share of a component's investment paid each year: annuity plus O&M."""
    return (capital_recovery_factor(case.spec.interest_rate, component.cost.lifetime)
            + component.cost.om_fraction)


def annualised_capex(case: Case, design: dict[str, float]) -> float:
    """Annual capital cost (annuity + O&M) of the installed components of a design."""
    return sum(capex_by_component(case, design).values())


def schedule_frame(plans: list[IntervalModel | SeriesPlan], data: OperationData) -> pd.DataFrame:
    """Hourly schedule (every flow, level and on/off state) of solved interval models.

    ``plans`` are consecutive intervals (one for a whole-horizon solve), as solved models
    or as the series an engine read from dropped models. Demands, prices,
    PV availability and COP are added so that balances can be checked from the frame alone.
    """
    parts = []
    for plan in plans:
        if isinstance(plan, SeriesPlan):
            # the models were dropped after compiling: the engine read the plan's series
            hours = list(range(plan.start, plan.stop))
            parts.append(pd.DataFrame(plan.series, index=pd.Index(hours, name="hour")))
            continue
        for im in plan.parts or [plan]:
            hours = list(range(im.start, im.stop))
            cols = {}
            for name, col in im.model._columns.items():
                vals = np.array([pyo.value(col.var[t], exception=False) or 0.0
                                 for t in hours])
                cols[name] = vals * col.factor
            parts.append(pd.DataFrame(cols, index=pd.Index(hours, name="hour")))
    # a variable absent from one interval's build (e.g. no backup heater where that
    # interval has no heat demand) is a zero flow there
    df = pd.concat(parts).sort_index().fillna(0.0)
    for node in data.nodes:
        df[f"{node}.electricity_demand"] = data.demand_el[node][df.index]
        df[f"{node}.heat_demand"] = data.demand_heat[node][df.index]
    for c in data.components:
        if c.kind == "pv":
            df[f"{c.name}.available"] = data.profiles[c.name][df.index]
        if c.kind == "heat_pump":
            df[f"{c.name}.cop"] = data.profiles[c.name][df.index]
    df["price_buy"] = data.price_buy[df.index]
    df["price_sell"] = data.price_sell[df.index]
    return df


@dataclass(frozen=True)
class ObjectiveParts:
    """Operating cost, autonomy and annual cost of one plan of one design."""

    c_op: float
    autonomy: float
    purchase_cost: float
    sales_revenue: float
    fuel_cost: float
    start_cost: float
    capex: float
    annual_total_cost: float
    hours: int


def objective_parts(
    schedule: pd.DataFrame, data: OperationData, case: Case, design: dict[str, float]
) -> ObjectiveParts:
    """C_op, A and the annual total cost computed from a schedule (not from the solver).

    ``annual_total_cost`` = annualised capex + C_op scaled to 8760 h when the horizon is
    shorter than a year.
    """
    purchase = float((schedule["price_buy"] * schedule["grid.buy"]).sum())
    sales = float((schedule["price_sell"] * schedule["grid.sell"]).sum())
    backup_cols = [c for c in schedule.columns if c.endswith(".backup")]
    fuel = float(schedule[backup_cols].to_numpy().sum() * data.fuel_cost_per_heat)
    start = 0.0
    for comp in data.components:
        cm = getattr(comp, "commitment", None)
        if cm is not None and cm.start_cost > 0 and f"{comp.name}.start" in schedule:
            start += cm.start_cost * float(schedule[f"{comp.name}.start"].sum())
    c_op = purchase - sales + fuel + start
    exchanged = float((schedule["price_buy"].abs() * schedule["grid.buy"]).sum()
                      + (schedule["price_sell"].abs() * schedule["grid.sell"]).sum())
    capex = annualised_capex(case, design)
    scale = 8760.0 / len(schedule)
    return ObjectiveParts(
        c_op=c_op,
        autonomy=exchanged + fuel,
        purchase_cost=purchase,
        sales_revenue=sales,
        fuel_cost=fuel,
        start_cost=start,
        capex=capex,
        annual_total_cost=capex + c_op * scale,
        hours=len(schedule),
    )


def capex_by_component(case: Case, design: dict[str, float]) -> dict[str, float]:
    """Annualised capital cost (annuity + O&M, EUR/a) of each installed component."""
    out = {}
    for c in case.spec.components:
        size = design.get(c.name, 0.0)
        if size > 0:
            out[c.name] = (c.cost.unit_cost * size + c.cost.fixed_cost) * annual_cost_factor(
                case, c)
    return out


def cost_breakdown(parts: ObjectiveParts, case: Case, design: dict[str, float]
                   ) -> dict[str, float]:
    """Where the annual total cost goes (EUR/a, operation scaled to a year): capex per
    component (``capex.<name>``), grid purchases, sales revenue (negative), backup fuel and
    start-up costs. The items sum to the annual total cost."""
    scale = 8760.0 / parts.hours
    out = {f"capex.{n}": v for n, v in capex_by_component(case, design).items()}
    out["purchases"] = parts.purchase_cost * scale
    out["sales"] = -parts.sales_revenue * scale
    out["backup_fuel"] = parts.fuel_cost * scale
    out["start_ups"] = parts.start_cost * scale
    return out


#: energy figures of a plan, with their units (kWh and EUR scaled to a year; shares 0..1)
ENERGY_UNITS = {
    "electricity_demand_kwh": "kWh/a", "heat_demand_kwh": "kWh/a",
    "grid_import_kwh": "kWh/a", "grid_export_kwh": "kWh/a",
    "pv_available_kwh": "kWh/a", "pv_generation_kwh": "kWh/a", "pv_curtailed_kwh": "kWh/a",
    "pv_curtailment": "share", "pv_curtailed_value": "EUR/a",
    "backup_heat_kwh": "kWh/a", "self_sufficiency": "share", "pv_self_consumption": "share",
}

#: what each energy figure is (README, summary.md and report.html use these words)
ENERGY_MEANING = {
    "pv_available_kwh": "what the installed PV could have produced",
    "pv_generation_kwh": "PV taken from the panels (available - curtailed)",
    "pv_curtailed_kwh": "PV available but not taken (thrown away)",
    "pv_curtailment": "curtailed / available",
    "pv_curtailed_value": "curtailed PV valued at the feed-in price (revenue forgone)",
    "self_sufficiency": "share of the electricity used that did not come from the grid",
    "pv_self_consumption": "share of the available PV used in the district "
                           "(taken and not exported)",
}


def energy_figures(schedule: pd.DataFrame, case: Case) -> dict[str, float]:
    """Energy a designer reads off a plan (kWh and EUR scaled to a year).

    PV: ``pv_available_kwh`` what the installed panels could give, ``pv_generation_kwh``
    what was taken, ``pv_curtailed_kwh`` the rest and its share ``pv_curtailment``,
    ``pv_curtailed_value`` the curtailed energy at the feed-in price. A design that buys
    less and sells less (lower A) may throw PV away: these say how much.
    ``self_sufficiency``: the share of the electricity used in the district (grid import
    plus local generation by PV and fuel cells, less export; losses of links and storage
    included) that did not come from the grid; ``pv_self_consumption``: the share of the
    *available* PV used in the district (taken and not exported; None without PV).
    """
    scale = 8760.0 / len(schedule)
    pv_names = {c.name for c in case.spec.components if c.kind == "pv"}

    def cols(suffix: str, names: set[str] | None = None) -> list[str]:
        found = [c for c in schedule.columns if c.endswith(suffix)]
        return found if names is None else [c for c in found
                                            if c.rsplit(".", 1)[0] in names]

    def total(suffix: str, names: set[str] | None = None) -> float:
        found = cols(suffix, names)
        return float(schedule[found].to_numpy().sum()) if found else 0.0

    imported, exported = float(schedule["grid.buy"].sum()), float(schedule["grid.sell"].sum())
    pv = total(".power", pv_names)
    fc = total(".power", {c.name for c in case.spec.components if c.kind == "fuel_cell"})
    available = total(".available", pv_names)
    curtailed_by_hour = sum((schedule[f"{n}.available"] - schedule[f"{n}.power"]).clip(lower=0)
                            for n in pv_names if f"{n}.available" in schedule)
    curtailed = float(np.sum(curtailed_by_hour)) if pv_names else 0.0
    value = (float((curtailed_by_hour * schedule["price_sell"]).sum())
             if isinstance(curtailed_by_hour, pd.Series) else 0.0)
    used = imported + pv + fc - exported
    pv_hourly = sum(schedule[c] for c in cols(".power", pv_names))
    # hour by hour, export counts against PV first (PV is what a district exports)
    pv_local = (float((pv_hourly - np.minimum(schedule["grid.sell"], pv_hourly)).sum())
                if isinstance(pv_hourly, pd.Series) else 0.0)
    return {
        "electricity_demand_kwh": total(".electricity_demand") * scale,
        "heat_demand_kwh": total(".heat_demand") * scale,
        "grid_import_kwh": imported * scale,
        "grid_export_kwh": exported * scale,
        "pv_available_kwh": available * scale,
        "pv_generation_kwh": pv * scale,
        "pv_curtailed_kwh": curtailed * scale,
        "pv_curtailment": curtailed / available if available > 0 else None,
        "pv_curtailed_value": value * scale,
        "backup_heat_kwh": total(".backup") * scale,
        "self_sufficiency": 1.0 - imported / used if used > 0 else None,
        "pv_self_consumption": pv_local / available if available > 0 else None,
    }


def schedule_unit(column: str, kinds: dict[str, str]) -> str:
    """Unit of a schedule column: flows kW (an hour's average, so kWh in that hour),
    hydrogen Nm3/h, levels kWh or Nm3, on/off and start/stop 0/1, prices EUR/kWh."""
    name, _, var = column.rpartition(".")
    if column in ("price_buy", "price_sell"):
        return "EUR/kWh"
    if var in ("on", "start", "stop"):
        return "0/1"
    if var == "cop":
        return "-"
    if var in ("h2", "absorb", "release"):
        return "Nm3/h"
    if var == "level":
        return "Nm3" if kinds.get(name) == "mh_tank" else "kWh"
    return "kW"


def schedule_table(schedule: pd.DataFrame, basis, kinds: dict[str, str]) -> pd.DataFrame:
    """The schedule as written to schedule.csv: local timestamps first, the hour of the
    case, and every column's unit in its header (``grid.buy [kW]``)."""
    table = schedule.rename(columns={c: f"{c} [{schedule_unit(c, kinds)}]"
                                     for c in schedule.columns})
    table.insert(0, "time (local)", basis.timestamps(schedule.index).strftime("%Y-%m-%d %H:%M"))
    return table


def storage_limits(case: Case, design: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Usable level range of each installed storage, in its level's unit (battery and
    hot-water tank kWh, metal-hydride tank Nm3), keyed like the schedule (``<name>.level``)."""
    out = {}
    for c in case.spec.components:
        cap = design.get(c.name, 0.0)
        if cap <= 0:
            continue
        if c.kind == "battery":
            out[f"{c.name}.level"] = (c.soc_min * cap, c.soc_max * cap)
        elif c.kind == "mh_tank":
            out[f"{c.name}.level"] = (c.level_min * cap, cap)
        elif c.kind == "hot_water_tank":
            out[f"{c.name}.level"] = (0.0, cap * c.kwh_per_m3)
    return out
