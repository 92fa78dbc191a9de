"""Padded tensors of many stick patterns, the input of batched augmentation and rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch

from bxrd.xrd.orientation import MAX_ROTATIONS, lattice_rotations
from bxrd.xrd.sticks import StickPattern


def lattice_ties(lattice: np.ndarray, tol: float = 1e-4) -> np.ndarray:
    """Index of the free length parameter each axis follows, shape (3,).

    Axes of equal length (cubic a=b=c, tetragonal and hexagonal a=b, rhombohedral a=b=c) share
    one parameter, so strain keeps the metric symmetry of the cell.
    """
    abc = np.linalg.norm(lattice, axis=1)
    ties = np.arange(3)
    for i in range(3):
        for j in range(i):
            if abs(abc[i] - abc[j]) <= tol * abc[j]:
                ties[i] = ties[j]
                break
    return ties


_STICK_AXIS = ("hkl", "intensity", "inv_d2", "normals")  # fields whose axis 1 is the stick


def _widths(intensity: torch.Tensor) -> torch.Tensor:
    """Index of the last non-zero stick + 1 of each row of ``intensity`` (B, P), shape (B,)."""
    used = intensity != 0
    if used.shape[1] == 0:
        return torch.zeros(used.shape[0], dtype=torch.int64)
    last = used.shape[1] - used.flip(1).to(torch.uint8).argmax(dim=1)
    return torch.where(used.any(dim=1), last, 0)


@dataclass
class StickBatch:
    """B stick patterns padded to P sticks.

    Attributes:
        hkl: Miller indices as floats, shape (B, P, 3).
        intensity: stick intensities (0 on padding), shape (B, P).
        inv_d2: 1 / d², Å⁻², shape (B, P) (1 on padding).
        recip_metric: reciprocal metric tensor G* (Å⁻²), shape (B, 3, 3).
        normals: unit scattering vectors of the sticks in Cartesian axes, shape (B, P, 3).
        ties: lattice-length ties for strain (see :func:`lattice_ties`), shape (B, 3).
        rotations: proper rotations of the lattice point group, Cartesian, shape (B, 24, 3, 3)
            (identity on padding); they regenerate each stick's family of equivalent
            reflections (see :mod:`bxrd.xrd.orientation`).
        rotation_weight: 1 / (number of rotations) on real rotations, 0 on padding, (B, 24).
    """

    hkl: torch.Tensor
    intensity: torch.Tensor
    inv_d2: torch.Tensor
    recip_metric: torch.Tensor
    normals: torch.Tensor
    ties: torch.Tensor
    rotations: torch.Tensor
    rotation_weight: torch.Tensor

    def __len__(self) -> int:
        return self.hkl.shape[0]

    @classmethod
    def from_patterns(cls, patterns: Sequence[StickPattern]) -> StickBatch:
        """Stack and pad ``patterns`` (any stick counts) into one batch."""
        b, p = len(patterns), max(len(s) for s in patterns)
        hkl = np.zeros((b, p, 3))
        intensity = np.zeros((b, p))
        inv_d2 = np.ones((b, p))
        normals = np.zeros((b, p, 3))
        metric = np.zeros((b, 3, 3))
        ties = np.zeros((b, 3), dtype=np.int64)
        rotations = np.tile(np.eye(3), (b, MAX_ROTATIONS, 1, 1))
        rotation_weight = np.zeros((b, MAX_ROTATIONS))
        for i, s in enumerate(patterns):
            n = len(s)
            recip = np.linalg.inv(s.lattice).T  # rows: reciprocal vectors (no 2π)
            g = s.hkl @ recip
            hkl[i, :n], intensity[i, :n] = s.hkl, s.intensity
            inv_d2[i, :n] = 1.0 / s.d**2
            normals[i, :n] = g / np.linalg.norm(g, axis=1, keepdims=True)
            metric[i] = recip @ recip.T
            ties[i] = lattice_ties(s.lattice)
            rot = lattice_rotations(s.lattice)
            rotations[i, : len(rot)], rotation_weight[i, : len(rot)] = rot, 1.0 / len(rot)
        as_t = torch.from_numpy
        return cls(
            as_t(hkl).float(),
            as_t(intensity).float(),
            as_t(inv_d2).double(),
            as_t(metric).double(),
            as_t(normals).float(),
            as_t(ties),
            as_t(rotations).float(),
            as_t(rotation_weight).float(),
        )

    def widths(self) -> torch.Tensor:
        """Sticks used by each pattern (index of its last non-zero stick + 1), shape (B,)."""
        return _widths(self.intensity)

    def width_groups(self) -> list[torch.Tensor]:
        """Split the batch in two index groups when that at least halves the padded work.

        Work on a batch is ∝ rows × padded width; one large cell (thousands of sticks) would
        pad a batch of small cells (tens of sticks) to its width. Over the widths sorted
        ascending (stable), w₁ ≤ … ≤ w_B, the split point k minimises k·w_k + (B − k)·w_B
        (the largest k among ties); the batch is split only if that cost is at most half of
        B·w_B, since each group is one more rendering call.

        Returns:
            index tensors (ascending width order inside each), covering every row once.
        """
        w, order = torch.sort(self.widths(), stable=True)
        b = len(w)
        k = torch.arange(1, b + 1)
        cost = k * w + (b - k) * w[-1] if b else k
        cut = b - int(torch.argmin(cost.flip(0))) if b else 0
        if cut >= b or 2 * int(cost[cut - 1]) > b * int(w[-1]):
            return [order]
        return [order[:cut], order[cut:]]

    def select(self, index: torch.Tensor) -> StickBatch:
        """Sub-batch of the patterns at ``index`` (shape (b,)), padded only to its longest.

        Padding sticks (intensity 0) past the last stick of every selected pattern are cut,
        so a batch of small cells does not carry the width of the largest cell of the file.
        """
        width = max(int(_widths(self.intensity[index]).max()) if len(index) else 1, 1)
        return StickBatch(
            *(
                getattr(self, f.name)[:, :width][index]
                if f.name in _STICK_AXIS
                else getattr(self, f.name)[index]
                for f in fields(self)
            )
        )
