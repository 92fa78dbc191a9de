"""Torch datasets over a dataset file; batches are dicts.

* :class:`StoredPatterns` serves stored patterns (validation, test, prediction), read from
  the HDF5 file one batch at a time.
* :class:`AugmentedStream` renders a fresh training batch from cached sticks on every fetch:
  a class is drawn uniformly (balanced classes), then a training source among ``rss``,
  ``vss`` and ``syn`` that has that class, then (with ``strata``, e.g. the anion) a stratum
  of that class and source uniformly, then structures, then augmentation; ``syn``
  mixes an RSS and a VSS pattern of the class (:func:`bxrd.data.syn.synthesize`). Rendering
  is batched through ``__getitems__``, so a DataLoader worker renders a whole batch at once.
* :class:`StreamSampler` hands each rank its own positions in the stream, epoch after epoch.
* :class:`RenderedPatterns` serves stored rows re-rendered from their structures' sticks by
  the training augmenter (with its measurement model, :mod:`bxrd.xrd.realism`), so validation
  and test look like training; rendered once, in fixed chunks of the split seeded by
  :func:`stream_seed` ``(seed, EVAL_STREAM, first row of the chunk)``: the same patterns in
  every epoch, on every rank and with any number of workers.

The random draws of a batch are a function of ``(seed, position of its first item)`` alone.
Positions are ``epoch * length + k`` with ``k ≡ rank (mod world size)``, so every epoch,
every rank and every DataLoader worker (which receives whole batches of positions) draws
different patterns, and a rerun with the same seed and world size draws the same ones,
whatever the number of workers.

Every item is ``{"pattern": (L,) float32, "label": () int64}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from bxrd.data.store import PatternStore
from bxrd.data.syn import synthesize
from bxrd.xrd.augment import Augmenter
from bxrd.xrd.stick_batch import StickBatch

#: Training sources an :class:`AugmentedStream` can draw from.
SOURCES: tuple[str, ...] = ("rss", "vss", "syn")
#: Second key of the seeds of :class:`RenderedPatterns` (apart from every training position).
EVAL_STREAM = 2**32 - 1
#: Rows rendered per seeded chunk of :class:`RenderedPatterns`.
EVAL_CHUNK = 256


def stream_seed(*key: int) -> int:
    """Return a 64-bit seed from integer keys (``np.random.SeedSequence``), independent per key."""
    state = np.random.SeedSequence(list(key)).generate_state(2, np.uint32)
    return int(state[0]) << 32 | int(state[1])


class StoredPatterns(Dataset):
    """Stored patterns of some rows of a dataset file, with labels, read per batch.

    Args:
        store: the dataset file.
        rows: rows of the file served, shape (N,).
        labels: label of each served row, shape (N,).
    """

    def __init__(self, store: PatternStore, rows: np.ndarray, labels: np.ndarray) -> None:
        self.store, self.rows = store, np.asarray(rows, dtype=np.int64)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def patterns(self) -> torch.Tensor:
        """All served patterns in memory, shape (N, L) (for small splits and tools)."""
        return torch.from_numpy(self.store.patterns(self.rows))

    def first(self, n: int) -> torch.Tensor:
        """Read the first ``n`` served patterns, shape (min(n, N), L)."""
        return torch.from_numpy(self.store.patterns(self.rows[:n]))

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        """Read the patterns of a batch in one HDF5 call."""
        x = torch.from_numpy(self.store.patterns(self.rows[np.asarray(indices)]))
        return [{"pattern": x[k], "label": self.labels[i]} for k, i in enumerate(indices)]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([i])[0]


class StreamSampler(DistributedSampler):
    """Positions of one rank in an :class:`AugmentedStream` for the current epoch.

    Yields ``epoch * total + k`` for ``k = rank, rank + world, ...`` below ``total`` (the
    stream length rounded up to a multiple of the world size), so ranks split an epoch's
    ``length`` patterns between them. A ``DistributedSampler``, so Lightning keeps it and
    calls :meth:`set_epoch` every epoch.

    Args:
        length: patterns per epoch, all ranks together.
        num_replicas: world size.
        rank: global rank.
    """

    def __init__(self, length: int, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(range(length), num_replicas=num_replicas, rank=rank, shuffle=False)

    def __iter__(self) -> Iterator[int]:
        start = self.epoch * self.total_size
        return iter(range(start + self.rank, start + self.total_size, self.num_replicas))


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
        seed: seed of the stream (see the module docstring).
        strata: stratum of each row, shape (S,) (None: one stratum). Within a class and
            source (and among the SYN partners of a class), a stratum is drawn uniformly
            before a structure of it, so its share of the class does not depend on how many
            structures it has there; a stratum with fewer than ``min_stratum`` structures
            there is drawn as part of the largest one (a lone structure never gets a share).
        min_stratum: fewest structures of a stratum drawn as a stratum of its own.
    """

    def __init__(
        self,
        sticks: StickBatch,
        labels: np.ndarray,
        pools: dict[str, Sequence[int]],
        augmenter: Augmenter,
        length: int,
        syn_partners: Sequence[int] = (),
        seed: int = 0,
        strata: np.ndarray | None = None,
        min_stratum: int = 3,
    ) -> None:
        unknown = set(pools) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown training source(s) {sorted(unknown)}; choose from {SOURCES}")
        self.sticks, self.labels, self.augmenter, self.length = sticks, labels, augmenter, length
        self.seed = seed
        self.strata = np.zeros(len(labels), np.int64) if strata is None else np.asarray(strata)
        if self.strata.shape != np.shape(labels):
            raise ValueError(f"strata {self.strata.shape} and labels {np.shape(labels)} differ")
        self.min_stratum = min_stratum
        self.syn_partner = self._by_class(syn_partners)
        self.by_source_class = {name: self._by_class(rows) for name, rows in pools.items()}
        if "syn" in self.by_source_class:
            self.by_source_class["syn"] = {
                c: r for c, r in self.by_source_class["syn"].items() if c in self.syn_partner
            }
        self.classes = sorted({c for per in self.by_source_class.values() for c in per})
        if not self.classes:
            raise ValueError("the training pools are empty")

    def _by_class(self, rows: Sequence[int]) -> dict[int, list[np.ndarray]]:
        """Class → rows of each stratum of that class (small strata join the largest)."""
        rows = np.asarray(rows, dtype=np.int64)
        out = {}
        for c in np.unique(self.labels[rows]):
            mine = rows[self.labels[rows] == c]
            keys, counts = np.unique(self.strata[mine], return_counts=True)
            big = keys[counts >= self.min_stratum]
            joined = np.where(np.isin(self.strata[mine], big), self.strata[mine], -1)
            if len(big):  # the small ones are drawn within the largest stratum
                joined[joined == -1] = keys[np.argmax(counts)]
            out[int(c)] = [mine[joined == k] for k in np.unique(joined)]
        return out

    def drawn_rows(self) -> np.ndarray:
        """Every row the stream can draw: its pools, and the SYN partners with ``syn``."""
        groups = [g for per in self.by_source_class.values() for gs in per.values() for g in gs]
        if "syn" in self.by_source_class:
            groups += [g for gs in self.syn_partner.values() for g in gs]
        return np.unique(np.concatenate(groups)) if groups else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return self.length

    def batch_seed(self, position: int) -> int:
        """Seed of the batch starting at stream ``position``: independent streams per position."""
        return stream_seed(self.seed, position)

    def _pick(self, groups: list[np.ndarray], gen: torch.Generator) -> int:
        """Draw a row: a stratum uniformly (no draw when there is one), then a row of it."""
        rows = (
            groups[int(torch.randint(len(groups), (1,), generator=gen))]
            if len(groups) > 1
            else groups[0]
        )
        return int(rows[torch.randint(len(rows), (1,), generator=gen)])

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        """Render ``len(indices)`` patterns drawn from ``(seed, indices[0])`` (stream positions)."""
        gen = torch.Generator().manual_seed(self.batch_seed(int(indices[0])))
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


