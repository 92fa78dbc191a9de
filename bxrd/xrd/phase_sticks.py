"""Stick lists of candidate secondary phases and substrates, stored as d-spacings.

A reflection's d (Å) does not depend on the wavelength; its 2θ does (Bragg's law,
:mod:`bxrd.xrd.wavelength`), and so does its relative intensity through the Lorentz–
polarisation factor of an unpolarised beam, LP(θ) = (1 + cos² 2θ) / (sin² θ cos θ) (the
factor pymatgen's ``XRDCalculator`` applies). Intensities are stored as simulated at Cu Kα1
(1.540562 Å) and moved to another wavelength λ by I_λ = I_Cu · LP(θ_λ) / LP(θ_Cu).

The shipped library (``bxrd/checkpoints/phases.npz``) is written by
``scripts/make_phase_library.py``, which records its provenance (Materials Project ids,
experimental cells, the command) in :attr:`PhaseSticks.meta`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_path
from bxrd.xrd.wavelength import two_theta_from_d

#: Wavelength the stored intensities were simulated at: Cu Kα1, Å.
CU_KA1 = 1.540562
_TEXT = ("names", "formulas", "sources", "space_groups")


def lorentz_polarisation(two_theta_deg: np.ndarray) -> np.ndarray:
    """LP(θ) = (1 + cos² 2θ) / (sin² θ cos θ) for angles 2θ in degrees, shape kept."""
    tt = np.radians(two_theta_deg)
    return (1 + np.cos(tt) ** 2) / (np.sin(tt / 2) ** 2 * np.cos(tt / 2))


@dataclass
class PhaseSticks:
    """Reflections of S candidate phases, concatenated (M sticks in all).

    Attributes:
        names: phase name per phase (formula, with the polymorph where one formula has two),
            length S.
        formulas: reduced formula per phase.
        sources: where the structure came from (a Materials Project id, or a literature
            structure type) per phase.
        space_groups: Hermann–Mauguin symbol per phase.
        offsets: phase i owns sticks ``offsets[i]:offsets[i + 1]``, shape (S + 1,).
        d: interplanar spacings, Å, shape (M,).
        intensity: relative intensities at Cu Kα1 (100 = strongest of the phase), shape (M,).
        hkl: Miller indices, shape (M, 3).
        meta: provenance (command, cells, thresholds).
    """

    names: tuple[str, ...]
    formulas: tuple[str, ...]
    sources: tuple[str, ...]
    space_groups: tuple[str, ...]
    offsets: np.ndarray
    d: np.ndarray
    intensity: np.ndarray
    hkl: np.ndarray
    meta: dict = field(default_factory=dict)
    _at: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Refuse offsets that do not give every phase at least one stick.

        Raises:
            ValueError: offsets not (S + 1,), not from 0 to M, or an empty phase.
        """
        off = np.asarray(self.offsets)
        if (
            off.shape != (len(self.names) + 1,)
            or off[0] != 0
            or off[-1] != len(self.d)
            or np.any(np.diff(off) <= 0)
        ):
            raise ValueError(
                f"phase offsets must rise from 0 to {len(self.d)} over {len(self.names)} "
                "phases, each with at least one stick"
            )

    def __len__(self) -> int:
        return len(self.names)

    def at(self, wavelength: float) -> tuple[np.ndarray, np.ndarray]:
        """Every stick at ``wavelength`` (Å): 2θ (degrees; NaN where λ > 2d) and intensity.

        Shapes (M,), (M,); intensities LP-corrected from Cu Kα1 (0 where unreachable), not
        renormalised. Cached per wavelength (most files of a run share one).
        """
        key = round(float(wavelength), 6)
        if key not in self._at:
            tt = two_theta_from_d(self.d, key)
            lp = lorentz_polarisation(tt) / lorentz_polarisation(two_theta_from_d(self.d, CU_KA1))
            self._at[key] = (tt, np.nan_to_num(np.where(np.isfinite(tt), self.intensity * lp, 0.0)))
        return self._at[key]

    def lines(self, i: int, wavelength: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Phase ``i`` at ``wavelength``: 2θ, intensity (as :meth:`at`), hkl; (P,), (P,), (P, 3)."""
        sl = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        tt, inten = self.at(wavelength)
        return tt[sl], inten[sl], self.hkl[sl]

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` atomically (text as JSON, no pickles)."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                offsets=self.offsets.astype(np.int32),
                d=self.d.astype(np.float32),
                intensity=self.intensity.astype(np.float32),
                hkl=self.hkl.astype(np.int8),
                text=np.array(json.dumps({k: list(getattr(self, k)) for k in _TEXT})),
                meta=np.array(json.dumps(self.meta)),
            )

    @classmethod
    def load(cls, path: str | Path) -> PhaseSticks:
        """Read a file written by :meth:`save`.

        Raises:
            BxrdInputError: missing, truncated or foreign file.
        """
        try:
            with np.load(path, allow_pickle=False) as z:
                text = json.loads(str(z["text"]))
                return cls(
                    **{k: tuple(text[k]) for k in _TEXT},
                    offsets=z["offsets"].astype(np.int64),
                    d=z["d"].astype(np.float64),
                    intensity=z["intensity"].astype(np.float64),
                    hkl=z["hkl"].astype(np.int64),
                    meta=json.loads(str(z["meta"])),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise BxrdInputError(f"{path}: not a bxrd phase library ({exc})") from None
