"""Numbers one operation model needs: a case's series cut to the horizon plus one design."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from design.network.case import Case, CaseError, Component
from design.network.physics import heat_pump_cop, pv_output_per_m2

H2_LHV_KWH_PER_NM3 = 3.0


@dataclass(frozen=True)
class OperationData:
    """Prepared inputs of the operation MILP for one design (capacities > 0 only)."""

    case_name: str
    hours: int
    nodes: tuple[str, ...]
    demand_el: dict[str, np.ndarray]
    demand_heat: dict[str, np.ndarray]
    price_buy: np.ndarray
    price_sell: np.ndarray
    grid_node: str
    import_limit: float
    export_limit: float
    fuel_cost_per_heat: float
    components: tuple[Component, ...]
    capacity: dict[str, float]
    profiles: dict[str, np.ndarray] = field(default_factory=dict)
    availability: dict[str, np.ndarray] = field(default_factory=dict)
    links: tuple = ()
    storage_boundary: str = "cyclic"
    initial_storage: float = 0.5

    def structure_digest(self) -> str:
        """A digest of everything the operation model depends on except the capacities
        (and what scales with them): two designs of one case with the same installed
        components agree on it, so a model built for one can take the other's sizes."""
        h = hashlib.sha256()
        parts: list = [self.case_name, self.hours, self.nodes, self.grid_node,
                       self.import_limit, self.export_limit, self.fuel_cost_per_heat,
                       repr(self.components), repr(self.links), self.storage_boundary,
                       self.initial_storage]
        h.update(repr(parts).encode())
        arrays = [self.price_buy, self.price_sell]
        arrays += [self.demand_el[n] for n in self.nodes]
        arrays += [self.demand_heat[n] for n in self.nodes]
        arrays += [self.availability[k] for k in sorted(self.availability)]
        arrays += [self.profiles[k] for k in sorted(self.profiles) if k not in self.availability]
        for a in arrays:
            h.update(np.ascontiguousarray(a, dtype=float).tobytes())
        return h.hexdigest()

    def installed(self, kind: str) -> list[Component]:
        """Installed components of one kind, in case order."""
        return [c for c in self.components if c.kind == kind]


def prepare(case: Case, design: dict[str, float], horizon: int | None = None) -> OperationData:
    """Cut the case's series to ``horizon`` hours and attach the design's capacities."""
    hours = case.hours if horizon is None else int(horizon)
    if not 1 <= hours <= case.hours:
        raise CaseError(
            f"{case.path or case.name}: horizon {horizon} must be between 1 and {case.hours}"
        )
    spec = case.spec
    cut = slice(0, hours)
    demand_el, demand_heat = {}, {}
    for n in spec.nodes:
        demand_el[n.name] = sum(
            (case.column(c)[cut] for c in n.electricity), start=np.zeros(hours)
        )
        demand_heat[n.name] = sum((case.column(c)[cut] for c in n.heat), start=np.zeros(hours))
    installed = tuple(c for c in spec.components if design.get(c.name, 0.0) > 0)
    profiles, availability = {}, {}
    for c in installed:
        if c.kind == "pv":
            key = ("pv_per_m2", c.name)
            if key not in case.derived:
                case.derived[key] = pv_output_per_m2(case, c)
            availability[c.name] = case.derived[key][cut]
            profiles[c.name] = availability[c.name] * design[c.name]
        elif c.kind == "heat_pump":
            profiles[c.name] = heat_pump_cop(case, c)[cut]
    return OperationData(
        case_name=spec.name,
        hours=hours,
        nodes=tuple(n.name for n in spec.nodes),
        demand_el=demand_el,
        demand_heat=demand_heat,
        price_buy=case.column(spec.tariff.purchase)[cut],
        price_sell=case.column(spec.tariff.sale)[cut],
        grid_node=spec.tariff.node,
        import_limit=spec.tariff.import_limit,
        export_limit=spec.tariff.export_limit,
        fuel_cost_per_heat=spec.backup.fuel_price / spec.backup.efficiency,
        components=installed,
        capacity={c.name: float(design[c.name]) for c in installed},
        profiles=profiles,
        availability=availability,
        links=tuple(spec.links),
        storage_boundary=spec.storage_boundary,
        initial_storage=spec.initial_storage,
    )