class RenderedPatterns(Dataset):
    """Stored rows re-rendered from their structures' sticks, fixed per row, held in memory.

    Row ``rows[i]`` is its structure's sticks through ``augmenter`` (the five augmentations
    and, when configured, the measurement model). Rows are rendered in chunks of
    :data:`EVAL_CHUNK` consecutive served rows, chunk ``k`` with a generator seeded by
    :func:`stream_seed` ``(seed, EVAL_STREAM, rows[k * EVAL_CHUNK])``: the patterns depend on
    the dataset, the served rows and ``seed`` only, never on epoch, rank, batch size or
    DataLoader workers. Rendering happens once, on first use (:meth:`render`).

    Args:
        sticks: sticks of the structures, one row per structure.
        owner: structure row of ``sticks`` for each served row, shape (N,).
        rows: file rows served (their order), shape (N,).
        labels: label of each served row, shape (N,).
        augmenter: the training augmenter.
        seed: seed of the draws.
    """

    def __init__(
        self,
        sticks: StickBatch,
        owner: np.ndarray,
        rows: np.ndarray,
        labels: np.ndarray,
        augmenter: Augmenter,
        seed: int = 0,
    ) -> None:
        self.sticks, self.augmenter, self.seed = sticks, augmenter, seed
        self.owner = torch.as_tensor(np.asarray(owner, dtype=np.int64))
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self._patterns: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def render(self) -> torch.Tensor:
        """Render every served row (once), shape (N, L)."""
        if self._patterns is None:
            parts = []
            for start in range(0, len(self.rows), EVAL_CHUNK):
                seed = stream_seed(self.seed, EVAL_STREAM, int(self.rows[start]))
                gen = torch.Generator().manual_seed(seed)
                chunk = self.sticks.select(self.owner[start : start + EVAL_CHUNK])
                parts.append(self.augmenter(chunk, gen)[0])
            n = self.augmenter.renderer.grid.n_points
            self._patterns = torch.cat(parts) if parts else torch.zeros(0, n)
        return self._patterns

    @property
    def patterns(self) -> torch.Tensor:
        """All served patterns, shape (N, L)."""
        return self.render()

    def first(self, n: int) -> torch.Tensor:
        """Return the first ``n`` served patterns, shape (min(n, N), L)."""
        return self.render()[:n]

    def __getitems__(self, indices: Sequence[int]) -> list[dict[str, torch.Tensor]]:
        x = self.render()
        return [{"pattern": x[i], "label": self.labels[i]} for i in indices]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.__getitems__([i])[0]
