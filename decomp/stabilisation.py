"""Dual stabilisation strategies: which prices to price with, and how to adapt.

Every strategy answers ``prices(master_y)`` and learns from ``update(...)``; ``none``
returns the master duals, so the loop never asks whether stabilisation is on.
"""

from __future__ import annotations

import numpy as np


class NoStabilisation:
    """Price with the master duals."""

    name = "none"

    def __init__(self, center: np.ndarray) -> None:
        self.center = center

    def prices(self, master_y: np.ndarray) -> np.ndarray:
        return master_y

    def update(self, y: np.ndarray, improved: bool, mispriced: bool) -> None:
        if improved:
            self.center = y


class Wentges(NoStabilisation):
    """Wentges smoothing: ``alpha * center + (1 - alpha) * master``.

    The centre is the best-bound prices so far; after a mis-pricing (no improving column
    at the master duals) alpha is halved, and it switches off after repeated ones.
    """

    name = "wentges"

    def __init__(self, center: np.ndarray, alpha: float = 0.5) -> None:
        super().__init__(center)
        self.alpha = alpha
        self.misprices = 0

    def prices(self, master_y: np.ndarray) -> np.ndarray:
        return self.alpha * self.center + (1.0 - self.alpha) * master_y

    def update(self, y: np.ndarray, improved: bool, mispriced: bool) -> None:
        super().update(y, improved, mispriced)
        if mispriced:
            self.misprices += 1
            self.alpha = 0.0 if self.misprices >= 3 else self.alpha / 2.0


class BoxStep(NoStabilisation):
    """Box step: master duals clipped to a box around the centre; the box grows on
    mis-pricing and shrinks when the bound improves."""

    name = "boxstep"

    def __init__(self, center: np.ndarray, width: float = 1.0) -> None:
        super().__init__(center)
        self.width = width

    def prices(self, master_y: np.ndarray) -> np.ndarray:
        return np.clip(master_y, self.center - self.width, self.center + self.width)

    def update(self, y: np.ndarray, improved: bool, mispriced: bool) -> None:
        super().update(y, improved, mispriced)
        if mispriced:
            self.width *= 4.0


def make_stabilisation(name: str, center: np.ndarray, alpha: float = 0.5):
    """Strategy by name: ``none``, ``wentges`` or ``boxstep``."""
    if name == "none":
        return NoStabilisation(center)
    if name == "wentges":
        return Wentges(center, alpha)
    if name == "boxstep":
        scale = float(np.max(np.abs(center))) if center.size else 1.0
        return BoxStep(center, width=max(0.1 * scale, 1e-3))
    raise ValueError(f"stabilisation must be none, wentges or boxstep, not {name!r}")
