"""Scenario files (YAML): named scenarios, each a set of changes of the case in the
study-variation syntax (:class:`design.network.changes.Change`) with a probability; validated
like case files, each problem one line naming the file, the field and the value."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from design.network.case import Case, CaseError, read_yaml, validate_yaml
from design.network.changes import Change, Variation, apply_changes

#: probabilities must sum to 1 within this
PROBABILITY_TOLERANCE = 1e-6


class Scenario(BaseModel):
    """One scenario: its changes (none: the case as it is) and its probability."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    probability: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
    description: str = ""
    changes: list[Change] = []

    def variation(self) -> Variation:
        """The scenario as a study variation (same name and changes)."""
        return Variation(name=self.name, changes=self.changes)


class ScenarioSet(BaseModel):
    """A scenario file: scenarios whose probabilities sum to 1."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.+-]+$")]
    description: str = ""
    scenarios: Annotated[list[Scenario], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> ScenarioSet:
        names = [s.name for s in self.scenarios]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate scenario names: {dup}")
        total = sum(s.probability for s in self.scenarios)
        if abs(total - 1.0) > PROBABILITY_TOLERANCE:
            listed = ", ".join(f"{s.name} {s.probability:g}" for s in self.scenarios)
            raise ValueError(f"the probabilities sum to {total:.6g}, not 1 ({listed})")
        return self

    @property
    def probabilities(self) -> dict[str, float]:
        """Scenario name -> probability."""
        return {s.name: s.probability for s in self.scenarios}


class Scenarios:
    """A loaded scenario set: the file, its spec and one case per scenario (the changes
    applied to ``base``)."""

    def __init__(self, path: Path, spec: ScenarioSet, base: Case) -> None:
        self.path, self.spec, self.base = path, spec, base
        self.cases: dict[str, Case] = {
            s.name: apply_changes(base, s.variation(), path, field="scenarios")
            for s in spec.scenarios}
        for name, case in self.cases.items():
            if case.spec.design_space != base.spec.design_space or \
                    case.spec.default_design != base.spec.default_design:
                raise CaseError(f"{path}: scenarios.{name}: changes the design space; the "
                                "design is chosen before the scenario is known, so every "
                                "scenario shares the case's design space")

    @property
    def names(self) -> list[str]:
        """Scenario names in the file's order."""
        return [s.name for s in self.spec.scenarios]

    @property
    def probabilities(self) -> dict[str, float]:
        """Scenario name -> probability."""
        return self.spec.probabilities

    def pairs(self) -> list[tuple[Case, float]]:
        """(scenario case, probability) in the file's order (for the seeding)."""
        return [(self.cases[s.name], s.probability) for s in self.spec.scenarios]

    def digest(self) -> str:
        """A fingerprint of the scenarios (names, probabilities, changes) and the base
        case's name: a resumed run refuses another set."""
        text = self.spec.model_dump_json() + self.base.name
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def record(self) -> dict:
        """What a results folder states of the set."""
        return {"file": str(self.path.resolve()), "name": self.spec.name,
                "digest": self.digest(),
                "scenarios": [s.model_dump(mode="json") for s in self.spec.scenarios]}


def load_scenarios(path: str | Path, base: Case) -> Scenarios:
    """Read and validate a scenario file and apply each scenario to ``base``."""
    path, data = read_yaml(path, "scenario")
    spec = validate_yaml(ScenarioSet, data, path)
    return Scenarios(path, spec, base)
