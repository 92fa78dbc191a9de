"""N of Bayesian training is the number of distinct training structures, not the epoch length."""

import numpy as np
import torch

from bxrd.uq.dataset_size import training_size


class _Stream(torch.utils.data.Dataset):
    """Stand-in with the pools of an AugmentedStream: source → class → structure rows."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.by_source_class = {
            "rss": {0: np.array([0, 1]), 1: np.array([2])},
            "syn": {0: np.array([1, 3])},
        }
        self.syn_partner = {0: np.array([4, 5])}

    def __len__(self) -> int:
        return self.length


def test_stream_size_counts_structures_whatever_the_epoch_length():
    assert training_size(_Stream(64)) == training_size(_Stream(65536)) == 6


def test_stored_patterns_count_one_each():
    stored = torch.utils.data.TensorDataset(torch.zeros(7, 10), torch.zeros(7))
    assert training_size(stored) == 7
