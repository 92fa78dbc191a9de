"""N of Bayesian training is the number of distinct training structures, not the epoch length."""

import numpy as np
import torch

from bxrd.data.datasets import AugmentedStream
from bxrd.uq.dataset_size import training_size
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.sticks import StickPattern


def _stream(length: int, strata: np.ndarray | None = None) -> AugmentedStream:
    """Six structures, two classes: rss rows 0–2 (classes 0, 0, 1), syn rows 1 and 3 of
    class 0 with partners 4 and 5."""
    lattice = 4.0 * np.eye(3)
    one = StickPattern(np.array([22.2]), np.array([100.0]), np.array([[1, 0, 0]]),
                       np.array([4.0]), np.array([6]), lattice, 1.5406)  # fmt: skip
    augmenter = Augmenter(Renderer(TwoThetaGrid(10.0, 80.0, 0.05), "CuKa"), AugmentConfig())
    return AugmentedStream(
        StickBatch.from_patterns([one] * 6),
        np.array([0, 0, 1, 0, 0, 0]),
        {"rss": [0, 1, 2], "syn": [1, 3]},
        augmenter,
        length,
        syn_partners=[4, 5],
        strata=strata,
    )


def test_stream_size_counts_structures_whatever_the_epoch_length_and_strata():
    assert training_size(_stream(64)) == training_size(_stream(65536)) == 6
    assert training_size(_stream(64, strata=np.array([0, 1, 1, 0, 1, 0]))) == 6


def test_stored_patterns_count_one_each():
    stored = torch.utils.data.TensorDataset(torch.zeros(7, 10), torch.zeros(7))
    assert training_size(stored) == 7
