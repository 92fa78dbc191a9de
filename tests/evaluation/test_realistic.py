"""Real structures' sticks rendered with a data part's measurement model."""

import numpy as np
import pytest
import yaml

from bxrd.errors import BxrdInputError
from bxrd.evaluation.realistic import realistic_patterns, realistic_rows
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


def test_each_structure_of_the_rows_is_rendered_once_per_draw(part):
    """Patterns of one structure stand as one: its first row among ``rows``, tiled per draw."""
    from types import SimpleNamespace

    sticks = {"a": cubic_sticks(6.3), "b": cubic_sticks(3.9), "c": cubic_sticks(5.6)}
    data = SimpleNamespace(
        provenance={"structure_id": ["a", "a", "b", "c", "b"]}, sticks=sticks, wavelength=1.5406
    )
    grid = TwoThetaGrid()
    rows, x = realistic_rows(data, np.array([1, 2, 3, 4]), part, grid, 2)
    assert rows.tolist() == [1, 2, 3, 1, 2, 3]  # a (row 0 is not asked for), b, c; twice
    ordered = [sticks["a"], sticks["b"], sticks["c"]]
    np.testing.assert_array_equal(x, realistic_patterns(part, ordered, grid, 1.5406, 2))


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
