"""``XRDDataModule``: the training sets of the paper's accuracy matrices, from one HDF5 file.

Validation and test are fixed stored patterns (``split == "val"`` / ``"test"``; the test set
is real-structure patterns only). Training patterns are rendered on the fly from cached sticks
(:class:`~bxrd.data.datasets.AugmentedStream`) from the sources named in ``train_sources``:

* ``rss``: real-side training structures (minus those reserved for synthesis when ``syn``
  is also used). Every class reserves its share, as in the paper; in a class without VSS
  the reserved structures are left unused, so ``[syn, rss]`` trains such a class on
  ``1 - rss_synthesis_fraction`` of its real structures and drops one-structure classes.
  (Keeping them all was measured on ``data/paper``: SYN + RSS accuracy fell from 0.356 to
  0.175 at the experiment suite's small size, because one-structure classes then attract
  the predictions for the test patterns of other classes.)
* ``vss``: TER structures (or, with ``with_ter=False``, the real-side training structures
  themselves: the "templates only" row);
* ``syn``: X = e + ε·t with e from the ``rss_synthesis_fraction`` of RSS training structures
  of a class and t from the VSS of that class.

So ``[vss]``, ``[syn]``, ``[syn, rss]``, ``[vss, rss]`` are the rows of the paper's matrices;
``rss_synthesis_fraction`` sweeps the synthesis proportion. Deterministic under ``seed`` (with
``seed_everything(workers=True)``, as the CLI does).
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from bxrd.data.build import TASKS, build_dataset, load_build_config
from bxrd.data.datasets import SOURCES, AugmentedStream, FixedPatterns
from bxrd.data.store import PatternSet, load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.stick_batch import StickBatch

Task = Literal["space_group", "structure_type", "in_library"]


class XRDDataModule(pl.LightningDataModule):
    """Serve VSS / RSS / SYN training streams and fixed validation / test patterns.

    Args:
        dataset: HDF5 file written by ``bxrd data build``.
        build_config: YAML of ``bxrd data build`` run when ``dataset`` does not exist yet.
        task: ``space_group``, ``structure_type`` or ``in_library``.
        train_sources: subset of ``rss``, ``vss``, ``syn``.
        with_ter: use TER structures as VSS (False: templates only).
        rss_synthesis_fraction: fraction of RSS training structures per class used as e in SYN.
        use_pretrain: add the ``pretrain`` split to the RSS training pool.
        samples_per_epoch: rendered training patterns per epoch.
        batch_size: patterns per batch.
        augment: augmentation of training patterns.
        eval_clean_only: validate and test on clean patterns only (else clean + stored
            augmented variants).
        num_workers: DataLoader workers.
        seed: seed of the synthesis reservation.
    """

    def __init__(
        self,
        dataset: str = "data/quickstart/dataset.h5",
        build_config: str | None = "configs/data/quickstart.yaml",
        task: Task = "space_group",
        train_sources: list[str] | None = None,
        with_ter: bool = True,
        rss_synthesis_fraction: float = 0.7,
        use_pretrain: bool = False,
        samples_per_epoch: int = 2048,
        batch_size: int = 64,
        augment: AugmentConfig | None = None,
        eval_clean_only: bool = False,
        num_workers: int = 0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        sources = list(train_sources or ["syn", "rss", "vss"])
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown train_sources {sorted(unknown)}; choose from {SOURCES}")
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose from {TASKS}")
        if not 0.0 <= rss_synthesis_fraction <= 1.0:
            raise ValueError(
                f"rss_synthesis_fraction must be in [0, 1], got {rss_synthesis_fraction}"
            )
        self.dataset, self.build_config, self.task = Path(dataset), build_config, task
        self.train_sources, self.with_ter = sources, with_ter
        self.rss_synthesis_fraction, self.use_pretrain = rss_synthesis_fraction, use_pretrain
        self.samples_per_epoch, self.batch_size = samples_per_epoch, batch_size
        self.augment = augment or AugmentConfig()
        self.eval_clean_only, self.num_workers, self.seed = eval_clean_only, num_workers, seed

    # -- the dataset file -------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Build the dataset from ``build_config`` if the file is missing."""
        if self.dataset.is_file():
            return
        if self.build_config is None:
            raise BxrdInputError(f"{self.dataset}: no such dataset; run `bxrd data build` first")
        config = load_build_config(self.build_config)
        config.output = str(self.dataset.parent)
        build_dataset(config)

    @cached_property
    def data(self) -> PatternSet:
        """The loaded dataset (built first if missing)."""
        self.prepare_data()
        data = load_pattern_set(self.dataset)
        if self.task not in data.labels:
            raise BxrdInputError(f"{self.dataset}: no labels for task {self.task!r}")
        return data

    @property
    def class_names(self) -> list[str]:
        """Class names of the task, index order."""
        return list(self.data.classes[self.task])

    @property
    def n_classes(self) -> int:
        """Number of classes of the task."""
        return len(self.class_names)

    @property
    def in_length(self) -> int:
        """Points per pattern."""
        return int(self.data.patterns.shape[1])

    @property
    def wavelength(self) -> float:
        """Wavelength of the patterns, Å."""
        return float(self.data.wavelength)

    @property
    def grid(self) -> TwoThetaGrid:
        """The dataset's 2θ grid (degrees)."""
        tt = self.data.two_theta
        return TwoThetaGrid(float(tt[0]), float(tt[-1]), float(round(tt[1] - tt[0], 10)))

    def class_counts(self, split: str) -> dict[str, int]:
        """Patterns per class in a stored split."""
        y = self.data.labels[self.task][self._rows(split)]
        return {name: int((y == i).sum()) for i, name in enumerate(self.class_names)}

    def _rows(self, split: str) -> np.ndarray:
        prov = self.data.provenance
        rows = np.asarray(prov["split"]) == split
        if self.eval_clean_only:
            rows &= np.asarray(prov["augmentation"]) == "none"
        return np.nonzero(rows)[0]

    def class_reflections(self, n: int | None = None) -> dict[str, list[dict]]:
        """Reflections of one representative structure per class (2θ on the grid).

        Every reflection of at least 1 % of the strongest (or the ``n`` strongest), so that
        every reflection inside an attribution window can be named.

        The representative is the first real-side training structure of the class (sorted
        ids), else the first structure of the class; used to name attribution regions by hkl.
        """
        prov, labels = self.data.provenance, self.data.labels[self.task]
        grid = self.grid
        chosen: dict[int, tuple[int, str]] = {}
        for sid, i in zip(*self._structure_rows(), strict=True):
            rank = 0 if (prov["source"][i], prov["split"][i]) == ("rss", "train") else 1
            c = int(labels[i])
            if c not in chosen or (rank, sid) < chosen[c]:
                chosen[c] = (rank, sid)
        out = {}
        for c, (_, sid) in sorted(chosen.items()):
            s = self.data.sticks[sid]
            on_grid = (s.two_theta >= grid.start) & (s.two_theta <= grid.stop)
            inside = np.nonzero(on_grid & (s.intensity >= 0.01 * s.intensity.max()))[0]
            top = inside[np.argsort(s.intensity[inside])[::-1][:n]]
            out[self.class_names[c]] = [
                {
                    "two_theta": round(float(s.two_theta[i]), 3),
                    "hkl": "".join(str(int(h)) for h in s.hkl[i])
                    if np.all(np.abs(s.hkl[i]) < 10)
                    else " ".join(str(int(h)) for h in s.hkl[i]),
                    "intensity": round(float(s.intensity[i]), 2),
                    "structure": sid,
                }
                for i in sorted(top, key=lambda i: s.two_theta[i])
            ]
        return out

    def _structure_rows(self) -> tuple[list[str], np.ndarray]:
        """Return structure ids (sorted) and the first stored pattern of each.

        All patterns of a structure share its labels, source and split.
        """
        first: dict[str, int] = {}
        for i, sid in enumerate(self.data.provenance["structure_id"]):
            first.setdefault(sid, i)
        ids = sorted(first)
        return ids, np.array([first[s] for s in ids], dtype=np.int64)

    # -- pools ------------------------------------------------------------------------------
    def training_pools(self) -> tuple[list[str], np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Structure ids, their labels, source → rows, and the SYN partner (VSS) rows."""
        prov = self.data.provenance
        ids, first = self._structure_rows()
        src = np.asarray(prov["source"])[first]
        split = np.asarray(prov["split"])[first]
        y = self.data.labels[self.task][first]
        train_splits = ("train", "pretrain") if self.use_pretrain else ("train",)
        rss = np.nonzero((src == "rss") & np.isin(split, train_splits))[0]
        vss = np.nonzero((src == "vss") & (split == "train"))[0] if self.with_ter else rss
        rng = np.random.default_rng(self.seed)
        reserve = np.zeros(len(ids), dtype=bool)
        if "syn" in self.train_sources:
            for c in np.unique(y[rss]):
                rows = rng.permutation(rss[y[rss] == c])
                reserve[rows[: int(round(self.rss_synthesis_fraction * len(rows)))]] = True
        pools = {
            "rss": rss[~reserve[rss]] if "syn" in self.train_sources else rss,
            "vss": vss,
            "syn": rss[reserve[rss]],
        }
        return ids, y, {k: v for k, v in pools.items() if k in self.train_sources}, vss

    # -- loaders ----------------------------------------------------------------------------
    def setup(self, stage: str | None = None) -> None:
        """Create the datasets of ``stage`` (``fit``, ``validate``, ``test``, ``predict``)."""
        data = self.data
        labels = data.labels[self.task]
        if stage in ("fit", None):
            ids, y, pools, partners = self.training_pools()
            if not data.sticks:
                raise BxrdInputError(f"{self.dataset}: no cached sticks for on-the-fly training")
            sticks = StickBatch.from_patterns([data.sticks[s] for s in ids])
            renderer = Renderer(
                self.grid, data.wavelength, min_size_nm=min(self.augment.size_range_nm)
            )
            self.train_set = AugmentedStream(
                sticks,
                y,
                pools,
                Augmenter(renderer, self.augment),
                self.samples_per_epoch,
                syn_partners=partners,
            )
        for split in ("val", "test"):
            rows = self._rows(split)
            setattr(self, f"{split}_set", FixedPatterns(data.patterns[rows], labels[rows]))

    def _loader(self, dataset: torch.utils.data.Dataset, shuffle: bool = False) -> DataLoader:
        if len(dataset) == 0:
            raise BxrdInputError(f"{self.dataset}: this split has no patterns")
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        """Serve freshly rendered training batches."""
        return self._loader(self.train_set)

    def val_dataloader(self) -> DataLoader:
        """Serve the stored validation patterns."""
        return self._loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        """Serve the stored real-structure test patterns."""
        return self._loader(self.test_set)

    def predict_dataloader(self) -> DataLoader:
        """Serve the test patterns."""
        return self._loader(self.test_set)
