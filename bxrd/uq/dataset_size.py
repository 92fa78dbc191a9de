"""The dataset size N of Bayesian training: distinct training structures, not epoch length.

VI scales the likelihood of a batch to N observations (the ELBO's data term), and the
Laplace posterior precision is the prior plus the likelihood Hessian summed over N
observations: N sets the posterior width. A training stream renders fresh augmented
patterns of a fixed set of structures, ``samples_per_epoch`` per epoch; that number is an
epoch length, and two augmentations of one structure are not two independent observations.
So N is the number of **distinct training structures** the stream draws from (for a stored
set of patterns: its length), a property of the training data; ``num_data`` overrides it.
"""

from __future__ import annotations

from torch.utils.data import Dataset


def training_size(dataset: Dataset) -> int:
    """N of ``dataset``: distinct structures of an on-the-fly stream, else ``len(dataset)``.

    A stream (:class:`~bxrd.data.datasets.AugmentedStream`) names the structure rows it can
    draw (its pools and synthesis partners) with ``drawn_rows()``; each counts once.
    """
    drawn = getattr(dataset, "drawn_rows", None)
    return len(dataset) if drawn is None else int(len(drawn()))  # type: ignore[arg-type]
