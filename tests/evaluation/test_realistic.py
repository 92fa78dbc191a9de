"""Real structures' sticks rendered with a data part's measurement model."""

import numpy as np
import pytest
import yaml

from bxrd.errors import BxrdInputError
from bxrd.evaluation.realistic import realistic_patterns
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.sticks import StickPattern

PART = "configs/data/default_model_realistic.yaml"


@pytest.fixture
def part(tmp_path):
    """The realistic part's augment block, secondary phases off (they read ../shared data)."""
    with open(PART) as f:
        block = yaml.safe_load(f)["augment"]
    block["realism"]["secondary_phases"] = False
    path = tmp_path / "realistic.yaml"
    path.write_text(yaml.safe_dump({"augment": block}))
    return str(path)


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


def test_draws_are_stacked_and_repeatable(part):
    grid = TwoThetaGrid()  # 10-80°, 0.02°
    sticks = [cubic_sticks(6.3), cubic_sticks(3.9)]
    x = realistic_patterns(part, sticks, grid, 1.5406, 2)
    assert x.shape == (4, grid.n_points) and np.isfinite(x).all()
    assert not np.allclose(x[0], x[2])  # the second draw of a structure differs
    np.testing.assert_array_equal(x, realistic_patterns(part, sticks, grid, 1.5406, 2))


def test_the_part_s_measurement_model_is_used(part, tmp_path):
    with open(part) as f:
        block = yaml.safe_load(f)["augment"]
    del block["realism"]  # the plain augmentations only
    plain = tmp_path / "plain.yaml"
    plain.write_text(yaml.safe_dump({"augment": block}))
    grid, sticks = TwoThetaGrid(), [cubic_sticks(6.3)]
    x = realistic_patterns(part, sticks, grid, 1.5406, 1)
    y = realistic_patterns(str(plain), sticks, grid, 1.5406, 1)
    assert not np.allclose(x, y)


def test_a_part_without_augment_block_is_refused_by_name(tmp_path):
    part = tmp_path / "part.yaml"
    part.write_text("batch_size: 4\n")
    with pytest.raises(BxrdInputError, match="part.yaml: no augment block"):
        realistic_patterns(str(part), [cubic_sticks(6.3)], TwoThetaGrid(), 1.5406, 1)
