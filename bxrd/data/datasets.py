"""Torch datasets over a :class:`~bxrd.data.store.PatternSet`; batches are dicts.

* :class:`FixedPatterns` serves stored patterns (validation, test, prediction).
* :class:`AugmentedStream` renders a fresh training batch from cached sticks on every fetch:
  a class is drawn uniformly (balanced classes), then a training source among ``rss``,
  ``vss`` and ``syn`` that has that class, then structures, then augmentation; ``syn``
  mixes an RSS and a VSS pattern of the class (:func:`bxrd.data.syn.synthesize`). Rendering
  is batched through ``__getitems__``, so a DataLoader worker renders a whole batch at once.

Every item is ``{"pattern": (L,) float32, "label": () int64}``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from bxrd.data.syn import synthesize
from bxrd.xrd.augment import Augmenter
from bxrd.xrd.stick_batch import StickBatch

#: Training sources an :class:`AugmentedStream` can draw from.
SOURCES: tuple[str, ...] = ("rss", "vss", "syn")


class FixedPatterns(Dataset):
    """Stored patterns with labels.

    Args:
        patterns: shape (N, L).
        labels: shape (N,).
    """

    def __init__(self, patterns: np.ndarray, labels: np.ndarray) -> None:
        self.patterns = torch.as_tensor(patterns, dtype=torch.float32)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"pattern": self.patterns[i], "label": self.labels[i]}


class AugmentedStream(Dataset):
    """An epoch of ``length`` freshly rendered training patterns.

    Args:
        sticks: all sticks of the pool, one row per structure.
        labels: class of each row, shape (S,).
        pools: source name → row indices usable for that source. For ``syn`` the rows are the
            RSS structures reserved for synthesis (``e``).
        augmenter: renders augmented sticks on the model grid.
        length: patterns per epoch.
        syn_partners: VSS rows that ``t`` is drawn from (needed with ``syn``); classes without
            a VSS partner are not synthesised.
    """

    def __init__(
        self,
        sticks: StickBatch,
        labels: np.ndarray,
        pools: dict[str, Sequence[int]],
        augmenter: Augmenter,
        length: int,
        syn_partners: Sequence[int] = (),
    ) -> None:
        unknown = set(pools) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown training source(s) {sorted(unknown)}; choose from {SOURCES}")
        self.sticks, self.labels, self.augmenter, self.length = sticks, labels, augmenter, length
        self.syn_partner = self._by_class(syn_partners)
        self.by_source_class = {name: self._by_class(rows) for name, rows in pools.items()}
        if "syn" in self.by_source_class:
            self.by_source_class["syn"] = {
                c: r for c, r in self.by_source_class["syn"].items() if c in self.syn_partner
            }
        self.classes = sorted({c for per in self.by_source_class.values() for c in per})
        if not self.classes:
            raise ValueError("the training pools are empty")

    def _by_class(self, rows: Sequence[int]) -> dict[int, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        return {int(c): rows[self.labels[rows] == c] for c in np.unique(self.labels[rows])}

    def __len__(self) -> int:
        return self.length

    def _pick(self, rows: np.ndarray, gen: torch.Generator) -> int:
        return int(rows[torch.randint(len(rows), (1,), generator=gen)])

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        """Render ``len(indices)`` patterns; the indices only set the count (draws are random)."""
        gen = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        n = len(indices)
        main, partner, classes = [], [], []
        for _ in range(n):
            c = self.classes[int(torch.randint(len(self.classes), (1,), generator=gen))]
            sources = [s for s, per in self.by_source_class.items() if c in per]
            source = sources[int(torch.randint(len(sources), (1,), generator=gen))]
            main.append(self._pick(self.by_source_class[source][c], gen))
            partner.append(self._pick(self.syn_partner[c], gen) if source == "syn" else -1)
            classes.append(c)
        x, _ = self.augmenter(self.sticks.select(torch.tensor(main)), gen)
        mixed = torch.tensor([p >= 0 for p in partner])
        if mixed.any():
            rows = torch.tensor([p for p in partner if p >= 0])
            t, _ = self.augmenter(self.sticks.select(rows), gen)
            eps = torch.rand(len(rows), generator=gen)
            x[mixed] = synthesize(x[mixed], t, eps)
        y = torch.tensor(classes, dtype=torch.int64)
        return [{"pattern": x[i], "label": y[i]} for i in range(n)]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([i])[0]
