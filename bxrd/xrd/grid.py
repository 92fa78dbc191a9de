"""The fixed 2θ grid patterns are rendered on and models read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TwoThetaGrid:
    """Uniform grid in 2θ (degrees), both ends included.

    Attributes:
        start: first angle, degrees 2θ.
        stop: last angle, degrees 2θ.
        step: spacing, degrees 2θ.
    """

    start: float = 10.0
    stop: float = 80.0
    step: float = 0.02

    def __post_init__(self) -> None:
        if not (0.0 < self.start < self.stop < 180.0):
            raise ValueError(f"2θ grid needs 0 < start < stop < 180°, got {self.start}–{self.stop}")
        if not 0.0 < self.step <= (self.stop - self.start) / 10:
            raise ValueError(f"2θ step {self.step}° must be > 0 and give at least 10 points")

    @classmethod
    def from_values(cls, two_theta: np.ndarray) -> TwoThetaGrid:
        """Return the grid of stored uniform angles ``two_theta`` (degrees), shape (L,)."""
        step = float(round(two_theta[1] - two_theta[0], 10))
        return cls(float(two_theta[0]), float(two_theta[-1]), step)

    @property
    def n_points(self) -> int:
        """Number of grid points."""
        return int(round((self.stop - self.start) / self.step)) + 1

    @property
    def values(self) -> np.ndarray:
        """Grid angles, shape (n_points,), degrees 2θ."""
        return self.start + self.step * np.arange(self.n_points)
