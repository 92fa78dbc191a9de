import numpy as np
import pytest
import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.xrd.augment import AUGMENTATIONS, AugmentConfig, Augmenter, render_clean, strained_inv_d2
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.stick_batch import StickBatch, lattice_ties

LAM = 1.54184


@pytest.fixture(scope="module")
def sticks():
    t = builtin_templates()
    return {
        k: simulate_sticks(t[k].structure) for k in ("SrTiO3_Pm-3m", "BaTiO3_P4mm", "CaTiO3_Pnma")
    }


def _augmenter(**kw):
    return Augmenter(Renderer(TwoThetaGrid(10, 80, 0.01), LAM), AugmentConfig(**kw))


def _index(pattern, hkl):
    return next(i for i, h in enumerate(pattern.hkl.tolist()) if h == hkl)


def test_strained_cubic_cell_moves_200_by_bragg(sticks):
    sto = sticks["SrTiO3_Pm-3m"]
    batch = StickBatch.from_patterns([sto])
    i = _index(sto, [2, 0, 0])
    for s in (0.97, 1.0, 1.03):
        inv_d2 = strained_inv_d2(batch, torch.full((1, 3), s))
        assert 1 / np.sqrt(inv_d2[0, i].item()) == pytest.approx(3.905 * s / 2)
    # rendered, random strain: the (200) maximum lands where Bragg's law puts it
    aug = _augmenter(methods=("strain",), mode="all")
    gen = torch.Generator().manual_seed(3)
    out = aug.augment(batch.select(torch.zeros(8, dtype=torch.long)), gen)
    patterns = aug.renderer(out.u, out.intensity, out.size_nm)
    grid = aug.renderer.grid.values
    for k in range(8):
        d100 = LAM / (2 * out.u[k, _index(sto, [1, 0, 0])].item())
        a = d100
        assert 0.97 * 3.905 - 1e-4 <= a <= 1.03 * 3.905 + 1e-4
        expected = 2 * np.degrees(np.arcsin(LAM / (2 * a / 2)))
        window = np.abs(grid - expected) < 1.0
        assert grid[window][patterns[k, window].argmax()] == pytest.approx(expected, abs=0.02)


def test_strain_keeps_metric_symmetry(sticks):
    assert lattice_ties(sticks["SrTiO3_Pm-3m"].lattice).tolist() == [0, 0, 0]
    assert lattice_ties(sticks["BaTiO3_P4mm"].lattice).tolist() == [0, 0, 2]
    assert lattice_ties(sticks["CaTiO3_Pnma"].lattice).tolist() == [0, 1, 2]
    bto = sticks["BaTiO3_P4mm"]
    aug = _augmenter(methods=("strain",), mode="all")
    out = aug.augment(StickBatch.from_patterns([bto] * 16), torch.Generator().manual_seed(0))
    u100, u010 = out.u[:, _index(bto, [1, 0, 0])], out.u[:, _index(bto, [0, 0, 1])]
    ratio = (u100 / u010).numpy()
    assert np.ptp(ratio) > 1e-3  # a and c strained independently


def test_texture_stays_within_bound(sticks):
    batch = StickBatch.from_patterns([sticks["CaTiO3_Pnma"]] * 64)
    aug = _augmenter(methods=("texture",), mode="all", texture_max=0.5)
    out = aug.augment(batch, torch.Generator().manual_seed(1))
    n = batch.intensity.shape[1]
    mask = batch.intensity > 0
    ratio = out.intensity[:, :n][mask] / batch.intensity[mask]
    assert ratio.min() >= 0.5 - 1e-6 and ratio.max() <= 1.5 + 1e-6
    assert ratio.max() - ratio.min() > 0.3  # it does something


def test_impurity_peaks_never_outweigh_strongest_main_peak(sticks):
    batch = StickBatch.from_patterns([sticks["SrTiO3_Pm-3m"]] * 64)
    aug = _augmenter(methods=("impurity",), mode="all", impurity_max_peaks=5)
    out = aug.augment(batch, torch.Generator().manual_seed(2))
    n = batch.intensity.shape[1]
    extra = out.intensity[:, n:]
    count = (extra > 0).sum(dim=1)
    assert count.min() >= 1 and count.max() <= 5
    assert (extra.amax(dim=1) <= 0.3 * batch.intensity.amax(dim=1) + 1e-5).all()


def test_shift_is_uniform_in_two_theta(sticks):
    sto = sticks["SrTiO3_Pm-3m"]
    batch = StickBatch.from_patterns([sto] * 4)
    aug = _augmenter(methods=("shift",), mode="all", shift_max_deg=0.3)
    out = aug.augment(batch, torch.Generator().manual_seed(4))
    valid = sto.two_theta < 85
    new = 2 * np.degrees(np.arcsin(out.u[:, : len(sto)].double().numpy()))[:, valid]
    delta = new - sto.two_theta[valid]
    assert np.ptp(delta, axis=1).max() < 1e-3
    assert np.abs(delta).max() <= 0.3 + 1e-4


