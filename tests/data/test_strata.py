"""Anion strata: the anion of a formula, and a stream that draws strata uniformly in a class."""

import numpy as np
import pytest

from bxrd.data.datasets import AugmentedStream
from bxrd.data.strata import anion, anion_strata
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.sticks import StickPattern


def test_the_anion_is_the_most_abundant_anion_element():
    assert anion("CsPbI3") == "I" and anion("KMgF3") == "F" and anion("PbI2") == "I"
    assert anion("BaTiO2N") == "O"  # oxynitride: O outnumbers N
    assert anion("H672C576I8N96") == "I"  # methylammonium lead iodide supercell: not N
    assert anion("Si") == "none"
    codes = anion_strata(["CsPbI3", "SrTiO3", "CsPbBr3", "BaTiO3", "KMgF3", "Si"])
    # families: the heavy halides together, oxides together, fluorides and the rest apart
    assert codes[0] == codes[2] and codes[1] == codes[3] and len(set(codes.tolist())) == 4


def _one_stick(two_theta: float) -> StickPattern:
    """A cubic cell whose (100) line lies at ``two_theta`` (Cu Kα1), the only stick."""
    d = 1.5406 / (2 * np.sin(np.radians(two_theta / 2)))
    return StickPattern(
        np.array([two_theta]), np.array([100.0]), np.array([[1, 0, 0]]), np.array([d]),
        np.array([6]), d * np.eye(3), 1.5406,
    )  # fmt: skip


def _share_of_the_rare_stratum(n_common: int, n_rare: int, balanced: bool) -> float:
    """One class: ``n_common`` cells with their line at 30° 2θ, ``n_rare`` at 50°."""
    sticks = StickBatch.from_patterns([_one_stick(30.0)] * n_common + [_one_stick(50.0)] * n_rare)
    grid = TwoThetaGrid(10.0, 80.0, 0.05)
    augmenter = Augmenter(Renderer(grid, "CuKa"), AugmentConfig(methods=("size",)))
    n = n_common + n_rare
    strata = np.array([0] * n_common + [1] * n_rare) if balanced else None
    stream = AugmentedStream(
        sticks, np.zeros(n, np.int64), {"rss": np.arange(n)}, augmenter, 2048, strata=strata
    )
    x = np.stack([item["pattern"].numpy() for item in stream.__getitems__(list(range(2048)))])
    return float(np.mean(grid.values[x.argmax(axis=1)] > 40.0))


@pytest.mark.parametrize("balanced", [False, True])
def test_a_rare_stratum_gets_an_equal_share_of_its_class_only_when_balanced(balanced):
    share = _share_of_the_rare_stratum(27, 3, balanced)
    # binomial, n = 2048: SD 0.011 at 1/2, 0.007 at 1/10
    assert share == pytest.approx(0.5 if balanced else 0.1, abs=0.05)


def test_a_stratum_of_fewer_than_three_structures_is_drawn_within_the_largest():
    assert _share_of_the_rare_stratum(18, 2, balanced=True) == pytest.approx(0.1, abs=0.04)


def test_strata_must_match_the_rows():
    sticks = StickBatch.from_patterns([_one_stick(30.0)] * 2)
    augmenter = Augmenter(Renderer(TwoThetaGrid(10.0, 80.0, 0.05), "CuKa"), AugmentConfig())
    with pytest.raises(ValueError, match="strata"):
        AugmentedStream(sticks, np.zeros(2, np.int64), {"rss": [0, 1]}, augmenter, 8,
                        strata=np.zeros(3, np.int64))  # fmt: skip
