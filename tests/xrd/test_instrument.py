"""Physics of the rendered instrument: emission lines, Caglioti widths, displacement, areas."""

import math

import numpy as np
import pytest
import torch

from bxrd.errors import BxrdInputError
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.instrument import InstrumentDraw, caglioti_fwhm_deg, sample_instrument
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.render import Renderer
from bxrd.xrd.wavelength import EMISSION_LINES, two_theta_from_d

OFF = dict(instrument=False, asymmetry=False, microstrain=False, displacement=False)


def _draw(b=1, lines=((1.0, 1.0),), caglioti=(0.0, 0.0, 0.0), eta=0.0, frame=1.0, **kw):
    """An InstrumentDraw with fixed values (no randomness)."""
    ratio = torch.tensor([[r for r, _ in lines]] * b, dtype=torch.float64)
    weight = torch.tensor([[w for _, w in lines]] * b, dtype=torch.float64)

    def full(v):
        return torch.full((b,), float(v), dtype=torch.float64)

    return InstrumentDraw(
        line_ratio=ratio,
        line_weight=weight,
        frame=full(frame),
        caglioti=torch.tensor([caglioti] * b, dtype=torch.float32),
        eta=full(eta).float(),
        asymmetry_deg=full(kw.get("asymmetry", 0.0)).float(),
        microstrain=full(kw.get("strain", 0.0)).float(),
        displacement=full(kw.get("displacement", 0.0)),
        zero_deg=full(kw.get("zero", 0.0)),
    )


def _peaks(x, y, height=0.05):
    """Positions of local maxima above ``height`` (parabolic refinement)."""
    i = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:]) & (y[1:-1] > height)) + 1
    a, b, c = y[i - 1], y[i], y[i + 1]
    return x[i] + 0.5 * (a - c) / (a - 2 * b + c) * (x[1] - x[0])


def _fwhm(x, y):
    half = y.max() / 2
    above = np.flatnonzero(y >= half)
    lo, hi = above[0], above[-1]
    left = np.interp(half, [y[lo - 1], y[lo]], [x[lo - 1], x[lo]])
    right = np.interp(half, [y[hi + 1], y[hi]], [x[hi + 1], x[hi]])
    return right - left


@pytest.mark.parametrize("anode", ["Cu", "Co", "Mo", "Fe", "Cr"])
def test_kalpha2_sits_where_braggs_law_puts_it_with_half_the_intensity(anode):
    lines = EMISSION_LINES[anode]
    grid = TwoThetaGrid(10, 110, 0.002)
    renderer = Renderer(grid, lines.ka, min_size_nm=500.0)
    cfg = RealismConfig(anodes=(anode,), **OFF)
    draw = sample_instrument(cfg, 1, lines.ka, torch.Generator().manual_seed(0))
    d = lines.ka / (2 * math.sin(math.radians(80.0 / 2)))  # main line near 80° 2θ
    u = torch.tensor([[lines.ka / (2 * d)]], dtype=torch.float32)
    y = renderer(u, torch.ones(1, 1), torch.tensor([2000.0]), draw)[0].numpy()
    x = grid.values
    found = _peaks(x, y)
    expected = two_theta_from_d(np.array([d, d]), np.array([lines.ka1, lines.ka2]))
    assert found == pytest.approx(expected, abs=0.003)
    mid = expected.mean()
    ratio = y[x > mid].sum() / y[x <= mid].sum()
    assert ratio == pytest.approx(0.5, rel=0.03)


def test_one_line_for_a_numeric_wavelength_and_without_the_doublet():
    grid = TwoThetaGrid(10, 80, 0.005)
    renderer = Renderer(grid, 1.5, min_size_nm=500.0)
    gen = torch.Generator().manual_seed(0)
    u = torch.tensor([[math.sin(math.radians(30.0))]], dtype=torch.float32)
    for cfg in (RealismConfig(anodes=(1.5,), **OFF), RealismConfig(doublet=False, **OFF)):
        lam = 1.5 if cfg.doublet else EMISSION_LINES["Cu"].ka
        r = renderer if cfg.doublet else Renderer(grid, lam, min_size_nm=500.0)
        y = r(u, torch.ones(1, 1), torch.tensor([2000.0]), sample_instrument(cfg, 1, lam, gen))
        assert _peaks(grid.values, y[0].numpy()) == pytest.approx([60.0], abs=0.003)
    with pytest.raises(BxrdInputError, match="anode"):
        sample_instrument(RealismConfig(anodes=("Xx",)), 1, 1.5, gen)


def test_kbeta_leak_is_a_weak_line_at_the_kbeta_position():
    lines = EMISSION_LINES["Cu"]
    grid = TwoThetaGrid(10, 80, 0.005)
    renderer = Renderer(grid, lines.ka, min_size_nm=500.0)
    cfg = RealismConfig(kbeta=True, kbeta_ratio=(0.01, 0.01), **OFF)
    draw = sample_instrument(cfg, 1, lines.ka, torch.Generator().manual_seed(0))
    d = 2.0
    u = torch.tensor([[lines.ka / (2 * d)]], dtype=torch.float32)
    y = renderer(u, torch.ones(1, 1), torch.tensor([2000.0]), draw)[0].numpy()
    x = grid.values
    kb = float(two_theta_from_d(d, lines.kb))
    near = np.abs(x - kb) < 0.1
    assert x[near][y[near].argmax()] == pytest.approx(kb, abs=0.01)
    assert y[near].sum() / y[~near].sum() == pytest.approx(0.01 / 1.5, rel=0.05)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_instrument_width_is_the_caglioti_width_at_a_band_centre(eta):
    grid = TwoThetaGrid(10, 80, 0.002)
    renderer = Renderer(grid, 1.5406, min_size_nm=500.0)
    core, _, _ = renderer._bands(4)
    uvw = (0.01, -0.004, 0.006)
    for band in (0, 2):
        u_c = renderer.u_lo + (band + 0.5) * core * renderer.du
        two_theta = 2 * math.degrees(math.asin(u_c))
        draw = _draw(caglioti=uvw, eta=eta)
        y = renderer(
            torch.tensor([[u_c]], dtype=torch.float32),
            torch.ones(1, 1),
            torch.tensor([1e6]),
            draw,
            4,
        )[0].numpy()
        expected = caglioti_fwhm_deg(two_theta, *uvw)
        assert expected == pytest.approx(
            math.sqrt(
                uvw[0] * math.tan(math.radians(two_theta / 2)) ** 2
                + uvw[1] * math.tan(math.radians(two_theta / 2))
                + uvw[2]
            )
        )
        assert _fwhm(grid.values, y) == pytest.approx(expected, rel=0.04)


