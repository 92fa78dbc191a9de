"""The measurement model end to end: every switch renders, March–Dollase texture in the
augmenter, secondary phases from real structures, and the realism config."""

import numpy as np
import pytest
import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.phases import PhaseLibrary
from bxrd.xrd.realism import SWITCHES, RealismConfig
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.wavelength import two_theta_from_d

LAM = 1.54184
GRID = TwoThetaGrid(10, 80, 0.02)


@pytest.fixture(scope="module")
def sto():
    return simulate_sticks(builtin_templates()["SrTiO3_Pm-3m"].structure)


def _augmenter(**realism):
    cfg = RealismConfig(**{"secondary_phases": False, **realism})
    return Augmenter(Renderer(GRID, LAM, min_size_nm=10.0), AugmentConfig(realism=cfg))


@pytest.mark.parametrize("switch", SWITCHES)
def test_every_switch_off_still_renders(sto, switch):
    cfg = RealismConfig(kbeta=True, scan_range=True, secondary_phases=False).without(switch)
    aug = Augmenter(Renderer(GRID, LAM, min_size_nm=10.0), AugmentConfig(realism=cfg))
    batch = StickBatch.from_patterns([sto]).select(torch.zeros(8, dtype=torch.long))
    y, flags = aug(batch, torch.Generator().manual_seed(0))
    assert y.shape == (8, GRID.n_points) and flags.shape == (8, 5)
    assert torch.isfinite(y).all() and torch.allclose(y.amax(dim=1), torch.ones(8))
    assert (y >= 0).all()


def test_realism_is_reproducible_and_plain_config_unchanged(sto):
    batch = StickBatch.from_patterns([sto]).select(torch.zeros(4, dtype=torch.long))
    aug = _augmenter()
    a, _ = aug(batch, torch.Generator().manual_seed(5))
    b, _ = aug(batch, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert AugmentConfig().realism is None
    assert AugmentConfig(realism={"doublet": False}).realism == RealismConfig(doublet=False)


def test_film_texture_picks_out_one_family(sto):
    # r = 0.3 along a low-index axis: in a cubic film (h00) or (hh0)/(hhh) dominate,
    # so the ratio of (200) to (110) spreads far beyond a random powder's
    aug = _augmenter(texture_fraction=1.0, march_dollase_r=(0.3, 0.3), low_index_fraction=1.0)
    batch = StickBatch.from_patterns([sto]).select(torch.zeros(64, dtype=torch.long))
    sticks = aug.augment(batch, torch.Generator().manual_seed(0))
    i110 = next(i for i, h in enumerate(sto.hkl.tolist()) if sorted(map(abs, h)) == [0, 1, 1])
    i200 = next(i for i, h in enumerate(sto.hkl.tolist()) if sorted(map(abs, h)) == [0, 0, 2])
    ratio = (sticks.intensity[:, i200] / sticks.intensity[:, i110]).numpy()
    powder = sto.intensity[i200] / sto.intensity[i110]
    assert ratio.max() / powder > 2.0 and ratio.min() / powder < 0.7
    plain = _augmenter(texture_fraction=0.0, march_dollase=True).augment(
        batch, torch.Generator().manual_seed(0)
    )
    applied = plain.applied[:, 1]  # only the texture method's picks are textured
    untouched = ~applied
    assert torch.allclose(plain.intensity[untouched, i200], batch.intensity[untouched, i200])


def test_config_rejects_bad_ranges():
    with pytest.raises(ValueError, match="min <= max"):
        RealismConfig(eta=(0.8, 0.2))
    with pytest.raises(ValueError, match="caglioti_v_fraction"):
        RealismConfig(caglioti_v_fraction=(0.0, 1.2))
    with pytest.raises(ValueError, match="switch"):
        RealismConfig().without("colour")


@pytest.fixture
def library(shared_structures):  # loaded once: PhaseLibrary.load caches
    return PhaseLibrary.load(shared_structures / "binaries_mp", ("CsI", "Si"))


def test_secondary_phase_sticks_are_the_real_ones(library):
    cfg = RealismConfig(phase_probability=1.0, max_phases=1, weight_fraction=(0.1, 0.1))
    gen = torch.Generator().manual_seed(0)
    u, inten = library.sample(cfg, torch.full((40,), 100.0), LAM, gen)
    two_theta = np.degrees(2 * np.arcsin(u.clamp(max=1).numpy()))
    si_111 = float(two_theta_from_d(5.431 / np.sqrt(3), LAM))
    has_si = np.isclose(two_theta, si_111, atol=0.01).any(axis=1)
    assert 0 < has_si.sum() < 40  # both phases are drawn
    # weight fraction w next to 1 − w: strongest phase peak = w/(1−w) · S_α/S_ref × main peak
    top = inten.amax(dim=1)
    si_rows = torch.from_numpy(has_si)
    expected_si = 0.1 / 0.9 * float(library.intensity[1].max()) * 100
    assert torch.allclose(top[si_rows], torch.tensor(expected_si), rtol=1e-5)


def test_augmenter_renders_with_secondary_phases(library, shared_structures, sto):
    cfg = RealismConfig(
        phase_dir=str(shared_structures / "binaries_mp"),
        phases=("CsI", "Si"),
        phase_probability=1.0,
        counting_noise=False,
    )
    aug = Augmenter(Renderer(GRID, LAM, min_size_nm=10.0), AugmentConfig(realism=cfg))
    batch = StickBatch.from_patterns([sto]).select(torch.zeros(16, dtype=torch.long))
    y, _ = aug(batch, torch.Generator().manual_seed(0))
    assert torch.isfinite(y).all() and torch.allclose(y.amax(dim=1), torch.ones(16))


def test_every_switch_is_a_boolean_option():
    cfg = RealismConfig()
    assert all(isinstance(getattr(cfg, s), bool) for s in SWITCHES)
    assert all(getattr(cfg.without(s), s) is False for s in SWITCHES)


def test_training_patterns_leave_through_the_measured_preparation(sto):
    from bxrd.xrd.prepare import prepare_patterns

    quiet = dict(background=False, hump=False, air_scatter=False, counting_noise=False)
    aug = _augmenter(**quiet)
    batch = StickBatch.from_patterns([sto]).select(torch.zeros(4, dtype=torch.long))
    sticks = aug.augment(batch, torch.Generator().manual_seed(2))
    raw = aug.renderer(sticks.u, sticks.intensity, sticks.size_nm, sticks.instrument)
    out = aug.finish(raw, torch.Generator().manual_seed(2))
    assert torch.equal(out, prepare_patterns(raw, GRID.step, background=True))
    plain = Augmenter(aug.renderer, AugmentConfig())
    assert torch.equal(
        plain.finish(raw, torch.Generator()), prepare_patterns(raw, GRID.step, False)
    )
