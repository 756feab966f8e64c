"""The energy-network operation MILP for one design and weight, built for any hour range.

:class:`EnergyProvider` implements :class:`decomp.IntervalProvider`: ``build(start, stop)``
returns the model of hours ``start..stop-1`` whose entry/exit states are storage levels and,
for units with start-up costs or minimum up/down times, the on/off state and the starts and
stops still inside the minimum-time windows. The same builder builds the whole horizon.

Objective: ``W * C_op + (1 - W) * A - TIE_BREAK * sales`` with ``C_op`` = purchases - sales
+ backup fuel + start-ups and ``A`` = purchases + sales + backup fuel (all at their prices).
At W = 0.5 sales carry no weight in ``W * C_op + (1 - W) * A``, so selling a surplus and
curtailing it tie and the plan's C_op and A would depend on the solver; the tiny secondary
term breaks that tie towards selling (as if W were at most ``TIE_BREAK / 2`` higher).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyomo.environ as pyo

from decomp.coupling import CouplingRow
from decomp.horizon import add_boundary_conditions
from decomp.nodes import NodeProblem
from decomp.provider import BoundaryCondition, IntervalModel
from design.network.case import Commitment
from design.network.operation_data import H2_LHV_KWH_PER_NM3, OperationData

TIE_BREAK = 1e-4


@dataclass
class Column:
    """One schedule column: ``factor * var[t]`` (factor scalar or per-hour array)."""

    var: pyo.Var
    factor: float | np.ndarray = 1.0


@dataclass
class _Terms:
    """Balance contributions per bus: (coefficient per hour or scalar, indexed var)."""

    items: dict[str, list[tuple[float | np.ndarray, pyo.Var]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, bus: str, coef: float | np.ndarray, var: pyo.Var) -> None:
        self.items[bus].append((coef, var))

    def expr(self, bus: str, t: int, offset: int):
        total = 0
        for coef, var in self.items.get(bus, ()):
            c = coef[t - offset] if isinstance(coef, np.ndarray) else coef
            total = total + c * var[t]
        return total


class EnergyProvider:
    """Builds the operation model of one design and weight W for any hour range."""

    def __init__(
        self, data: OperationData, weight: float, sized: frozenset[str] = frozenset()
    ) -> None:
        if not 0.0 <= weight <= 1.0:
            raise ValueError(f"weight W must be in [0, 1], not {weight}")
        unknown = set(sized) - set(data.capacity)
        if unknown:
            raise ValueError(f"sized components not installed in the data: {sorted(unknown)}")
        self.data = data
        self.weight = float(weight)
        self.sized = frozenset(sized)

    @property
    def horizon(self) -> int:
        """Hours of the prepared series."""
        return self.data.hours

    def storage_capacity(self, name: str) -> float:
        """Energy/volume capacity of a storage component in its level unit."""
        comp = next(c for c in self.data.components if c.name == name)
        cap = self.data.capacity[name]
        if comp.kind == "hot_water_tank":
            return cap * comp.kwh_per_m3
        return cap

    @property
    def lead_components(self) -> frozenset[str]:
        """The integer components of the hydrogen units (electrolyser, fuel cells): the
        engine's window sweeps re-decide them first, alone. Their hours pay off through
        the seasonal hydrogen store, far beyond a window's held ends; re-deciding them
        alone is cheap (on a summer week of district-10 they gave in 20 s what windows
        with every unit free gave in 56 s, HISTORY 26.2)."""
        units = [c.name for c in self.data.components if c.kind in ("electrolyser", "fuel_cell")]
        return frozenset(f"{u}__{part}" for u in units for part in UNIT_INTEGERS)

    def boundary_conditions(self) -> list[BoundaryCondition]:
        """Storage: cyclic (end >= start), start fixed too if the case says so; units start off."""
        d = self.data
        out = []
        for c in d.components:
            if c.kind in ("battery", "mh_tank", "hot_water_tank"):
                state = f"{c.name}.level"
                if d.storage_boundary == "fixed":
                    value = d.initial_storage * self.storage_capacity(c.name)
                    out.append(BoundaryCondition(state, "fixed", value=value))
                out.append(BoundaryCondition(state, "cyclic", sense=">="))
            commitment = getattr(c, "commitment", None)
            if commitment is not None and _needs_state(commitment):
                for name in _unit_state_names(c.name, commitment):
                    out.append(BoundaryCondition(name, "fixed", value=0.0))
        return out

    def structure(self) -> tuple:
        """What the model's variables and constraints depend on: the case's data, the
        installed components and the sized ones; not the capacities or W, which are
        mutable Params (:meth:`assign`)."""
        return (self.data.structure_digest(), tuple(c.name for c in self.data.components),
                tuple(sorted(self.sized)))

    def assign(self, im: IntervalModel) -> None:
        """Give a model built for another design of the same structure this design's
        capacities and this W (a kept model instead of a new build)."""
        m = im.model
        m.W.set_value(self.weight)
        for name in m.cap:
            m.cap[name].set_value(self.data.capacity[name])

    def node_blocks(self) -> NodeProblem:
        """The whole horizon split by node: one block per node, each a whole-horizon
        model with its own edge conditions, its links' flows to other nodes and its share
        of the hydrogen bus as coupling quantities; the coupling rows say each such flow
        is the same at both ends and the hydrogen bus balances every hour."""
        d = self.data
        if self.sized:
            raise ValueError("blocks by node solve operation only, not a design MILP "
                             f"(sized: {sorted(self.sized)})")
        conditions = self.boundary_conditions()
        blocks, shares = [], []
        for node in d.nodes:
            b = _Builder(d, self.weight, 0, d.hours, False, self.sized, frozenset([node]))
            im = b.build()
            own = [bc for bc in conditions if bc.state in im.entry]
            add_boundary_conditions(im.model, im, im, own)
            im.entry, im.exit = {}, dict(b.coupling)
            blocks.append(im)
            shares.append("hydrogen.net[0]" in b.coupling)
        where = {node: k for k, node in enumerate(d.nodes)}
        # each node's net inflow from the links it does not own, per carrier and hour
        inflow: dict[tuple[str, str], list[tuple[int, str, float]]] = defaultdict(list)
        for i, link in enumerate(d.links):
            owner = link_owner(link, d.grid_node)
            other = link.a if owner == link.b else link.b
            ab, ba = link_inflow(link, other)
            inflow[(other, link.carrier)] += [(where[owner], f"link_{i}.ab", ab),
                                             (where[owner], f"link_{i}.ba", ba)]
        rows = []
        for (node, carrier), terms in inflow.items():
            for t in range(d.hours):
                q = f"{node}.{carrier}_exchange[{t}]"
                rows.append(CouplingRow(q, ((where[node], q, 1.0),) + tuple(
                    (k, f"{name}[{t}]", -a) for k, name, a in terms), 0.0, "==",
                    family=f"{node}.{carrier}_exchange", step=t))
        h2 = [k for k, share in enumerate(shares) if share]
        for t in range(d.hours if h2 else 0):
            q = f"hydrogen.net[{t}]"
            rows.append(CouplingRow(f"hydrogen[{t}]", tuple((k, q, 1.0) for k in h2), 0.0,
                                    "==", family="hydrogen", step=t))
        return NodeProblem(blocks, rows, list(d.nodes))

    def build(self, start: int, stop: int, relax: bool = False) -> IntervalModel:
        """Pyomo model of hours ``start..stop-1`` (``relax``: binaries continuous in [0, 1])."""
        if not 0 <= start < stop <= self.horizon:
            raise ValueError(f"hours {start}..{stop} outside 0..{self.horizon}")
        return _Builder(self.data, self.weight, start, stop, relax, self.sized).build()


def link_owner(link, grid_node: str) -> str:
    """The end whose block holds a link's flows when its ends are in different blocks:
    ``b``, unless ``b`` is the grid's node (a hub keeps one net inflow per carrier)."""
    return link.a if link.b == grid_node else link.b


