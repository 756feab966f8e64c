"""Dual stabilisation: which prices to price with, and the box the master's duals live in.

One strategy object, configured rather than forked (Coluna.jl's pattern): a stability
centre (the prices with the best Lagrangian bound so far), a box of half-width ``width``
around it that the restricted master enforces through its slack columns
(:meth:`~decomp.master.RestrictedMaster.set_box`), and Wentges smoothing
``alpha * centre + (1 - alpha) * master duals``.

- The box starts at a width scaled to the problem and doubles whenever the master needs
  its slacks (the box, not the columns, set a price) and the bound did not improve; so
  it never stays too tight, and the master's duals never run off to a big-M value.
- As a trust region (the LP phase, whose master is feasible from its first round): the
  box doubles after an improving step that it held back and halves after ``patience``
  steps in a row that did not improve the bound, so it starts small around a good
  centre and grows only while the steps succeed (a wide box there lets the degenerate
  master's duals wander and the bound stall for dozens of rounds;
  yet halving after every null step can keep the box tiny far from the optimum when
  steps alternate between improving and not: ``patience`` 2 then lets it grow).
- ``alpha`` is adjusted automatically: halved after a mis-pricing (no column priced out
  at the master duals), raised again by 0.1 (up to its start value) after each serious
  step; it is never switched off for good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Stabilisation:
    """Centre, box and smoothing of the column generation's prices."""

    center: np.ndarray
    width: float
    alpha: float = 0.0
    alpha_max: float = 0.0
    adaptive_box: bool = True
    name: str = "none"
    widenings: int = 0
    trust_region: bool = False
    min_width: float = 0.0
    mispricings: int = 0
    #: the factor a trust region's width takes after a step that did not improve
    shrink: float = 0.5
    #: null steps in a row (the bound not improved) before a trust region narrows
    patience: int = 1
    nulls: int = 0
    #: the widest the box gets (a master whose columns cannot meet its rows yet would
    #: otherwise double it until its slack costs lose every digit)
    max_width: float = np.inf

    def prices(self, master_y: np.ndarray) -> np.ndarray:
        """The prices to price with next."""
        return self.alpha * self.center + (1.0 - self.alpha) * master_y

    def box(self) -> tuple[np.ndarray, float]:
        """(centre, half-width) of the box on the master's duals."""
        return self.center, self.width

    def update(self, y: np.ndarray, improved: bool, mispriced: bool, binding: bool) -> None:
        """Learn from the last round: ``y`` was priced, ``improved`` the best bound,
        ``mispriced``: no column priced out; ``binding``: the master used its slacks."""
        if improved:
            self.center = y.copy()
            self.alpha = min(self.alpha_max, self.alpha + 0.1)
        if mispriced:
            self.mispricings += 1
            self.alpha /= 2.0
        if self.trust_region:
            # a trust region: a step the box held back that improved the bound widens it,
            # a step that did not improve it narrows it
            if improved:
                self.nulls = 0
                if binding:
                    self.width = min(2.0 * self.width, self.max_width)
                    self.widenings += 1
            else:
                self.nulls += 1
                if self.nulls >= self.patience:
                    self.nulls = 0
                    self.width = max(self.width * self.shrink, self.min_width)
        elif binding and not improved and self.adaptive_box:
            self.width = min(2.0 * self.width, self.max_width)
            self.widenings += 1


#: the box grows to at most this many times its first width
MAX_WIDENING = 1e6


def make_stabilisation(name: str, center: np.ndarray, alpha: float = 0.5,
                       width: float = 1e5, trust_region: bool = False,
                       shrink: float = 0.5, patience: int = 1) -> Stabilisation:
    """Strategy by name: ``none`` (master duals, a fixed box of ``width``), ``wentges``
    (smoothing with automatic alpha, adaptive box) or ``boxstep`` (adaptive box only).
    ``trust_region``: the box doubles after an improving step it held back and is
    multiplied by ``shrink`` after a step that did not improve (down to a thousandth of
    ``width``), for a master that is feasible from the start (a good centre, a small
    first box); ``patience``: the null steps in a row it takes before the box narrows
    (1: after each)."""
    if not 0.0 < shrink <= 1.0:
        raise ValueError(f"shrink must be in (0, 1], not {shrink}")
    if patience < 1:
        raise ValueError(f"patience must be >= 1, not {patience}")
    extra = {"trust_region": trust_region, "min_width": width * 1e-3, "shrink": shrink,
             "patience": patience, "max_width": width * MAX_WIDENING}
    if name == "none":
        return Stabilisation(center, width, adaptive_box=False, name=name)
    if name == "wentges":
        return Stabilisation(center, width, alpha=alpha, alpha_max=alpha, name=name, **extra)
    if name == "boxstep":
        return Stabilisation(center, width, name=name, **extra)
    raise ValueError(f"stabilisation must be none, wentges or boxstep, not {name!r}")
