"""Uniform draws of the measurement model's parameters, one helper for every module.

Every continuous setting sampled by :mod:`bxrd.xrd.augment`, :mod:`bxrd.xrd.instrument`,
:mod:`bxrd.xrd.background`, :mod:`bxrd.xrd.phases` and :mod:`bxrd.xrd.scan_range` (widths in
degrees 2θ, lengths in mm, fractions, weight fractions) is drawn U(lo, hi) here from the
caller's ``torch.Generator`` (yes / no choices and permutations stay ``torch.rand``), so one
seed gives one pattern batch bit for bit.
"""

from __future__ import annotations

import torch


def uniform(
    lo: float,
    hi: float,
    shape: int | tuple[int, ...],
    gen: torch.Generator,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """U(lo, hi) samples of ``shape`` (an int: shape (n,)) from ``gen``, in ``dtype``.

    float64 by default (angles and widths keep their precision until rendering); the
    background and the secondary phases' weight fractions draw float32, the dtype they have
    always used, so their draws stay the same. Log-uniform draws are ``exp`` of a uniform one.
    """
    return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=dtype)


__all__ = ["uniform"]