def link_inflow(link, node: str) -> tuple[float, float]:
    """What a link's flows ``ab`` and ``ba`` bring into ``node`` (one of its ends) per
    unit: ``-ab + keep * ba`` at ``a``, ``keep * ab - ba`` at ``b``."""
    keep = 1.0 - link.loss
    return (-1.0, keep) if node == link.a else (keep, -1.0)


#: the component kinds on the hydrogen bus
H2_KINDS = ("electrolyser", "mh_tank", "fuel_cell")

#: the integer components :meth:`_Builder._unit` adds for a unit ``u``, named ``u__<part>``
UNIT_INTEGERS = ("on", "on_in", "start", "stop", "start_hist", "stop_hist")


def _needs_state(cm: Commitment) -> bool:
    return cm.start_cost > 0 or cm.min_up > 1 or cm.min_down > 1


def _unit_state_names(name: str, cm: Commitment) -> list[str]:
    names = [f"{name}.on"]
    names += [f"{name}.started_{k}h_ago" for k in range(1, cm.min_up)]
    names += [f"{name}.stopped_{k}h_ago" for k in range(1, cm.min_down)]
    return names


class _Builder:
    """One build of one hour range; each ``_add_*`` method adds one component family."""

    def __init__(self, data: OperationData, weight: float, start: int, stop: int, relax: bool,
                 sized: frozenset[str] = frozenset(), nodes: frozenset[str] | None = None):
        self.d = data
        self.sized = sized
        #: the nodes built (None: all); flows to nodes outside become coupling quantities
        self.nodes = frozenset(data.nodes) if nodes is None else nodes
        self.coupling: dict[str, pyo.Var] = {}
        self.start, self.stop = start, stop
        self.hours = list(range(start, stop))
        self.cut = slice(start, stop)
        self.binary = pyo.UnitInterval if relax else pyo.Binary
        m = pyo.ConcreteModel(name=f"hours_{start}_{stop}")
        m.T = pyo.Set(initialize=self.hours, ordered=True)
        m.W = pyo.Param(mutable=True, initialize=weight, within=pyo.UnitInterval)
        # capacities of fixed size: mutable, so a kept model takes another design's sizes
        fixed = [c.name for c in data.components if c.name not in sized]
        m.cap = pyo.Param(fixed, mutable=True, initialize={n: data.capacity[n] for n in fixed})
        # sized components (design MILP): capacity is a decision in [0, data.capacity]
        if sized:
            m.size = pyo.Var(sorted(sized), domain=pyo.NonNegativeReals,
                             bounds=lambda m, n: (0.0, data.capacity[n]))
        self.m = m
        self.el = _Terms()
        self.heat = _Terms()
        self.h2 = _Terms()
        self.entry: dict[str, pyo.Var] = {}
        self.exit: dict[str, pyo.Var] = {}
        self.binaries: dict[int, list] = defaultdict(list)
        self.columns: dict[str, Column] = {}
        self.start_costs: list = []

    def cap(self, name: str):
        """A component's capacity: its mutable Param, or for a sized component the size's
        upper bound (the size itself is a variable then)."""
        if name in self.sized:
            return self.d.capacity[name]
        return self.m.cap[name]

    def var(self, name: str, bounds=(0, None), domain=pyo.NonNegativeReals) -> pyo.Var:
        v = pyo.Var(self.m.T, domain=domain, bounds=bounds)
        self.m.add_component(name.replace(".", "__"), v)
        return v

    def con(self, name: str, rule) -> None:
        self.m.add_component(name.replace(".", "__"), pyo.Constraint(self.m.T, rule=rule))

    def within_size(self, name: str, comp: str, var, lo: float, hi) -> None:
        """``lo * size <= var <= hi * size`` as rows, for a sized component (``hi`` may be
        per hour). A component of fixed size gets these limits as variable bounds instead."""
        size = self.m.size[comp]
        rows = pyo.ConstraintList()
        self.m.add_component(f"{name.replace('.', '__')}__sized", rows)
        items = [(t, var[t]) for t in self.hours] if var.is_indexed() else [(None, var)]
        s = self.start
        for t, v in items:
            h = hi[t - s] if isinstance(hi, np.ndarray) else hi
            rows.add(v <= float(h) * size)
            if lo > 0:
                rows.add(v >= lo * size)

    def build(self) -> IntervalModel:
        d = self.d
        if d.grid_node in self.nodes:
            self._add_grid()
        for c in d.components:
            if c.node in self.nodes:
                getattr(self, f"_add_{c.kind}")(c)
        self._add_links()
        self._add_heat_backup()
        self._add_balances()
        cost = self._add_cost()
        m = self.m
        m._columns = self.columns
        return IntervalModel(
            start=self.start,
            stop=self.stop,
            model=m,
            cost=cost,
            entry=self.entry,
            exit=self.exit,
            binaries=dict(self.binaries),
            series={name: ([col.var[t] for t in self.hours], col.factor)
                    for name, col in self.columns.items()},
        )

    def _add_grid(self) -> None:
        d = self.d
        buy = self.var("grid.buy", (0, d.import_limit))
        sell = self.var("grid.sell", (0, d.export_limit))
        self.el.add(d.grid_node, 1.0, buy)
        self.el.add(d.grid_node, -1.0, sell)
        self.columns["grid.buy"] = Column(buy)
        self.columns["grid.sell"] = Column(sell)
        self.buy, self.sell = buy, sell

    def _add_pv(self, c) -> None:
        per_unit = self.d.availability[c.name][self.cut]
        cap = self.cap(c.name)
        s = self.start
        power = self.var(f"{c.name}.power", lambda m, t: (0.0, float(per_unit[t - s]) * cap))
        if c.name in self.sized:
            self.within_size(f"{c.name}.power", c.name, power, 0.0, per_unit)
        self.el.add(c.node, 1.0, power)
        self.columns[f"{c.name}.power"] = Column(power)

    def _storage(self, name: str, cap: float, lo: float, keep: float, inflow, outflow):
        """Level balance ``level[t] = keep * level[t-1] + inflow[t] - outflow[t]``.

        ``cap`` and ``lo`` are the level limits; for a sized component they scale with its
        size and hold as rows."""
        m = self.m
        sized = name in self.sized
        level = self.var(f"{name}.level", (0.0 if sized else lo, cap))
        level_in = pyo.Var(bounds=(0.0 if sized else lo, cap))
        m.add_component(f"{name}__level_in", level_in)
        if sized:
            size = self.d.capacity[name]
            self.within_size(f"{name}.level", name, level, lo / size, cap / size)
            self.within_size(f"{name}.level_in", name, level_in, lo / size, cap / size)
        s = self.start

        def rule(m, t):
            prev = level_in if t == s else level[t - 1]
            return level[t] == keep * prev + inflow(t) - outflow(t)

        self.con(f"{name}.level_balance", rule)
        self.entry[f"{name}.level"] = level_in
        self.exit[f"{name}.level"] = level[self.stop - 1]
        self.columns[f"{name}.level"] = Column(level)
        return level

    def _add_battery(self, c) -> None:
        cap = self.cap(c.name)
        p_max = c.c_rate * cap
        ch = self.var(f"{c.name}.charge", (0, p_max))
        dis = self.var(f"{c.name}.discharge", (0, p_max))
        if c.name in self.sized:
            self.within_size(f"{c.name}.charge", c.name, ch, 0.0, c.c_rate)
            self.within_size(f"{c.name}.discharge", c.name, dis, 0.0, c.c_rate)
        self._storage(
            c.name,
            c.soc_max * cap,
            c.soc_min * cap,
            1.0 - c.self_discharge,
            lambda t: c.eta_charge * ch[t],
            lambda t: dis[t] / c.eta_discharge,
        )
        self.el.add(c.node, -1.0, ch)
        self.el.add(c.node, 1.0, dis)
        self.columns[f"{c.name}.charge"] = Column(ch)
        self.columns[f"{c.name}.discharge"] = Column(dis)

    def _add_mh_tank(self, c) -> None:
        cap = self.cap(c.name)
        absorb = self.var(f"{c.name}.absorb", (0, c.absorb_rate * cap))
        release = self.var(f"{c.name}.release", (0, c.release_rate * cap))
        if c.name in self.sized:
            self.within_size(f"{c.name}.absorb", c.name, absorb, 0.0, c.absorb_rate)
            self.within_size(f"{c.name}.release", c.name, release, 0.0, c.release_rate)
        self._storage(
            c.name, cap, c.level_min * cap, 1.0 - c.loss, lambda t: absorb[t], lambda t: release[t]
        )
        self.h2.add("h2", -1.0, absorb)
        self.h2.add("h2", 1.0, release)
        self.columns[f"{c.name}.absorb"] = Column(absorb)
        self.columns[f"{c.name}.release"] = Column(release)

    def _add_hot_water_tank(self, c) -> None:
        cap = self.cap(c.name) * c.kwh_per_m3
        charge = self.var(f"{c.name}.charge", (0, c.max_rate * cap))
        discharge = self.var(f"{c.name}.discharge", (0, c.max_rate * cap))
        if c.name in self.sized:
            rate = c.max_rate * c.kwh_per_m3
            self.within_size(f"{c.name}.charge", c.name, charge, 0.0, rate)
            self.within_size(f"{c.name}.discharge", c.name, discharge, 0.0, rate)
        self._storage(
            c.name, cap, 0.0, 1.0 - c.loss, lambda t: charge[t], lambda t: discharge[t]
        )
        self.heat.add(c.node, -1.0, charge)
        self.heat.add(c.node, 1.0, discharge)
        self.columns[f"{c.name}.charge"] = Column(charge)
        self.columns[f"{c.name}.discharge"] = Column(discharge)

    def _unit(self, name: str, cap: float, cm: Commitment, output: pyo.Var) -> None:
        """On/off binary with part-load limits, start-ups and minimum up/down times."""
        m, s, e = self.m, self.start, self.stop
        on = self.var(f"{name}.on", (0, 1), self.binary)
        self.columns[f"{name}.on"] = Column(on)
        # load = capacity while on, 0 while off: for a sized unit the product size * on,
        # linearised exactly with cap (the size's upper bound) as big-M
        load = on
        if name in self.sized:
            size = m.size[name]
            load = self.var(f"{name}.online_capacity", (0, 1))
            self.con(f"{name}.online_on", lambda m, t: load[t] <= on[t])
            self.con(f"{name}.online_size", lambda m, t: cap * load[t] <= size)
            self.con(f"{name}.online_off",
                     lambda m, t: cap * load[t] >= size - cap * (1 - on[t]))
        self.con(f"{name}.max_load", lambda m, t: output[t] <= cap * load[t])
        if cm.min_part_load > 0:
            lo = cm.min_part_load * cap
            self.con(f"{name}.min_load", lambda m, t: output[t] >= lo * load[t])
        for t in self.hours:
            self.binaries[t].append(on[t])
        if not _needs_state(cm):
            return
        up, down = cm.min_up - 1, cm.min_down - 1
        on_in = pyo.Var(domain=self.binary, bounds=(0, 1))
        m.add_component(f"{name}__on_in", on_in)
        started = self.var(f"{name}.start", (0, 1), self.binary)
        stopped = self.var(f"{name}.stop", (0, 1), self.binary)
        self.columns[f"{name}.start"] = Column(started)
        self.columns[f"{name}.stop"] = Column(stopped)
        for t in self.hours:
            self.binaries[t] += [started[t], stopped[t]]
        s_hist = pyo.Var(range(1, up + 1), domain=self.binary, bounds=(0, 1))
        d_hist = pyo.Var(range(1, down + 1), domain=self.binary, bounds=(0, 1))
        m.add_component(f"{name}__start_hist", s_hist)
        m.add_component(f"{name}__stop_hist", d_hist)

        def s_at(t):
            return started[t] if t >= s else s_hist[s - t]

        def d_at(t):
            return stopped[t] if t >= s else d_hist[s - t]

        def transition(m, t):
            prev = on_in if t == s else on[t - 1]
            return on[t] - prev == started[t] - stopped[t]

        self.con(f"{name}.transition", transition)
        self.con(f"{name}.one_switch", lambda m, t: started[t] + stopped[t] <= 1)
        if up > 0:
            self.con(
                f"{name}.min_up",
                lambda m, t: sum(s_at(t - k) for k in range(0, up + 1)) <= on[t],
            )
        if down > 0:
            self.con(
                f"{name}.min_down",
                lambda m, t: sum(d_at(t - k) for k in range(0, down + 1)) <= 1 - on[t],
            )
        hist = pyo.ConstraintList()
        m.add_component(f"{name}__history", hist)
        for k in range(1, up + 1):
            hist.add(s_hist[k] <= on_in)
        for k in range(1, down + 1):
            hist.add(d_hist[k] <= 1 - on_in)
        self.entry[f"{name}.on"] = on_in
        self.exit[f"{name}.on"] = on[e - 1]
        for k in range(1, up + 1):
            self.entry[f"{name}.started_{k}h_ago"] = s_hist[k]
            self.exit[f"{name}.started_{k}h_ago"] = s_at(e - k)
        for k in range(1, down + 1):
            self.entry[f"{name}.stopped_{k}h_ago"] = d_hist[k]
            self.exit[f"{name}.stopped_{k}h_ago"] = d_at(e - k)
        if cm.start_cost > 0:
            self.start_costs.append((cm.start_cost, started))

    def _add_electrolyser(self, c) -> None:
        cap = self.cap(c.name)
        h2 = self.var(f"{c.name}.h2", (0, cap))
        self._unit(c.name, cap, c.commitment, h2)
        self.el.add(c.node, -c.kwh_per_nm3, h2)
        self.h2.add("h2", 1.0, h2)
        self.columns[f"{c.name}.h2"] = Column(h2)
        self.columns[f"{c.name}.power"] = Column(h2, c.kwh_per_nm3)

    def _add_fuel_cell(self, c) -> None:
        cap = self.cap(c.name)
        power = self.var(f"{c.name}.power", (0, cap))
        self._unit(c.name, cap, c.commitment, power)
        h2_per_kwh = 1.0 / (c.eta_el * H2_LHV_KWH_PER_NM3)
        heat_per_kwh = c.eta_th / c.eta_el
        self.el.add(c.node, 1.0, power)
        self.h2.add("h2", -h2_per_kwh, power)
        self.heat.add(c.node, heat_per_kwh, power)
        self.columns[f"{c.name}.power"] = Column(power)
        self.columns[f"{c.name}.h2"] = Column(power, h2_per_kwh)
        self.columns[f"{c.name}.heat"] = Column(power, heat_per_kwh)

    def _add_heat_pump(self, c) -> None:
        cap = self.cap(c.name)
        heat = self.var(f"{c.name}.heat", (0, cap))
        self._unit(c.name, cap, c.commitment, heat)
        inv_cop = 1.0 / self.d.profiles[c.name][self.cut]
        self.el.add(c.node, -inv_cop, heat)
        self.heat.add(c.node, 1.0, heat)
        self.columns[f"{c.name}.heat"] = Column(heat)
        self.columns[f"{c.name}.power"] = Column(heat, inv_cop)

    def _add_links(self) -> None:
        """Each link's flows both ways. A link to a node outside the build: its flows
        belong to one end (:func:`link_owner`); there they are coupling quantities
        (``link_i.ab[t]``), and the other end sees all such links of a carrier as one
        net inflow per hour (``{node}.{carrier}_exchange[t]``, a coupling quantity too)."""
        exchange: dict[tuple[str, str], float] = defaultdict(float)
        for i, link in enumerate(self.d.links):
            at_a, at_b = link.a in self.nodes, link.b in self.nodes
            if not (at_a or at_b):
                continue
            owner = link_owner(link, self.d.grid_node)
            if not (at_a and at_b) and owner not in self.nodes:
                node = link.a if at_a else link.b
                exchange[(node, link.carrier)] += link.capacity
                continue
            name = f"link_{i}"
            ab = self.var(f"{name}.ab", (0, link.capacity))
            ba = self.var(f"{name}.ba", (0, link.capacity))
            terms = self.el if link.carrier == "electricity" else self.heat
            for node in (n for n, here in ((link.a, at_a), (link.b, at_b)) if here):
                into_ab, into_ba = link_inflow(link, node)
                terms.add(node, into_ab, ab)
                terms.add(node, into_ba, ba)
            self.columns[f"{name}.{link.a}->{link.b}"] = Column(ab)
            self.columns[f"{name}.{link.b}->{link.a}"] = Column(ba)
            if not (at_a and at_b):
                for t in self.hours:
                    self.coupling[f"{name}.ab[{t}]"] = ab[t]
                    self.coupling[f"{name}.ba[{t}]"] = ba[t]
        for (node, carrier), reach in exchange.items():
            name = f"{node}.{carrier}_exchange"
            net = self.var(name, (-reach, reach), pyo.Reals)
            (self.el if carrier == "electricity" else self.heat).add(node, 1.0, net)
            for t in self.hours:
                self.coupling[f"{name}[{t}]"] = net[t]

    def _add_heat_backup(self) -> None:
        self.backups = []
        for node in self.d.nodes:
            if node not in self.nodes:
                continue
            demand = self.d.demand_heat[node][self.cut]
            has_source = bool(self.heat.items.get(node))
            if demand.any():
                backup = self.var(f"{node}.backup")
                self.heat.add(node, 1.0, backup)
                self.columns[f"{node}.backup"] = Column(backup)
                self.backups.append(backup)
            if has_source:
                dump = self.var(f"{node}.dump")
                self.heat.add(node, -1.0, dump)
                self.columns[f"{node}.dump"] = Column(dump)

    def _add_balances(self) -> None:
        s = self.start
        for node in self.d.nodes:
            if node not in self.nodes:
                continue
            el_demand = self.d.demand_el[node][self.cut]
            heat_demand = self.d.demand_heat[node][self.cut]
            self.con(
                f"{node}.electricity_balance",
                lambda m, t, n=node, dem=el_demand: self.el.expr(n, t, s) == float(dem[t - s]),
            )
            if self.heat.items.get(node) or heat_demand.any():
                self.con(
                    f"{node}.heat_balance",
                    lambda m, t, n=node, dem=heat_demand: self.heat.expr(n, t, s)
                    == float(dem[t - s]),
                )
        if not self.h2.items.get("h2"):
            return
        if all(c.node in self.nodes for c in self.d.components if c.kind in H2_KINDS):
            self.con("hydrogen_balance", lambda m, t: self.h2.expr("h2", t, s) == 0)
            return
        # part of the hydrogen bus: what this build puts into it is a coupling quantity
        net = self.var("hydrogen.net", (None, None), pyo.Reals)
        self.con("hydrogen_balance", lambda m, t: self.h2.expr("h2", t, s) == net[t])
        for t in self.hours:
            self.coupling[f"hydrogen.net[{t}]"] = net[t]

    def _add_cost(self):
        d, m, s = self.d, self.m, self.start
        pb = d.price_buy[self.cut]
        ps = d.price_sell[self.cut]
        fuel = d.fuel_cost_per_heat
        purchase = sales = exchanged = 0
        if d.grid_node in self.nodes:
            buy, sell = self.buy, self.sell
            purchase = sum(float(pb[t - s]) * buy[t] for t in self.hours)
            sales = sum(float(ps[t - s]) * sell[t] for t in self.hours)
            # A counts the money exchanged with the grid either way: at a negative price
            # its magnitude, so that purchases and sales both count as non-negative amounts
            exchanged = (sum(abs(float(pb[t - s])) * buy[t] for t in self.hours)
                         + sum(abs(float(ps[t - s])) * sell[t] for t in self.hours))
        backup = sum(fuel * b[t] for b in self.backups for t in self.hours)
        starts = sum(cost * v[t] for cost, v in self.start_costs for t in self.hours)
        m.c_op = pyo.Expression(expr=purchase - sales + backup + starts)
        m.autonomy = pyo.Expression(expr=exchanged + backup)
        m.sales = pyo.Expression(expr=sales)
        m.cost = pyo.Expression(
            expr=m.W * m.c_op + (1 - m.W) * m.autonomy - TIE_BREAK * sales)
        return m.cost
