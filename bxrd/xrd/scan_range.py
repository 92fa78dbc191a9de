"""The 2θ range a lab scan covers, which often stops short of the model's grid.

Films are commonly scanned over a shorter range than 10–80°: of the 45 readable films in
``../shared/data/patterns/thinfilm_perovskites`` (Cu Kα), 27 stop at 60°, 13 at 70° and 5 run
to 80°. The reader puts such a scan on the model grid with zeros outside its range and
estimates the background inside it only (:func:`bxrd.xrd.prepare.prepare_measured_batch`). A
network that never saw such an input reads the missing high-angle reflections as
information: the shipped model called a simulated cubic FAPbI3 powder Pm-3m in 34 of 40 draws
over 10–80° and in 14 of 40 once cut at 60° (docs/RESULTS.md, "Scan range").

:func:`sample_scan_ranges` draws, for ``scan_range_fraction`` of the patterns, a start in
``scan_start_deg`` and a stop in ``scan_stop_deg`` (degrees 2θ on the model's grid and
wavelength, rounded to whole degrees so that the patterns of a batch share few lengths and
are prepared in few calls); the other patterns keep the whole grid. :func:`prepare_scans`
prepares a rendered batch with those ranges exactly as the reader prepares measured scans.
"""

from __future__ import annotations

import numpy as np
import torch

from bxrd.xrd.draws import uniform
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.prepare import prepare_measured_batch
from bxrd.xrd.realism import RealismConfig


def sample_scan_ranges(
    cfg: RealismConfig, grid: TwoThetaGrid, b: int, gen: torch.Generator
) -> torch.Tensor:
    """Draw which grid points each of ``b`` patterns was measured at.

    Returns:
        Shape (B, n_points), bool: True inside the pattern's scan range (one contiguous run;
        the whole grid for the patterns not drawn to be cut).
    """
    x = torch.from_numpy(grid.values)[None, :]
    cut = torch.rand((b, 1), generator=gen) < cfg.scan_range_fraction
    start = torch.round(uniform(*cfg.scan_start_deg, (b, 1), gen))
    stop = torch.round(uniform(*cfg.scan_stop_deg, (b, 1), gen))
    return ~cut | ((x >= start - 1e-9) & (x <= stop + 1e-9))


def prepare_scans(
    y: torch.Tensor, inside: torch.Tensor, step_deg: float, background: bool = True
) -> torch.Tensor:
    """Prepare rendered patterns over their scan ranges, as measured scans are prepared.

    Args:
        y: rendered intensities on the model grid, shape (B, n_points).
        inside: True inside each pattern's scan range, shape (B, n_points).
        step_deg: grid spacing, degrees 2θ.
        background: subtract the background (estimated inside the range only).

    Returns:
        Shape (B, n_points), float32, max 1 per row, 0 outside each range.
    """
    out = prepare_measured_batch(y.detach().cpu().numpy(), inside.numpy(), step_deg, background)
    return torch.from_numpy(np.ascontiguousarray(out))


__all__ = ["prepare_scans", "sample_scan_ranges"]