def test_microstrain_width_grows_as_tan_theta():
    grid = TwoThetaGrid(10, 100, 0.002)
    renderer = Renderer(grid, 1.5406, min_size_nm=500.0)
    core, _, _ = renderer._bands(4)
    eps = 0.003
    for band in (0, 3):
        u_c = renderer.u_lo + (band + 0.5) * core * renderer.du
        theta = math.asin(u_c)
        y = renderer(
            torch.tensor([[u_c]], dtype=torch.float32),
            torch.ones(1, 1),
            torch.tensor([1e6]),
            _draw(strain=eps),
            4,
        )[0].numpy()
        expected = math.degrees(4 * eps * math.tan(theta))  # β = 4 ε tan θ, radians 2θ
        assert _fwhm(grid.values, y) == pytest.approx(expected, rel=0.04)


def test_displacement_shift_is_proportional_to_cos_theta():
    s_over_r = 0.2 / 240.0
    draw = _draw(displacement=s_over_r)
    angles = np.array([20.0, 50.0, 100.0])
    u = torch.from_numpy(np.sin(np.radians(angles / 2)))[None, :].float()
    moved, _ = draw.place(u, torch.ones_like(u))
    shift = 2 * np.degrees(np.arcsin(moved[0].double().numpy())) - angles
    expected = -np.degrees(2 * s_over_r * np.cos(np.radians(angles / 2)))
    assert shift == pytest.approx(expected, abs=2e-4)
    assert shift[0] / shift[2] == pytest.approx(
        np.cos(np.radians(10)) / np.cos(np.radians(50)), rel=1e-2
    )
    zero, _ = _draw(zero=0.05).place(u, torch.ones_like(u))
    assert 2 * np.degrees(np.arcsin(zero[0].double().numpy())) - angles == pytest.approx(
        [0.05] * 3, abs=2e-4
    )


def test_areas_are_kept_by_the_profile_and_the_tail_pulls_to_low_angle():
    grid = TwoThetaGrid(10, 80, 0.005)
    renderer = Renderer(grid, 1.5406, min_size_nm=20.0)
    angles = np.array([15.0, 70.0])
    u = torch.from_numpy(np.sin(np.radians(angles / 2)))[None, :].float()
    x = grid.values
    draw = _draw(caglioti=(0.01, -0.004, 0.006), eta=0.5, strain=0.002, asymmetry=0.03)
    y = renderer(u, torch.tensor([[1.0, 2.0]]), torch.tensor([50.0]), draw)[0].numpy()
    low, high = y[(x > 12) & (x < 18)].sum(), y[(x > 65) & (x < 75)].sum()
    assert high / low == pytest.approx(2.0, rel=0.03)
    plain = renderer(
        u,
        torch.tensor([[1.0, 2.0]]),
        torch.tensor([50.0]),
        _draw(caglioti=(0.01, -0.004, 0.006), eta=0.5),
    )[0].numpy()
    win = (x > 12) & (x < 18)
    centroid = (x[win] * y[win]).sum() / y[win].sum()
    plain_centroid = (x[win] * plain[win]).sum() / plain[win].sum()
    core, _, _ = renderer._bands(4)  # the kernel of the peak's band, taken at its centre
    band = int((u[0, 0] - renderer.u_lo) / renderer.du // core)
    centre = 2 * math.asin(renderer.u_lo + (band + 0.5) * core * renderer.du)
    tau_u = math.cos(centre / 2) * math.radians(0.03 / math.tan(centre)) / 2  # τ = A cot 2θ
    tau = math.degrees(2 * tau_u / math.cos(math.radians(15.0 / 2)))  # back to 2θ at 15°
    assert centroid - plain_centroid == pytest.approx(-tau, rel=0.05)


def test_sampled_instruments_stay_in_their_ranges():
    cfg = RealismConfig(anodes=("Cu", "Co"), kalpha1_only_fraction=0.5)
    draw = sample_instrument(cfg, 2000, 1.5406, torch.Generator().manual_seed(1))
    u, v, w = draw.caglioti.T
    assert (u >= 0.002).all() and (u <= 0.02).all() and (v <= 0).all()
    t = torch.linspace(0, 3, 50)[:, None]
    assert (u * t**2 + v * t + w > 0).all()  # FWHM² positive at every angle
    only_ka1 = draw.line_weight[:, 1] == 0
    assert 0.4 < only_ka1.float().mean() < 0.6
    assert torch.allclose(
        draw.line_weight[~only_ka1].sum(1), torch.tensor(1.0, dtype=torch.float64)
    )
    assert set(np.round(draw.frame.numpy(), 4)) == {
        round(EMISSION_LINES["Cu"].ka / 1.5406, 4),
        round(EMISSION_LINES["Co"].ka / 1.5406, 4),
    }
