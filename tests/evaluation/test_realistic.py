"""Real structures' sticks rendered with a data part's measurement model."""

import numpy as np
import pytest

from bxrd.errors import BxrdInputError
from bxrd.evaluation.realistic import realistic_patterns
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.sticks import StickPattern

PART = "configs/data/default_model_realistic.yaml"


def cubic_sticks(a: float) -> StickPattern:
    n = np.array([1, 2, 3, 4, 5, 6])
    d = a / np.sqrt(n)
    two_theta = 2 * np.degrees(np.arcsin(1.5406 / (2 * d)))
    return StickPattern(
        two_theta=two_theta,
        intensity=np.array([100.0, 60, 30, 50, 20, 15]),
        hkl=np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [2, 0, 0], [2, 1, 0], [2, 1, 1]]),
        d=d,
        multiplicity=np.array([6, 12, 8, 6, 24, 24]),
        lattice=np.eye(3) * a,
        wavelength=1.5406,
    )


def test_draws_are_stacked_and_repeatable():
    grid = TwoThetaGrid()  # 10-80°, 0.02°
    sticks = [cubic_sticks(6.3), cubic_sticks(3.9)]
    x = realistic_patterns(PART, sticks, grid, 1.5406, 2)
    assert x.shape == (4, grid.n_points) and np.isfinite(x).all()
    assert not np.allclose(x[0], x[2])  # the second draw of a structure differs
    np.testing.assert_array_equal(x, realistic_patterns(PART, sticks, grid, 1.5406, 2))


def test_a_part_without_augment_block_is_refused_by_name(tmp_path):
    part = tmp_path / "part.yaml"
    part.write_text("batch_size: 4\n")
    with pytest.raises(BxrdInputError, match="part.yaml: no augment block"):
        realistic_patterns(str(part), [cubic_sticks(6.3)], TwoThetaGrid(), 1.5406, 1)
