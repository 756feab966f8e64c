"""A tiny unit-commitment + storage model, unrelated to energy networks' details, used to
prove that the decomposition engine is generic (it only sees the provider protocol)."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from decomp.provider import BoundaryCondition, IntervalModel


class ToyProvider:
    """One generator (on/off, min output, start cost, 2-hour min up time) and a store."""

    def __init__(self, demand: np.ndarray, price: np.ndarray, store: float = 5.0,
                 units: int = 1, maintenance: tuple[int, ...] = (), size: float = 4.0,
                 series: bool = False) -> None:
        self.demand = np.asarray(demand, dtype=float)
        self.price = np.asarray(price, dtype=float)
        self.store = store
        self.size = size  # output per running unit (a coefficient: p <= size * u)
        self.units = units  # > 1: the unit count is a general integer 0..units
        self.maintenance = set(maintenance)  # hours where no unit may run (bounds 0..0)
        self.series = series  # declare the plan's series (models may then be dropped)

    @property
    def horizon(self) -> int:
        return len(self.demand)

    def boundary_conditions(self) -> list[BoundaryCondition]:
        return [BoundaryCondition("level", "cyclic"), BoundaryCondition("on", "fixed", 0.0),
                BoundaryCondition("started_1h_ago", "fixed", 0.0)]

    def structure(self) -> tuple:
        """Demand, prices, store and unit size are mutable Params: the rest is structure."""
        return (self.horizon, self.units, tuple(sorted(self.maintenance)))

    def assign(self, im: IntervalModel) -> None:
        """Give a model of the same structure this provider's numbers."""
        m = im.model
        for t in m.T:
            m.demand[t].set_value(float(self.demand[t]))
            m.price[t].set_value(float(self.price[t]))
        m.store.set_value(self.store)
        m.size.set_value(self.size)

    def build(self, start: int, stop: int, relax: bool = False) -> IntervalModel:
        n = self.units
        if relax:
            dom = pyo.Reals
        else:
            dom = pyo.Binary if n == 1 else pyo.NonNegativeIntegers
        m = pyo.ConcreteModel()
        T = list(range(start, stop))
        m.T = pyo.Set(initialize=T, ordered=True)
        m.demand = pyo.Param(T, mutable=True, initialize=lambda m, t: float(self.demand[t]))
        m.price = pyo.Param(T, mutable=True, initialize=lambda m, t: float(self.price[t]))
        m.store = pyo.Param(mutable=True, initialize=self.store)
        m.size = pyo.Param(mutable=True, initialize=self.size)
        m.u = pyo.Var(T, domain=dom, bounds=lambda m, t: (0, 0 if t in self.maintenance
                                                          else n))
        m.st = pyo.Var(T, domain=dom, bounds=(0, n))
        m.p = pyo.Var(T, bounds=lambda m, t: (0, m.size * n))
        m.buy = pyo.Var(T, bounds=(0, None))
        m.lvl = pyo.Var(T, bounds=(0, m.store))
        m.lvl_in = pyo.Var(bounds=(0, m.store))
        m.u_in = pyo.Var(domain=dom, bounds=(0, n))
        m.st_in = pyo.Var(domain=dom, bounds=(0, n))

        def prev_u(t):
            return m.u_in if t == start else m.u[t - 1]

        def st_at(t):
            return m.st[t] if t >= start else m.st_in

        m.minload = pyo.Constraint(T, rule=lambda m, t: m.p[t] >= 1.5 * m.u[t])
        m.maxload = pyo.Constraint(T, rule=lambda m, t: m.p[t] <= m.size * m.u[t])
        m.start = pyo.Constraint(T, rule=lambda m, t: m.st[t] >= m.u[t] - prev_u(t))
        m.minup = pyo.Constraint(T, rule=lambda m, t: st_at(t) + st_at(t - 1) <= m.u[t])
        m.hist = pyo.Constraint(expr=m.st_in <= m.u_in)
        m.bal = pyo.Constraint(T, rule=lambda m, t: m.lvl[t] == (
            m.lvl_in if t == start else m.lvl[t - 1]) + m.p[t] + m.buy[t]
            - m.demand[t])
        m.cost = pyo.Expression(expr=sum(
            1.0 * m.p[t] + 0.3 * m.u[t] + 2.0 * m.st[t] + m.price[t] * m.buy[t]
            for t in T))
        return IntervalModel(
            start, stop, m, m.cost,
            entry={"level": m.lvl_in, "on": m.u_in, "started_1h_ago": m.st_in},
            exit={"level": m.lvl[stop - 1], "on": m.u[stop - 1],
                  "started_1h_ago": m.st[stop - 1]},
            binaries={t: [m.u[t], m.st[t]] for t in T},
            series={name: ([getattr(m, name)[t] for t in T], 1.0)
                    for name in ("u", "st", "p", "buy", "lvl")} if self.series else {},
        )
