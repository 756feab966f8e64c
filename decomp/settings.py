"""The engine's settings: the few a user sets, and the strategy's parts by name.

Each field is documented in ``docs/engine.md`` ("DWSettings: every field"), with the
benchmark cell where it pays. Anything not here is a fixed rule of the part that uses it
(a module constant with the reason next to it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field, fields, replace

from decomp.solvers import SolveOptions

FIRST_PRICES = ("auto", "lp", "master", "zero")
PRICED_STATES = ("auto", "all", "continuous")
PARALLEL = ("threads", "ray")
MODELS = ("auto", "keep", "drop")
STABILISATION = ("none", "wentges", "boxstep")

#: the primal heuristics, in the order they run on a round's columns; ``escalate`` runs
#: once column generation has stopped
HEURISTICS = ("pass", "windows", "escalate")

#: what ``heuristics=None`` stands for: every heuristic while the horizon is held whole
#: (the glued LP path), the horizon-free ones on the ``master`` path, where loading a
#: horizon MILP made a network's memory peak and gave nothing within the limit
DEFAULT_HEURISTICS = {"lp": HEURISTICS, "zero": HEURISTICS, "master": ("pass", "windows")}


@dataclass(frozen=True)
class DWSettings:
    """Column generation as a configurable strategy.

    What a user sets: ``gap``, ``time_limit``, ``interval``, ``workers`` (``parallel``:
    threads or Ray actors), ``solve`` (the solver). The strategy's parts by name:
    ``first_prices`` (where the first bound and prices come from), ``priced_states``
    (which linking rows carry prices), ``stabilisation``, ``lp_aggregate`` (coarse LP
    phases on the ``master`` path), ``heuristics`` (the primal heuristics, ordered),
    ``models`` (keep or drop the interval models). Limits of the loop: ``max_iterations``,
    ``pricing_gap``, ``pricing_time_limit``, ``boundary_window``.
    """

    # what a user sets (options of their own in lcen operate)
    gap: float = 0.01
    time_limit: float | None = None
    interval: int = 24
    workers: int = 1
    parallel: str = "threads"
    solve: SolveOptions = field(default_factory=SolveOptions)
    # the strategy's parts by name (--engine KEY=VALUE)
    first_prices: str = "auto"
    priced_states: str = "auto"
    stabilisation: str = "wentges"
    lp_aggregate: int | tuple[int, ...] | None = (30, 7)
    heuristics: tuple[str, ...] | None = None
    models: str = "auto"
    # limits of the loop (--engine KEY=VALUE)
    max_iterations: int = 30
    pricing_gap: float = 1e-4
    pricing_time_limit: float | None = None
    boundary_window: int = 6

    def __post_init__(self) -> None:
        from decomp.relaxation import aggregate_spans

        checks = (
            ("interval", self.interval >= 1, ">= 1 hour"),
            ("boundary_window", self.boundary_window >= 0, ">= 0"),
            ("gap", 0 <= self.gap < 1, "in [0, 1)"),
            ("max_iterations", self.max_iterations >= 1, ">= 1"),
            ("workers", self.workers >= 1, ">= 1"),
            ("pricing_gap", 0 <= self.pricing_gap < 1, "in [0, 1)"),
            ("time_limit", self.time_limit is None or self.time_limit > 0, "positive"),
            ("pricing_time_limit",
             self.pricing_time_limit is None or self.pricing_time_limit > 0, "positive"),
        )
        for name, ok, what in checks:
            if not ok:
                raise ValueError(f"{name} must be {what}, not {getattr(self, name)!r}")
        for name, choices in (("first_prices", FIRST_PRICES),
                              ("priced_states", PRICED_STATES), ("parallel", PARALLEL),
                              ("models", MODELS), ("stabilisation", STABILISATION)):
            value = getattr(self, name)
            if value not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
        aggregate_spans(self.lp_aggregate, "lp_aggregate")
        if self.heuristics is not None:
            unknown = [h for h in self.heuristics if h not in HEURISTICS]
            if unknown:
                raise ValueError(f"heuristics must be among {', '.join(HEURISTICS)}, not "
                                 f"{unknown}")
            object.__setattr__(self, "heuristics", tuple(self.heuristics))

    @property
    def repair_gap(self) -> float:
        """The gap each horizon MILP of a heuristic stops at: a quarter of the target."""
        return max(self.gap / 4, 1e-9)

    def uses(self, heuristic: str) -> bool:
        """Whether ``heuristic`` runs (``heuristics`` resolved for the path taken)."""
        chosen = self.heuristics
        if chosen is None:
            chosen = DEFAULT_HEURISTICS.get(self.first_prices, HEURISTICS)
        return heuristic in chosen


#: fields ``--engine KEY=VALUE`` may set (the rest have options of their own)
ENGINE_KEYS = tuple(f.name for f in fields(DWSettings) if f.name != "solve")


def with_engine(settings: DWSettings, pairs: list[str], where: str = "--engine"
                ) -> DWSettings:
    """``settings`` with ``KEY=VALUE`` pairs applied (values read as Python literals:
    numbers, None, tuples; anything else as a string), each checked like the field's
    own value; an unknown key is refused with the keys there are."""
    changes = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in ENGINE_KEYS:
            raise ValueError(f"{where} {pair!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(ENGINE_KEYS)}")
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            value = text.strip()
        if key == "heuristics" and isinstance(value, str):
            value = tuple(v for v in value.split(",") if v) if value != "None" else None
        changes[key] = value
    try:
        return replace(settings, **changes)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
