"""Patterns gridded together get exactly what each gets alone, errors included, in order."""

import numpy as np
import pytest
import torch

from bxrd.errors import PatternFileError
from bxrd.xrd.formats.base import make_pattern
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import to_grid, to_grids
from bxrd.xrd.prepare import prepare_measured, prepare_measured_batch, prepare_patterns

GRID = TwoThetaGrid(10.0, 80.0, 0.02)
CU, MO = 1.54184, 0.71073


def _pattern(name, start, stop, wavelength, seed, step=0.02):
    """Peaks on a sloping background, Poisson counts, measured from ``start`` to ``stop``°."""
    rng = np.random.default_rng(seed)
    x = np.arange(start, stop, step)
    centres = rng.uniform(start, stop, 6)
    y = (
        50
        + 0.5 * (x - start)
        + sum(rng.uniform(200, 2000) * np.exp(-0.5 * ((x - c) / 0.06) ** 2) for c in centres)
    )
    return make_pattern(name, x, rng.poisson(y).astype(float), wavelength=wavelength)


def test_batch_equals_one_by_one_with_mixed_ranges_wavelengths_and_errors():
    patterns = [
        _pattern("full_a", 5.0, 90.0, CU, 0),
        _pattern("partial", 20.0, 70.0, CU, 1),  # a shorter measured part of the grid
        _pattern("narrow", 30.0, 40.0, CU, 2),  # covers 14 % of the grid: refused
        _pattern("full_b", 5.0, 90.0, CU, 3),  # same measured length as full_a: one batch
        _pattern("molybdenum", 3.0, 38.0, MO, 4),  # converted by Bragg's law first
        _pattern("partial_b", 20.0, 70.0, CU, 5, step=0.013),
        make_pattern("flat", np.arange(5.0, 90.0, 0.02), np.full(4250, 7.0), wavelength=CU),
    ]
    together = to_grids(patterns, GRID, CU)
    assert len(together) == len(patterns)
    for p, g in zip(patterns, together, strict=True):
        try:
            alone = to_grid(p, GRID, CU)
        except PatternFileError as exc:
            assert isinstance(g, PatternFileError) and str(g) == str(exc)
            continue
        assert np.array_equal(g.intensity, alone.intensity), p.source
        assert (g.coverage, g.measured_range, g.source) == (
            alone.coverage,
            alone.measured_range,
            alone.source,
        )
    errors = {p.source: str(g) for p, g in zip(patterns, together, strict=True)}
    assert "covers 14% of the model grid" in errors["narrow"]
    assert "no signal left" in errors["flat"]  # a flat scan is all background
    assert together[1].coverage == pytest.approx(50 / 70, abs=1e-3)


def test_prepare_measured_batch_rows_equal_single_rows_bit_for_bit():
    rng = np.random.default_rng(7)
    y = rng.poisson(100 + 900 * rng.random((5, GRID.n_points)) ** 8).astype(float)
    inside = np.zeros(y.shape, bool)
    for row, (a, b) in enumerate([(0, 3501), (100, 3000), (0, 3501), (100, 3000), (5, 600)]):
        inside[row, a:b] = True
    batch = prepare_measured_batch(y, inside, GRID.step)
    for row in range(len(y)):
        alone = np.zeros(GRID.n_points, np.float32)
        part = torch.from_numpy(y[row, inside[row]].astype(np.float32))[None]
        alone[inside[row]] = prepare_patterns(part, GRID.step)[0].numpy()
        assert np.array_equal(batch[row], alone)
        assert np.array_equal(prepare_measured(y[row], inside[row], GRID.step), alone)
    assert (batch[~inside] == 0).all() and batch.max(axis=1) == pytest.approx(1.0)
