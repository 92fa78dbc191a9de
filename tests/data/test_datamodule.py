"""XRDDataModule: lazy reads, per-rank streams, unrepeated shards, a missing dataset."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.datamodule import XRDDataModule
from bxrd.data.datasets import StreamSampler
from bxrd.data.splits import SplitConfig
from bxrd.data.store import PatternStore, load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.xrd.reflections import hkl_label


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    cfg = BuildConfig(
        output=str(tmp_path_factory.mktemp("dm") / "data"),
        templates=["builtin"],
        ter=TERConfig(max_per_template=2),
        split=SplitConfig(vss_val_fraction=0.25),
        n_augmented=1,
        n_jobs=1,
    )
    return build_dataset(cfg, progress=False)


def _module(path, **kwargs):
    return XRDDataModule(str(path), **{"samples_per_epoch": 64, "batch_size": 16, **kwargs})


def test_links_read_attributes_only(dataset, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("read per-pattern data")

    for name in ("patterns", "labels", "provenance", "sticks"):
        monkeypatch.setattr(PatternStore, name, refuse)
    dm = _module(dataset)
    assert dm.n_classes == len(dm.class_names) > 1
    assert dm.in_length == dm.grid.n_points == 3501
    assert dm.wavelength == pytest.approx(1.54184, abs=1e-4)


def test_stored_batches_are_the_stored_rows(dataset):
    dm = _module(dataset)
    dm.setup("validate")
    data = load_pattern_set(dataset)
    rows = np.nonzero(np.array(data.provenance["split"]) == "val")[0]
    batch = next(iter(dm.val_dataloader()))
    n = len(batch["label"])
    assert torch.equal(batch["pattern"], torch.from_numpy(data.patterns[rows[:n]]))
    assert torch.equal(batch["label"], torch.from_numpy(data.labels["space_group"][rows[:n]]))
    workers = _module(dataset, num_workers=2)
    workers.setup("validate")
    read = torch.cat([b["pattern"] for b in workers.val_dataloader()])
    assert torch.equal(read, torch.from_numpy(data.patterns[rows]))


def _epoch(dm, world=1, rank=0, epoch=0, workers=0):
    sampler = StreamSampler(len(dm.train_set), world, rank)
    sampler.set_epoch(epoch)
    loader = DataLoader(dm.train_set, batch_size=16, sampler=sampler, num_workers=workers)
    return torch.cat([b["pattern"] for b in loader])


def test_stream_differs_by_rank_and_epoch_and_repeats_under_seed(dataset):
    dm = _module(dataset)
    dm.setup("fit")
    rank0, rank1 = _epoch(dm, 2, 0), _epoch(dm, 2, 1)
    assert rank0.shape == rank1.shape == (32, dm.in_length)  # ranks split the epoch
    assert not torch.allclose(rank0, rank1)
    assert not torch.allclose(_epoch(dm, 2, 0, epoch=1), rank0)
    again = _module(dataset)
    again.setup("fit")
    assert torch.equal(_epoch(again, 2, 0), rank0)
    other_seed = _module(dataset, seed=1)
    other_seed.setup("fit")
    assert not torch.allclose(_epoch(other_seed, 2, 0), rank0)


def test_workers_draw_different_batches_and_the_same_epoch(dataset):
    dm = _module(dataset)
    dm.setup("fit")
    one = _epoch(dm)
    two = _epoch(dm, workers=2)
    assert torch.equal(one, two)  # the draws depend on stream positions, not on the worker
    batches = one.reshape(4, 16, -1)
    assert all(not torch.allclose(batches[i], batches[j]) for i in range(4) for j in range(i))


def test_eval_shards_cover_the_split_once(dataset):
    class FakeTrainer:
        world_size, global_rank = 3, 0

    dm = _module(dataset)
    dm.setup("fit")
    seen = []
    for rank in range(3):
        FakeTrainer.global_rank = rank
        dm.trainer = FakeTrainer()
        seen += list(iter(dm.val_dataloader().sampler))
    assert sorted(seen) == list(range(len(dm.val_set)))
    dm.trainer = None
    FakeTrainer.global_rank = 2
    dm.trainer = FakeTrainer()
    train, val = dm.posthoc_dataloaders()  # every rank: the whole data, as one process sees it
    assert len(list(iter(val.sampler))) == len(dm.val_set)
    assert list(iter(train.sampler)) == list(range(len(dm.train_set)))


def test_missing_dataset_is_an_error_and_nothing_is_built(tmp_path):
    missing = tmp_path / "nowhere" / "dataset.h5"
    dm = XRDDataModule(str(missing))
    with pytest.raises(BxrdInputError, match=r"dataset\.h5 does not exist.*bxrd data build"):
        _ = dm.n_classes
    assert not missing.parent.exists()


def test_corrupt_store_is_refused_before_training(dataset, tmp_path):
    import shutil

    import h5py

    copy = tmp_path / "d.h5"
    shutil.copy(dataset, copy)
    with h5py.File(copy, "a") as f:
        f["patterns"][3, 100] = 7.0
    dm = _module(copy)
    with pytest.raises(BxrdInputError, match="content hash mismatch"):
        dm.setup("fit")


def test_hkl_labels():
    assert hkl_label(np.array([1, -1, 0])) == "1-10"
    assert hkl_label(np.array([1, 10, 2])) == "1 10 2"


def _realistic(path, **kwargs):
    """A module whose training (and, with render_eval, val / test) carry the Kα1/Kα2 doublet."""
    from bxrd.xrd.augment import AugmentConfig
    from bxrd.xrd.realism import SWITCHES, RealismConfig

    only_doublet = RealismConfig(**{k: k == "doublet" for k in SWITCHES})
    augment = AugmentConfig(methods=(), base_size_nm=200.0, realism=only_doublet)
    return _module(path, augment=augment, **kwargs)


def test_rendered_eval_patterns_are_fixed_per_row(dataset):
    dm = _realistic(dataset, render_eval=True)
    dm.setup("fit")
    first = torch.cat([b["pattern"] for b in dm.val_dataloader()])
    fresh = _realistic(dataset, render_eval=True)  # another run (or rank) renders anew
    fresh.setup("validate")
    again = torch.cat([b["pattern"] for b in fresh.val_dataloader()])
    workers = _realistic(dataset, render_eval=True, num_workers=2, batch_size=5)
    workers.setup("validate")
    other = torch.cat([b["pattern"] for b in workers.val_dataloader()])
    assert first.shape == (len(dm.val_set), dm.in_length)
    assert torch.equal(first, again) and torch.equal(first, other)
    labels = torch.cat([b["label"] for b in dm.val_dataloader()])
    assert torch.equal(labels, torch.from_numpy(dm.labels[dm._rows("val")]))


@pytest.mark.parametrize("render_eval", [True, False])
def test_rendered_val_pattern_has_a_kalpha2_shoulder_only_when_on(dataset, render_eval):
    from bxrd.xrd.wavelength import EMISSION_LINES

    dm = _realistic(dataset, render_eval=render_eval)
    dm.setup("validate")
    x = dm.val_set.patterns
    cu = EMISSION_LINES["Cu"]
    tt = torch.from_numpy(dm.grid.values)
    ratios = []
    for y in x:
        top = int(y.argmax())  # Kα1 of the strongest reflection
        theta = torch.deg2rad(tt[top] / 2)
        tt2 = 2 * torch.rad2deg(torch.asin(torch.sin(theta) * cu.ka2 / cu.ka1))
        k = int(round(float(tt2 - tt[top]) / dm.grid.step))  # Kα2 offset by Bragg's law
        ratios.append(float(y[top + k] / y[top - k].clamp_min(1e-3)))
    ratios = np.array(ratios)
    if render_eval:  # Kα2 at half of Kα1 above it, nothing below
        assert np.median(ratios) > 5
    else:  # a single line: symmetric peaks
        assert np.all((ratios > 0.5) & (ratios < 2.0))


def test_final_refit_trains_on_every_split_but_a_monitoring_share(dataset):
    honest = _module(dataset)
    final = _module(dataset, final_refit=True, refit_val_fraction=0.2)
    ids, _ = final._structure_rows()
    ids = np.asarray(ids)
    pooled = set(ids[np.concatenate(list(final.training_pools()[2].values()))])
    honest_pooled = set(ids[np.concatenate(list(honest.training_pools()[2].values()))])
    sid, split = final.provenance("structure_id"), final.provenance("split")
    test = set(sid[split == "test"])
    assert test and (test - set(final.monitor_ids)) <= pooled
    assert not test & honest_pooled
    assert not pooled & set(final.monitor_ids) and final.monitor_ids
    # monitored by formula: no polymorph of a monitored formula, no child of a monitored
    # structure is trained on
    formula = dict(zip(sid, final.provenance("formula"), strict=True))
    parent = dict(zip(sid, final.provenance("template_id"), strict=True))
    assert {formula[s] for s in final.monitor_ids} == set(final.monitor_formulas)
    assert not {formula[s] for s in pooled} & set(final.monitor_formulas)
    assert not {parent[s] for s in pooled} & set(final.monitor_ids)
    final.setup("fit")
    val_ids = set(final.provenance("structure_id")[final.val_set.rows])
    assert val_ids == set(final.monitor_ids)
    with pytest.raises(BxrdInputError, match="final_refit"):
        final.test_dataloader()


def test_posthoc_fits_see_the_rendered_validation_patterns(dataset):
    dm = _realistic(dataset, render_eval=True)
    dm.setup("fit")
    _, val = dm.posthoc_dataloaders()
    seen = torch.cat([b["pattern"] for b in val])
    stored = torch.from_numpy(load_pattern_set(dataset).patterns[dm._rows("val")])
    assert torch.equal(seen, dm.val_set.patterns) and not torch.allclose(seen, stored)


def test_balanced_anions_give_the_stream_each_structures_anion_family(dataset):
    from bxrd.data.strata import anion_strata

    dm = _module(dataset, balance_anions=True)
    dm.setup("fit")
    ids, first = dm._structure_rows()
    formulas = dm.provenance("formula")[first].tolist()
    assert np.array_equal(dm.train_set.strata, anion_strata(formulas))
    assert len(set(dm.train_set.strata.tolist())) > 1  # builtin templates: oxides and halides
    plain = _module(dataset)
    plain.setup("fit")
    assert set(plain.train_set.strata.tolist()) == {0}
