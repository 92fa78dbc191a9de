"""Real structures' sticks rendered with a DataModule part's measurement model.

:func:`realistic_patterns` reads the ``augment`` block of a data part (e.g.
``configs/data/default_model_realistic.yaml``: the options of :mod:`bxrd.xrd.realism`) and
renders sticks with it, as training renders them, so a scorer can test a model on real
structures measured as the films are (``scripts/evaluate_test_split.py --realistic``).
"""

from __future__ import annotations

import numpy as np
import torch
import yaml
from jsonargparse import ArgumentParser

from bxrd.data.store import PatternSet
from bxrd.errors import BxrdInputError
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.render import Renderer
from bxrd.xrd.stick_batch import StickBatch


def realistic_patterns(
    data_part: str, sticks: list, grid: object, wavelength: float, draws: int
) -> np.ndarray:
    """Render ``sticks`` ``draws`` times with ``data_part``'s augment block, (draws·N, L).

    Args:
        data_part: YAML file with an ``augment`` block (:class:`AugmentConfig`).
        sticks: N stick patterns.
        grid: the model's 2θ grid.
        wavelength: Å, of the grid.
        draws: renderings per stick pattern (seeded with 0: the same draws on every call).

    Raises:
        BxrdInputError: the file has no ``augment`` block.
    """
    with open(data_part) as f:
        block = yaml.safe_load(f).get("augment")
    if block is None:
        raise BxrdInputError(f"{data_part}: no augment block")
    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--augment", type=AugmentConfig)
    config = parser.instantiate_classes(parser.parse_object({"augment": block})).augment
    renderer = Renderer(grid, wavelength, min_size_nm=min(config.size_range_nm))
    augmenter, gen = Augmenter(renderer, config), torch.Generator().manual_seed(0)
    batch = StickBatch.from_patterns(sticks)
    return torch.cat([augmenter(batch, gen)[0] for _ in range(draws)]).numpy()


def realistic_rows(
    data: PatternSet, rows: np.ndarray, data_part: str, grid: object, draws: int
) -> tuple[np.ndarray, np.ndarray]:
    """Re-render each structure of a dataset's ``rows`` ``draws`` times (realistic_patterns).

    Returns the dataset row each rendered pattern stands for (its structure's first row in
    ``rows``; shape (draws·S,), S structures) and the patterns, shape (draws·S, L).
    """
    sid = np.asarray(data.provenance["structure_id"])
    first = rows[np.unique(sid[rows], return_index=True)[1]]
    sticks = [data.sticks[s] for s in sid[first]]
    patterns = realistic_patterns(data_part, sticks, grid, float(data.wavelength), draws)
    return np.tile(first, draws), patterns
