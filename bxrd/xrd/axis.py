"""The 2θ axis a model reads: a uniform 2θ grid (degrees) and the wavelength (Å) it belongs to.

One object travels with patterns, datasets, models and checkpoints, so that a grid is never
separated from its wavelength. Bragg's law itself lives in :mod:`bxrd.xrd.wavelength`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.wavelength import d_from_two_theta, two_theta_from_d


@dataclass(frozen=True)
class Axis:
    """A 2θ grid and its wavelength.

    Attributes:
        grid: uniform 2θ grid, degrees.
        wavelength: X-ray wavelength, Å (the single wavelength, or the Kα average, that the
            grid's angles refer to).
    """

    grid: TwoThetaGrid = field(default_factory=TwoThetaGrid)
    wavelength: float = 1.54184

    def __post_init__(self) -> None:
        if not 0.1 <= float(self.wavelength) <= 5.0:
            raise ValueError(f"wavelength {self.wavelength} Å is outside the X-ray range 0.1–5 Å")

    @property
    def n_points(self) -> int:
        """Number of grid points."""
        return self.grid.n_points

    @property
    def two_theta(self) -> np.ndarray:
        """Grid angles, shape (n_points,), degrees 2θ."""
        return self.grid.values

    @property
    def d_spacing(self) -> np.ndarray:
        """Spacing d of every grid angle, shape (n_points,), Å (decreasing)."""
        return d_from_two_theta(self.grid.values, self.wavelength)

    @property
    def d_range(self) -> tuple[float, float]:
        """(d_min, d_max) in Å that the grid covers at this wavelength."""
        d = d_from_two_theta(np.array([self.grid.stop, self.grid.start]), self.wavelength)
        return float(d[0]), float(d[1])

    def two_theta_of(self, d_angstrom: np.ndarray) -> np.ndarray:
        """2θ in degrees of spacings ``d`` (Å) at this wavelength; NaN where unreachable."""
        return two_theta_from_d(d_angstrom, self.wavelength)

    def to_dict(self) -> dict[str, float]:
        """Plain-number form for hparams, HDF5 attributes and JSON."""
        g = self.grid
        return {"start": g.start, "stop": g.stop, "step": g.step, "wavelength": self.wavelength}

    @classmethod
    def from_dict(cls, d: dict) -> Axis:
        """Inverse of :meth:`to_dict`."""
        grid = TwoThetaGrid(float(d["start"]), float(d["stop"]), float(d["step"]))
        return cls(grid, float(d["wavelength"]))
