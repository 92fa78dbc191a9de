"""Stick patterns: the cached product of simulation (positions, intensities, hkl, cell)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bxrd.errors import StickFileError
from bxrd.fileio import atomic_path

_ARRAYS = ("two_theta", "intensity", "hkl", "d", "multiplicity", "lattice")


@dataclass
class StickPattern:
    """Reflections of one structure, one stick per (peak, hkl family).

    Where pymatgen merges families at the same 2θ, the peak intensity is shared among them in
    proportion to multiplicity, so each stick can move on its own under strain.

    Attributes:
        two_theta: stick positions, degrees 2θ, shape (P,).
        intensity: integrated intensities (max 100), shape (P,).
        hkl: one representative Miller index per family (3-index), shape (P, 3).
        d: interplanar spacings, Å, shape (P,).
        multiplicity: family multiplicities, shape (P,).
        lattice: direct lattice vectors as rows, Å, shape (3, 3).
        wavelength: wavelength used, Å.
        meta: provenance (structure id, formula, space group, source, ...).
    """

    two_theta: np.ndarray
    intensity: np.ndarray
    hkl: np.ndarray
    d: np.ndarray
    multiplicity: np.ndarray
    lattice: np.ndarray
    wavelength: float
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.two_theta)

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` atomically."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                **{k: getattr(self, k) for k in _ARRAYS},
                wavelength=np.float64(self.wavelength),
                meta=np.array(json.dumps(self.meta)),
            )

    @classmethod
    def load(cls, path: str | Path) -> StickPattern:
        """Read a file written by :meth:`save`.

        Raises:
            StickFileError: missing, truncated or foreign file.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in _ARRAYS}
                return cls(
                    **arrays, wavelength=float(z["wavelength"]), meta=json.loads(str(z["meta"]))
                )
        except (OSError, KeyError, ValueError) as exc:
            raise StickFileError(f"{path}: not a valid bxrd stick file ({exc})") from None
