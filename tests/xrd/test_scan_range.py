"""Short scan ranges: drawn as documented, prepared exactly as the reader prepares a file."""

import numpy as np
import pytest
import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import read_patterns, to_grids
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.render import Renderer
from bxrd.xrd.scan_range import prepare_scans, sample_scan_ranges
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.stick_batch import StickBatch

LAM = 1.54184
GRID = TwoThetaGrid(10, 80, 0.02)


@pytest.fixture(scope="module")
def sto_batch():
    sticks = simulate_sticks(builtin_templates()["SrTiO3_Pm-3m"].structure)
    return StickBatch.from_patterns([sticks]).select(torch.zeros(64, dtype=torch.long))


def test_ranges_are_drawn_within_bounds_on_whole_degrees():
    cfg = RealismConfig(scan_range=True, scan_range_fraction=0.5, scan_stop_deg=(50.0, 60.0))
    inside = sample_scan_ranges(cfg, GRID, 4000, torch.Generator().manual_seed(0))
    x = GRID.values
    cut = ~inside.all(dim=1)
    assert cut.float().mean().item() == pytest.approx(0.5, abs=0.03)
    for row in inside[cut][:200].numpy():
        covered = x[row]
        assert np.all(np.diff(np.flatnonzero(row)) == 1)  # one contiguous run
        start, stop = covered[0], covered[-1]
        assert 10 - 1e-9 <= start <= 15 + 1e-9 and 50 - 1e-9 <= stop <= 60 + 1e-9
        assert start == pytest.approx(round(start), abs=1e-6)
        assert stop == pytest.approx(round(stop), abs=1e-6)


def test_cut_rendering_equals_the_reader_on_the_same_counts(tmp_path, sto_batch):
    """A rendered pattern measured over a drawn scan range only, written as an .xy file and
    read back, is what training prepares for the same counts with that range."""
    renderer = Renderer(GRID, LAM, min_size_nm=10.0)
    aug = Augmenter(renderer, AugmentConfig(realism=RealismConfig(secondary_phases=False)))
    sticks = aug.augment(sto_batch.select(torch.zeros(1, dtype=torch.long)), torch.Generator())
    raw = renderer(sticks.u, sticks.intensity, sticks.size_nm, sticks.instrument)
    raw = raw + 0.05  # a flat background the preparation removes
    x = GRID.values
    cut = RealismConfig(scan_range=True, scan_range_fraction=1.0, scan_stop_deg=(52.0, 58.0))
    inside = sample_scan_ranges(cut, GRID, 1, torch.Generator().manual_seed(3))
    start, stop = x[inside[0].numpy()][[0, -1]]
    assert stop < 58.5 and (start, stop) == (round(start), round(stop))
    trained = prepare_scans(raw, inside, GRID.step)[0].numpy()
    path = tmp_path / "short.xy"
    np.savetxt(path, np.c_[x[inside[0]], raw[0].numpy()[inside[0].numpy()]], fmt="%.6f %.9g")
    gridded = to_grids(read_patterns(path, wavelength=LAM), GRID, LAM)[0]
    assert gridded.measured_range == pytest.approx((start, stop), abs=1e-6)
    assert np.allclose(gridded.intensity, trained, atol=1e-5)
    assert (trained[x > stop + 0.01] == 0).all() and trained.max() == pytest.approx(1.0)


def test_config_refuses_a_start_range_reaching_the_stop_range():
    with pytest.raises(ValueError, match="scan_start_deg"):
        RealismConfig(scan_start_deg=(10.0, 55.0), scan_stop_deg=(50.0, 80.0))


def test_augmenter_cuts_the_drawn_share_and_keeps_max_one(sto_batch):
    cfg = RealismConfig(secondary_phases=False, scan_range=True, scan_range_fraction=1.0)
    aug = Augmenter(Renderer(GRID, LAM, min_size_nm=10.0), AugmentConfig(realism=cfg))
    y, _ = aug(sto_batch, torch.Generator().manual_seed(1))
    x = torch.from_numpy(GRID.values)
    stops = torch.stack([x[row > 0].max() for row in y])
    assert (stops <= 80.0).all() and (stops < 79.0).float().mean() > 0.8
    assert (y[:, x > 79.5] == 0).all(dim=1).float().mean() > 0.8
    assert torch.allclose(y.amax(dim=1), torch.ones(len(y)))
