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
    assert anion("H6CNPbI3") == "I"  # methylammonium lead iodide: not N
    assert anion("Si") == "none"
    codes = anion_strata(["CsPbI3", "SrTiO3", "CsPbBr3", "BaTiO3"])
    assert codes[1] == codes[3] and len(set(codes.tolist())) == 3


def _one_stick(two_theta: float) -> StickPattern:
    """A cubic cell whose (100) line lies at ``two_theta`` (Cu Kα1), the only stick."""
    d = 1.5406 / (2 * np.sin(np.radians(two_theta / 2)))
    return StickPattern(
        np.array([two_theta]), np.array([100.0]), np.array([[1, 0, 0]]), np.array([d]),
        np.array([6]), d * np.eye(3), 1.5406,
    )  # fmt: skip


@pytest.mark.parametrize("balanced", [False, True])
def test_a_rare_stratum_gets_an_equal_share_of_its_class_only_when_balanced(balanced):
    # one class: nine "oxides" with their line at 30° 2θ, one "halide" with its line at 50°
    sticks = StickBatch.from_patterns([_one_stick(30.0)] * 9 + [_one_stick(50.0)])
    grid = TwoThetaGrid(10.0, 80.0, 0.05)
    augmenter = Augmenter(Renderer(grid, "CuKa"), AugmentConfig(methods=("size",)))
    strata = np.array([0] * 9 + [1]) if balanced else None
    stream = AugmentedStream(
        sticks, np.zeros(10, np.int64), {"rss": np.arange(10)}, augmenter, 2048, strata=strata
    )
    x = np.stack([item["pattern"].numpy() for item in stream.__getitems__(list(range(2048)))])
    share = float(np.mean(grid.values[x.argmax(axis=1)] > 40.0))
    # binomial, n = 2048: SD 0.011 at 1/2, 0.007 at 1/10
    assert share == pytest.approx(0.5 if balanced else 0.1, abs=0.05)
