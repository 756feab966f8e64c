"""Typical periods that stand for the whole year: tsam clusters the case's days (or weeks).

The reduced-horizon design MILP (``design.design_milp.build_reduced_design_milp``) solves
one model per typical period and chains their storage balances over the year's sequence
of periods, so seasonal storage (hydrogen) is still seen. Each typical period is a medoid,
a real period of the year, so its model is built from the case's own series.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from design.network.case import Case, CaseError
from design.network.operation_data import OperationData, prepare
from design.search.space import DesignSpace


@dataclass(frozen=True)
class TypicalPeriods:
    """``medoids[k]``: the year's period that represents cluster k; ``order[p]``: the
    cluster of the year's period p; every period has ``length`` hours."""

    length: int
    medoids: tuple[int, ...]
    order: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ValueError(f"period length must be >= 1 hour, not {self.length}")
        if not self.medoids or any(not 0 <= k < len(self.medoids) for k in self.order):
            raise ValueError("order must name clusters 0..len(medoids)-1")

    @property
    def counts(self) -> np.ndarray:
        """How many of the year's periods each typical period stands for."""
        return np.bincount(np.asarray(self.order), minlength=len(self.medoids)).astype(float)

    @property
    def hours(self) -> int:
        """Hours of the reduced model (typical periods only)."""
        return len(self.medoids) * self.length

    @property
    def represented_hours(self) -> int:
        """Hours of the year the periods stand for (whole periods only)."""
        return len(self.order) * self.length

    def start(self, k: int) -> int:
        """First hour of typical period k in the year's series."""
        return self.medoids[k] * self.length


@dataclass(frozen=True)
class ScenarioPeriods:
    """Typical periods of every scenario of a set: ``parts`` holds (the scenario's case,
    its typical periods, its probability). The reduced design MILP builds one part per
    scenario, all sharing the sizes (a two-stage design MILP on typical periods)."""

    parts: tuple[tuple[Case, TypicalPeriods, float], ...]

    @property
    def medoids(self) -> tuple[int, ...]:
        """Every part's typical periods (for counting them)."""
        return tuple(k for _, per, _ in self.parts for k in per.medoids)

    @property
    def length(self) -> int:
        """Hours of a typical period."""
        return self.parts[0][1].length


def scenario_periods(cases: list[tuple[Case, float]], n: int, length: int = 24,
                     hours: int | None = None) -> ScenarioPeriods:
    """``n`` typical periods drawn from all the scenarios: each (case, probability) is
    clustered into its share, ``n // len(cases)`` periods (at least one)."""
    share = max(1, n // len(cases))
    return ScenarioPeriods(tuple((c, typical_periods(c, share, length, hours), p)
                                 for c, p in cases))


def clustering_features(data: OperationData) -> pd.DataFrame:
    """What the clustering compares: demands per node, PV yield and heat-pump COP per
    component, and the tariffs (each column scaled by tsam)."""
    cols: dict[str, np.ndarray] = {}
    for node in data.nodes:
        cols[f"el.{node}"] = data.demand_el[node]
        if data.demand_heat[node].any():
            cols[f"heat.{node}"] = data.demand_heat[node]
    for name, profile in data.profiles.items():
        cols[f"profile.{name}"] = profile
    cols["price_buy"] = data.price_buy
    cols["price_sell"] = data.price_sell
    frame = pd.DataFrame(cols, index=pd.date_range("2010-01-01", periods=data.hours, freq="h"))
    return frame.loc[:, frame.std() > 0]


def typical_periods(case: Case, n: int, length: int = 24,
                    hours: int | None = None) -> TypicalPeriods:
    """Cluster the first ``hours`` (default: all) of the case into ``n`` medoid periods of
    ``length`` hours (tsam, hierarchical clustering). A horizon shorter than ``n`` periods
    gets fewer (and shorter, down to the horizon) periods; hours after the last whole
    period are left out of the reduced model."""
    hours = case.hours if hours is None else int(hours)
    if not 1 <= hours <= case.hours:
        raise CaseError(f"{case.path or case.name}: horizon {hours} must be between 1 and "
                        f"{case.hours}")
    if n < 1 or length < 1:
        raise ValueError(f"typical periods ({n}) and their length ({length} h) must be >= 1")
    length = min(length, hours)
    periods = hours // length
    n = min(n, periods)
    space = DesignSpace.from_case(case)
    data = prepare(case, {**space.fixed, **space.largest()}, periods * length)
    features = clustering_features(data)
    if n == periods or features.empty:
        return TypicalPeriods(length, tuple(range(n)), tuple(np.arange(periods) % n))
    import tsam

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = tsam.aggregate(
            features, n, period_duration=length,
            cluster=tsam.ClusterConfig(method="hierarchical", representation="medoid"),
            preserve_column_means=False,
        )
    medoids = tuple(int(k) for k in agg.clustering.cluster_centers)
    order = tuple(int(k) for k in agg.cluster_assignments)
    return TypicalPeriods(length, medoids, order)
