"""The basis of a solve's figures: which hours of the case were solved, their dates, and
the factor that scales per-horizon operation figures to a year (8760 h)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from design.network.case import Case

HOURS_PER_YEAR = 8760


@dataclass(frozen=True)
class Basis:
    """``hours`` solved of a case of ``case_hours`` that starts at ``start`` (local time)."""

    case: str
    hours: int
    case_hours: int
    start: str

    @classmethod
    def of(cls, case: Case, hours: int | None = None) -> Basis:
        """The basis of solving the first ``hours`` of ``case`` (all of it when None)."""
        return cls(case.name, case.hours if hours is None else int(hours), case.hours,
                   case.spec.location.start)

    @property
    def scale(self) -> float:
        """Factor from per-horizon operation figures to a year."""
        return HOURS_PER_YEAR / self.hours

    @property
    def scaled(self) -> bool:
        """True when per-horizon figures are scaled to give annual ones."""
        return self.hours != HOURS_PER_YEAR

    @property
    def shortened(self) -> bool:
        """True when fewer hours than the case has were solved."""
        return self.hours < self.case_hours

    def timestamps(self, hours) -> pd.DatetimeIndex:
        """Local timestamps of hour indices (0 = the case's first hour)."""
        return pd.Timestamp(self.start) + pd.to_timedelta(list(hours), unit="h")

    @property
    def first(self) -> pd.Timestamp:
        """Timestamp of the first solved hour."""
        return pd.Timestamp(self.start)

    @property
    def last(self) -> pd.Timestamp:
        """Timestamp of the last solved hour."""
        return pd.Timestamp(self.start) + pd.Timedelta(hours=self.hours - 1)

    def describe(self) -> str:
        """One sentence a reader needs before any figure: hours, dates, scaling."""
        span = f"{self.first:%Y-%m-%d %H:%M} to {self.last:%Y-%m-%d %H:%M}"
        of = (f"the first {self.hours} h of the case's {self.case_hours} h"
              if self.shortened else f"all {self.hours} h of the case")
        text = f"case {self.case}: {of} ({span})"
        if self.scaled:
            text += (f"; annual figures (EUR/a, kWh/a) are the operation of these hours "
                     f"scaled x{self.scale:.4g} to {HOURS_PER_YEAR} h")
        return text

    def as_dict(self) -> dict:
        """For settings.json and summary.json."""
        return {"case": self.case, "hours": self.hours, "case_hours": self.case_hours,
                "first_hour": f"{self.first:%Y-%m-%d %H:%M}",
                "last_hour": f"{self.last:%Y-%m-%d %H:%M}",
                "scale_to_year": self.scale, "scaled": self.scaled,
                "text": self.describe()}
