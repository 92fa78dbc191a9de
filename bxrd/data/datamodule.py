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
``rss_synthesis_fraction`` sweeps the synthesis proportion. The training stream is a function
of ``seed``, the epoch and the rank (:mod:`bxrd.data.datasets`): deterministic under ``seed``
and world size, different on every rank and DataLoader worker.

The file is read lazily (:class:`~bxrd.data.store.PatternStore`): instantiating the module
(what LightningCLI's links need: classes, grid, wavelength) reads attributes only; stored
validation / test patterns are read per batch. Under DDP, validation and test are split
between ranks without repeats (metrics sync over all ranks), training positions are split by
:class:`~bxrd.data.datasets.StreamSampler`, and :meth:`XRDDataModule.posthoc_dataloaders`
gives every rank the same full data for post-hoc fits.

Two options change what validation and test are:

* ``render_eval``: validation and test patterns are rendered from their structures' sticks
  by the training augmenter (``augment``, with ``augment.realism``, the measurement model)
  instead of read as stored (clean renders and the build's augmented variants), so early
  stopping, the post-fit step (temperature / Laplace, the far-from-training feature density)
  and ``bxrd test`` judge a realistic-trained model on realistic patterns. The draws are
  fixed per row (:class:`~bxrd.data.datasets.RenderedPatterns`): identical in every epoch, on
  every rank and with any number of workers.
* ``final_refit``: the final model of a recipe, trained on every structure of the file (all
  real splits, all virtual structures, and the ``refit`` rows a build with ``refit_pool``
  keeps: virtual structures of held-out formulas and near-twins of held-out patterns), except
  a random ``refit_val_fraction`` of the real structures kept apart for monitoring (validation,
  temperature, feature-density threshold). There is no test split then (``bxrd test`` is an
  error): such a model's numbers come from measured patterns only. The honest split of the
  file is untouched; ``final_refit: false`` (the default) is the benchmark protocol.

A missing dataset is an error unless ``build`` asks for it to be built from ``build_config``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pytorch_lightning as pl
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, Sampler

from bxrd.data.class_names import NO_STRUCTURE
from bxrd.data.datasets import (
    SOURCES,
    AugmentedStream,
    RenderedPatterns,
    StoredPatterns,
    StreamSampler,
)
from bxrd.data.store import PatternStore
from bxrd.data.strata import anion_strata
from bxrd.errors import BxrdInputError
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.reflections import strongest_reflections
from bxrd.xrd.render import Renderer
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.sticks import StickPattern

Task = Literal["space_group", "structure_type", "in_library"]


class XRDDataModule(pl.LightningDataModule):
    """Serve VSS / RSS / SYN training streams and fixed validation / test patterns.

    Args:
        dataset: HDF5 file written by ``bxrd data build``.
        build_config: YAML of ``bxrd data build`` that makes ``dataset`` (named in the error
            when the file is missing; run only with ``build``).
        build: build ``dataset`` from ``build_config`` when it is missing (else: an error).
        task: ``space_group``, ``structure_type`` or ``in_library``.
        train_sources: subset of ``rss``, ``vss``, ``syn``.
        with_ter: use TER structures as VSS (False: templates only).
        exclude_origins: leave training structures of these build origins out of every
            training pool (e.g. ``[generator]``: the same dataset without the structure
            generator's perovskites); validation and test are untouched.
        rss_synthesis_fraction: fraction of RSS training structures per class used as e in SYN.
        balance_anions: within a class and source, draw the anion (X element) uniformly
            before the structure (:mod:`bxrd.data.strata`), so that e.g. the few halides of
            the oxide-rich Pm-3m class are drawn as often as the halides of P4mm.
        use_pretrain: add the ``pretrain`` split to the RSS training pool.
        samples_per_epoch: rendered training patterns per epoch (all ranks together).
        batch_size: patterns per batch (per rank).
        augment: augmentation of training patterns.
        eval_clean_only: validate and test on clean patterns only (else clean + stored
            augmented variants).
        render_eval: render validation / test from sticks with the training augmenter and
            measurement model, draws fixed per row (module docstring).
        final_refit: train on every structure but a monitoring share (module docstring).
        refit_val_fraction: share of the real structures kept for monitoring with
            ``final_refit``.
        num_workers: DataLoader workers.
        seed: seed of the synthesis reservation, of the training stream, of the rendered
            validation / test draws and of the monitoring share.
        verify: check the file's content hash before use (one streaming pass over the file).
    """

    def __init__(
        self,
        dataset: str = "data/quickstart/dataset.h5",
        build_config: str | None = "configs/build/quickstart.yaml",
        build: bool = False,
        task: Task = "space_group",
        train_sources: list[str] | None = None,
        with_ter: bool = True,
        exclude_origins: list[str] | None = None,
        rss_synthesis_fraction: float = 0.7,
        balance_anions: bool = False,
        use_pretrain: bool = False,
        samples_per_epoch: int = 2048,
        batch_size: int = 64,
        augment: AugmentConfig | None = None,
        eval_clean_only: bool = False,
        render_eval: bool = False,
        final_refit: bool = False,
        refit_val_fraction: float = 0.05,
        num_workers: int = 0,
        seed: int = 0,
        verify: bool = True,
    ) -> None:
        super().__init__()
        sources = list(train_sources or ["syn", "rss", "vss"])
        unknown = set(sources) - set(SOURCES)
        if unknown:
            raise ValueError(f"unknown train_sources {sorted(unknown)}; choose from {SOURCES}")
        if task not in get_args(Task):
            raise ValueError(f"unknown task {task!r}; choose from {get_args(Task)}")
        if not 0.0 <= rss_synthesis_fraction <= 1.0:
            raise ValueError(
                f"rss_synthesis_fraction must be in [0, 1], got {rss_synthesis_fraction}"
            )
        self.dataset, self.task = Path(dataset), task
        self.build_config, self.build = build_config, build
        self.train_sources, self.with_ter = sources, with_ter
        self.exclude_origins = list(exclude_origins or [])
        self.rss_synthesis_fraction, self.use_pretrain = rss_synthesis_fraction, use_pretrain
        self.balance_anions = balance_anions
        self.samples_per_epoch, self.batch_size = samples_per_epoch, batch_size
        self.augment = augment or AugmentConfig()
        if not 0.0 < refit_val_fraction < 1.0:
            raise ValueError(f"refit_val_fraction must be in (0, 1), got {refit_val_fraction}")
        self.eval_clean_only, self.num_workers, self.seed = eval_clean_only, num_workers, seed
        self.render_eval, self.final_refit = render_eval, final_refit
        self.refit_val_fraction = refit_val_fraction
        self.verify = verify
        self._verified = False

    # -- the dataset file -------------------------------------------------------------------
    def _build(self) -> None:
        """Run ``build_config`` with its output set to the folder of ``dataset``."""
        from bxrd.data.build import build_dataset, load_build_config

        if self.build_config is None:
            raise BxrdInputError(f"data.build is set but data.build_config is not ({self.dataset})")
        config = load_build_config(self.build_config)
        config.output = str(self.dataset.parent)
        build_dataset(config)

    @cached_property
    def store(self) -> PatternStore:
        """The dataset file, opened lazily (built first only when ``build`` asks for it).

        Raises:
            BxrdInputError: the file is missing (and ``build`` is off), is not a dataset, or
                has no labels for ``task``.
        """
        if not self.dataset.is_file():
            if not self.build:
                recipe = f" --config {self.build_config}" if self.build_config else ""
                raise BxrdInputError(
                    f"data.dataset {self.dataset} does not exist; build it first with "
                    f"`bxrd data build{recipe} --output {self.dataset.parent}`, or set "
                    "data.build: true to build it from data.build_config"
                )
            self._build()
        store = PatternStore(self.dataset)
        if self.task not in store.classes:
            raise BxrdInputError(f"{self.dataset}: no labels for task {self.task!r}")
        return store

    @property
    def class_names(self) -> list[str]:
        """Class names of the task, index order."""
        return list(self.store.classes[self.task])

    @property
    def n_classes(self) -> int:
        """Number of classes of the task."""
        return len(self.class_names)

    @property
    def in_length(self) -> int:
        """Points per pattern."""
        return len(self.store.two_theta)

    @property
    def wavelength(self) -> float:
        """Wavelength of the patterns, Å."""
        return self.store.wavelength

    @property
    def grid(self) -> TwoThetaGrid:
        """The dataset's 2θ grid (degrees)."""
        tt = self.store.two_theta
        return TwoThetaGrid.from_values(tt)

    @cached_property
    def labels(self) -> np.ndarray:
        """Class index of every stored pattern for the task, shape (N,)."""
        return self.store.labels(self.task)

    def provenance(self, key: str) -> np.ndarray:
        """One provenance field of every stored pattern, shape (N,) (cached)."""
        cache = self.__dict__.setdefault("_provenance", {})
        if key not in cache:
            cache[key] = self.store.provenance(key)
        return cache[key]

    def class_counts(self, split: str) -> dict[str, int]:
        """Patterns per class in a stored split."""
        y = self.labels[self._rows(split)]
        return {name: int((y == i).sum()) for i, name in enumerate(self.class_names)}

    def _rows(self, split: str) -> np.ndarray:
        """Return the rows of ``val`` / ``test`` (``final_refit``: the monitoring share / none)."""
        if not self.final_refit:
            rows = self.provenance("split") == split
        elif split == "val":
            rows = np.isin(self.provenance("structure_id"), self.monitor_ids)
        else:
            rows = np.zeros(len(self.labels), dtype=bool)
        if self.eval_clean_only:
            rows &= self.provenance("augmentation") == "none"
        return np.nonzero(rows)[0]

    def class_reflections(self, n: int | None = None) -> dict[str, list[dict]]:
        """Reflections of one representative structure per class (2θ on the grid).

        Every reflection of at least 1 % of the strongest (or the ``n`` strongest), so that
        every reflection inside an attribution window can be named.

        The representative is the first real-side training structure of the class (sorted
        ids), else the first structure of the class; used to name attribution regions by hkl.
        Mixture classes (``other``, yes / no: :data:`~bxrd.data.class_names.NO_STRUCTURE`)
        have no one structure and get none.
        """
        source, split = self.provenance("source"), self.provenance("split")
        chosen: dict[int, tuple[int, str]] = {}
        for sid, i in zip(*self._structure_rows(), strict=True):
            rank = 0 if (source[i], split[i]) == ("rss", "train") else 1
            c = int(self.labels[i])
            if c not in chosen or (rank, sid) < chosen[c]:
                chosen[c] = (rank, sid)
        sticks = self.store.sticks()
        grid = self.grid
        return {
            self.class_names[c]: [
                {**r, "structure": sid}
                for r in strongest_reflections(sticks[sid], (grid.start, grid.stop), n)
            ]
            for c, (_, sid) in sorted(chosen.items())
            if self.class_names[c] not in NO_STRUCTURE
        }

    def _structure_rows(self) -> tuple[list[str], np.ndarray]:
        """Return structure ids (sorted) and the first stored pattern of each.

        All patterns of a structure share its labels, source and split.
        """
        ids, first = np.unique(self.provenance("structure_id"), return_index=True)
        return ids.tolist(), first.astype(np.int64)

    @cached_property
    def monitor_formulas(self) -> list[str]:
        """Formulas of real structures kept out of a ``final_refit`` (seeded, sorted).

        Drawn by formula, as the honest split groups: every polymorph of a drawn formula is
        monitored, so validation never sees a polymorph of a training structure.
        """
        ids, first = self._structure_rows()
        formula = self.provenance("formula")[first]
        real = np.unique(formula[self.provenance("source")[first] == "rss"])
        n = max(1, int(round(self.refit_val_fraction * len(real))))
        rng = np.random.default_rng([self.seed, 1])
        return sorted(rng.permutation(real)[:n].tolist())

    @cached_property
    def monitor_ids(self) -> list[str]:
        """Real structures of :attr:`monitor_formulas`: the validation set of a final refit."""
        ids, first = self._structure_rows()
        monitored = np.isin(self.provenance("formula")[first], self.monitor_formulas)
        real = self.provenance("source")[first] == "rss"
        return sorted(np.asarray(ids)[monitored & real].tolist())

    def _monitored(self, first: np.ndarray) -> np.ndarray:
        """Mask (n_structures,) of what a final refit must not train on.

        A structure of a monitored formula, or a TER / isotype child of a monitored structure.
        """
        return np.isin(self.provenance("formula")[first], self.monitor_formulas) | np.isin(
            self.provenance("template_id")[first], self.monitor_ids
        )

    def _strata(self) -> np.ndarray:
        """Anion stratum of each structure, in :meth:`_structure_rows` order, shape (S,)."""
        _, first = self._structure_rows()
        return anion_strata(self.provenance("formula")[first].tolist())

    # -- pools ------------------------------------------------------------------------------
    def training_pools(self) -> tuple[list[str], np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """Structure ids, their labels, source → rows, and the SYN partner (VSS) rows."""
        ids, first = self._structure_rows()
        src = self.provenance("source")[first]
        split = self.provenance("split")[first]
        y = self.labels[first]
        kept = self._kept_origins(first)
        if self.final_refit:  # every split, the refit rows too, but the monitoring share
            usable = ~self._monitored(first) & kept
            rss = np.nonzero((src == "rss") & usable)[0]
            vss = np.nonzero((src == "vss") & usable)[0] if self.with_ter else rss
        else:
            train_splits = ("train", "pretrain") if self.use_pretrain else ("train",)
            rss = np.nonzero((src == "rss") & np.isin(split, train_splits) & kept)[0]
            vss = np.nonzero((src == "vss") & (split == "train") & kept)[0]
            vss = vss if self.with_ter else rss
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

    def _kept_origins(self, first: np.ndarray) -> np.ndarray:
        """Mask (n_structures,): structures whose origin is not in ``exclude_origins``."""
        if not self.exclude_origins:
            return np.ones(len(first), dtype=bool)
        origin = self.provenance("origin")[first]
        unknown = set(self.exclude_origins) - set(origin.tolist())
        if unknown:
            raise BxrdInputError(
                f"{self.dataset}: exclude_origins {sorted(unknown)} not among the dataset's "
                f"origins {sorted(set(origin.tolist()))}"
            )
        return ~np.isin(origin, self.exclude_origins)

    # -- loaders ----------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Check the file's content hash (once; Lightning calls this on one process per node)."""
        if self.verify and not self._verified:
            self.store.verify()
            self._verified = True

    def setup(self, stage: str | None = None) -> None:
        """Create the datasets of ``stage`` (``fit``, ``validate``, ``test``, ``predict``)."""
        if self.trainer is None:  # used without a Trainer: nobody else calls prepare_data
            self.prepare_data()
        if stage in ("fit", None):
            ids, y, pools, partners = self.training_pools()
            self.train_set = AugmentedStream(
                self._stick_batch(ids),
                y,
                pools,
                self.augmenter,
                self.samples_per_epoch,
                syn_partners=partners,
                seed=self.seed,
                strata=self._strata() if self.balance_anions else None,
            )
        for split in ("val", "test"):
            setattr(self, f"{split}_set", self._eval_set(self._rows(split)))

    @cached_property
    def augmenter(self) -> Augmenter:
        """The training augmenter (with its measurement model) on the dataset's grid."""
        renderer = Renderer(self.grid, self.wavelength, min_size_nm=min(self.augment.size_range_nm))
        return Augmenter(renderer, self.augment)

    @cached_property
    def _sticks(self) -> dict[str, StickPattern]:
        """The file's cached sticks, structure id → pattern (read once per module)."""
        return self.store.sticks()

    def _stick_batch(self, ids: list[str]) -> StickBatch:
        """Sticks of structures ``ids`` as one batch (cached sticks of the file)."""
        if not self._sticks:
            raise BxrdInputError(f"{self.dataset}: no cached sticks for on-the-fly rendering")
        return StickBatch.from_patterns([self._sticks[s] for s in ids])

    def _eval_set(self, rows: np.ndarray) -> StoredPatterns | RenderedPatterns:
        """Serve ``rows`` as stored, or re-rendered by the training augmenter (``render_eval``)."""
        if not self.render_eval or len(rows) == 0:
            return StoredPatterns(self.store, rows, self.labels[rows])
        ids, owner = np.unique(self.provenance("structure_id")[rows], return_inverse=True)
        batch = self._stick_batch(ids.tolist())
        return RenderedPatterns(batch, owner, rows, self.labels[rows], self.augmenter, self.seed)

    def _world(self) -> tuple[int, int]:
        """World size and global rank of the attached trainer ((1, 0) without one)."""
        if self.trainer is None:
            return 1, 0
        return self.trainer.world_size, self.trainer.global_rank

    def _loader(self, dataset: Dataset, sampler: Sampler | None = None) -> DataLoader:
        if len(dataset) == 0:
            raise BxrdInputError(f"{self.dataset}: this split has no patterns")
        if isinstance(dataset, RenderedPatterns):
            dataset.render()  # once, here, so DataLoader workers inherit the patterns
        if self.num_workers > 0:
            self.store.close()  # workers open their own handle; none is inherited open
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def _stored_loader(self, dataset: Dataset) -> DataLoader:
        """Serve this rank's share of a stored split, without repeats (they would bias metrics)."""
        world, rank = self._world()
        if world == 1:
            return self._loader(dataset)
        return self._loader(dataset, UnrepeatedDistributedSampler(dataset, world, rank, False))

    def train_dataloader(self) -> DataLoader:
        """Serve this rank's freshly rendered training batches."""
        world, rank = self._world()
        return self._loader(self.train_set, StreamSampler(len(self.train_set), world, rank))

    def val_dataloader(self) -> DataLoader:
        """Serve this rank's share of the stored validation patterns."""
        return self._stored_loader(self.val_set)

    def test_dataloader(self) -> DataLoader:
        """Serve this rank's share of the stored real-structure test patterns."""
        return self._stored_loader(self._test_set())

    def predict_dataloader(self) -> DataLoader:
        """Serve this rank's share of the test patterns."""
        return self._stored_loader(self._test_set())

    def _test_set(self) -> Dataset:
        if self.final_refit:
            raise BxrdInputError(
                f"{self.dataset}: data.final_refit trains on the test split; there is no "
                "held-out test (judge such a model on measured patterns; the honest numbers "
                "come from the same recipe with data.final_refit: false)"
            )
        return self.test_set

    def posthoc_dataloaders(self) -> tuple[DataLoader, DataLoader]:
        """Training stream (epoch 0 of a single process) and the whole validation split.

        With ``render_eval`` the validation patterns are the rendered ones, so temperature,
        Laplace prior and the far-from-training threshold are fitted on realistic patterns.

        The same on every rank, whatever the world size: post-hoc fits (Laplace posterior,
        temperature, feature density) read these, so every rank computes the same result
        from all the data and the one written checkpoint matches a single-process fit.
        """
        return self._loader(self.train_set, StreamSampler(len(self.train_set))), self._loader(
            self.val_set
        )