def test_size_broadening_uses_drawn_size(sticks):
    batch = StickBatch.from_patterns([sticks["SrTiO3_Pm-3m"]] * 32)
    aug = _augmenter(methods=("size",), mode="all", size_range_nm=(10, 30))
    out = aug.augment(batch, torch.Generator().manual_seed(5))
    assert out.size_nm.min() >= 10 and out.size_nm.max() <= 30 and out.size_nm.std() > 1


def test_one_method_per_pattern_and_determinism(sticks):
    batch = StickBatch.from_patterns(list(sticks.values()) * 20)
    aug = _augmenter(noise_level=0.01, background_level=0.1)
    x1, f1 = aug(batch, torch.Generator().manual_seed(7))
    x2, f2 = aug(batch, torch.Generator().manual_seed(7))
    x3, _ = aug(batch, torch.Generator().manual_seed(8))
    assert torch.equal(x1, x2) and torch.equal(f1, f2) and not torch.equal(x1, x3)
    assert (f1.sum(dim=1) == 1).all() and f1.shape[1] == len(AUGMENTATIONS)
    assert f1.any(dim=0).all()  # every method used somewhere
    assert torch.allclose(x1.amax(dim=1), torch.ones(len(batch))) and (x1 >= 0).all()


def test_clean_render_matches_stick_positions(sticks):
    r = Renderer(TwoThetaGrid(), LAM)
    pats = list(sticks.values())
    y = render_clean(r, StickBatch.from_patterns(pats))
    for k, p in enumerate(pats):
        strongest = p.two_theta[np.argmax(p.intensity)]
        assert TwoThetaGrid().values[y[k].argmax()] == pytest.approx(strongest, abs=0.05)


def test_bad_augment_options():
    with pytest.raises(ValueError, match="unknown augmentation"):
        AugmentConfig(methods=("blur",))
    with pytest.raises(ValueError, match="texture_max"):
        AugmentConfig(texture_max=1.5)


def test_select_trims_padding_without_changing_the_pattern(sticks):
    """Padding sticks carry no intensity: a trimmed sub-batch renders the same curve."""
    sto, cto = sticks["SrTiO3_Pm-3m"], sticks["CaTiO3_Pnma"]
    assert len(cto) > len(sto)
    batch = StickBatch.from_patterns([sto, cto])
    sub = batch.select(torch.tensor([0]))
    assert sub.intensity.shape[1] == len(sto) and batch.widths().tolist() == [len(sto), len(cto)]
    renderer = Renderer(TwoThetaGrid(10, 80, 0.01), LAM)
    wide = render_clean(renderer, StickBatch(*(t[:1] for t in vars(batch).values())))
    np.testing.assert_allclose(render_clean(renderer, sub).numpy(), wide.numpy(), atol=1e-6)


def test_width_groups_split_off_one_wide_cell(sticks):
    """Seven narrow rows and one wide one: two groups, covering every row once."""
    sto, cto = sticks["SrTiO3_Pm-3m"], sticks["CaTiO3_Pnma"]
    assert len(cto) > 4 * len(sto)
    batch = StickBatch.from_patterns([sto] * 4 + [cto] + [sto] * 3)
    groups = batch.width_groups()
    assert [g.tolist() for g in groups][1] == [4]
    assert sorted(torch.cat(groups).tolist()) == list(range(8))
    # every row still rendered, each the mean-normalised pattern of its own sticks
    x, _ = _augmenter(methods=("size",), mode="all")(batch, torch.Generator().manual_seed(0))
    assert x.shape == (8, 7001) and torch.allclose(x.amax(dim=1), torch.ones(8))
    peak = TwoThetaGrid(10, 80, 0.01).values[x.argmax(dim=1).numpy()]
    assert np.ptp(np.delete(peak, 4)) < 0.2 and abs(peak[4] - peak[0]) > 0.1


def test_width_groups_keep_a_batch_of_equal_or_close_widths_whole(sticks):
    """Splitting costs a rendering call: equal widths, or a saving under half, stay one group."""
    sto, cto = sticks["SrTiO3_Pm-3m"], sticks["CaTiO3_Pnma"]
    assert len(StickBatch.from_patterns([sto] * 8).width_groups()) == 1
    assert len(StickBatch.from_patterns([cto] * 5).width_groups()) == 1
    # half the rows wide: splitting saves under half of the padded work
    assert len(StickBatch.from_patterns([sto, cto] * 4).width_groups()) == 1
