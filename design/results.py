"""Results of an operation solve: the tidy hourly schedule and the objective parts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from decomp.provider import IntervalModel
from design.case import Case
from design.operation_data import OperationData


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
    total = 0.0
    for c in case.spec.components:
        size = design.get(c.name, 0.0)
        if size <= 0:
            continue
        invest = c.cost.unit_cost * size + c.cost.fixed_cost
        total += invest * annual_cost_factor(case, c)
    return total


def schedule_frame(plans: list[IntervalModel], data: OperationData) -> pd.DataFrame:
    """Hourly schedule (every flow, level and on/off state) of solved interval models.

    ``plans`` are consecutive intervals (one for a whole-horizon solve). Demands, prices,
    PV availability and COP are added so that balances can be checked from the frame alone.
    """
    parts = []
    for im in (p for plan in plans for p in (plan.parts or [plan])):
        hours = list(range(im.start, im.stop))
        cols = {}
        for name, col in im.model._columns.items():
            vals = np.array([pyo.value(col.var[t], exception=False) or 0.0 for t in hours])
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
