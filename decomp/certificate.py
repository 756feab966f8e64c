"""What a result proves: its status, the relative gap between its bounds, and the check
of a plan against the model it claims to solve.

A lower bound above an upper bound beyond tolerance is a contradiction: it raises with
both numbers and is never clamped to a zero gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

OPTIMAL = "optimal"
GAP_MET = "gap met"
FEASIBLE = "feasible"
NO_PLAN = "no plan"

#: HiGHS's and Gurobi's default relative MIP gap: "optimal" means proven within it.
OPTIMAL_GAP = 1e-4
#: How far a lower bound may lie above an upper bound (relative) before it is an error:
#: solver feasibility tolerances, not more.
BOUND_TOLERANCE = 1e-6

WITH_PLAN = (OPTIMAL, GAP_MET, FEASIBLE)


class CertificateError(RuntimeError):
    """A certificate contradicts itself (LB > UB) or a plan violates its model."""


def relative_gap(upper: float | None, lower: float | None) -> float | None:
    """(upper - lower) / |upper|; None when either is unknown. Raises
    :class:`CertificateError` when ``lower`` exceeds ``upper`` by more than
    :data:`BOUND_TOLERANCE` (relative); within it the gap is 0."""
    if upper is None or lower is None or not math.isfinite(upper) or not math.isfinite(lower):
        return None
    if lower - upper > BOUND_TOLERANCE * max(abs(upper), abs(lower), 1.0):
        raise CertificateError(f"lower bound {lower!r} is above upper bound {upper!r}: "
                               "the certificate is contradictory")
    if upper <= lower:
        return 0.0
    return (upper - lower) / max(abs(upper), 1e-9)


def certified_status(has_plan: bool, gap: float | None, target: float) -> str:
    """``optimal`` (gap proven within :data:`OPTIMAL_GAP`), ``gap met`` (within
    ``target``), ``feasible`` (a plan, gap above target or unknown) or ``no plan``."""
    if not has_plan:
        return NO_PLAN
    if gap is not None and gap <= OPTIMAL_GAP:
        return OPTIMAL
    if gap is not None and gap <= target:
        return GAP_MET
    return FEASIBLE


@dataclass(frozen=True)
class PlanCheck:
    """How far a plan is from satisfying its model: the largest violation of a row, of a
    variable bound and of integrality, and the objective recomputed from the values."""

    rows: int
    columns: int
    row_violation: float
    bound_violation: float
    integrality_violation: float
    objective: float
    worst: tuple[str, ...]

    def ok(self, tol: float = 1e-5) -> bool:
        """True when every violation is within ``tol`` (relative to the row's size)."""
        return max(self.row_violation, self.bound_violation,
                   self.integrality_violation) <= tol

    def require(self, claimed: float | None, tol: float = 1e-5, what: str = "plan") -> None:
        """Raise :class:`CertificateError` unless the plan is feasible within ``tol`` and
        its recomputed objective equals ``claimed`` (relative ``tol``)."""
        if not self.ok(tol):
            raise CertificateError(
                f"{what} violates its model (rows {self.row_violation:.3g}, bounds "
                f"{self.bound_violation:.3g}, integrality {self.integrality_violation:.3g} "
                f"> {tol:g}): " + "; ".join(self.worst))
        if claimed is not None and abs(self.objective - claimed) > tol * max(1.0, abs(claimed)):
            raise CertificateError(f"{what}'s cost recomputed from its values is "
                                   f"{self.objective!r}, not the reported {claimed!r}")
