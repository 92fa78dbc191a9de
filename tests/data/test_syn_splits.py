import numpy as np
import pytest
import torch

from bxrd.data.splits import SplitConfig, check_no_leak, split_groups
from bxrd.data.syn import synthesize


def test_syn_is_e_plus_eps_t_normalised():
    x = torch.linspace(0, 1, 100)
    e = 5 * torch.exp(-((x - 0.3) ** 2) / 1e-3)[None]
    t = 2 * torch.exp(-((x - 0.7) ** 2) / 1e-3)[None]
    out = synthesize(e, t, torch.tensor([0.5]))
    expected = e / e.max() + 0.5 * t / t.max()
    assert torch.allclose(out, expected / expected.max())
    assert torch.allclose(synthesize(e, t, torch.tensor([0.0])), e / e.max())


def test_group_split_is_stratified_and_keeps_groups_together():
    groups = {f"s{i}": f"g{i // 2}" for i in range(40)}  # pairs share a group
    labels = {f"s{i}": "A" if i < 20 else "B" for i in range(40)}
    split, notes = split_groups(groups, labels, SplitConfig(test_fraction=0.2, val_fraction=0.1))
    for i in range(0, 40, 2):
        assert split[f"s{i}"] == split[f"s{i + 1}"]
    for cls in "AB":
        test = [s for s in split if labels[s] == cls and split[s] == "test"]
        assert len(test) == 4  # 20 % of 10 groups of 2
    assert not notes
    again, _ = split_groups(groups, labels, SplitConfig(test_fraction=0.2, val_fraction=0.1))
    assert again == split


def test_a_single_structure_class_is_reported_not_held_out():
    split, notes = split_groups({"a": "a", "b": "b"}, {"a": "X", "b": "Y"}, SplitConfig())
    assert set(split.values()) == {"train"}
    assert any("class X" in n for n in notes)


def test_fractions_are_checked():
    with pytest.raises(ValueError, match="< 1"):
        SplitConfig(test_fraction=0.6, val_fraction=0.5)


def test_leak_check_finds_each_kind_of_leak():
    rng = np.random.default_rng(0)
    x = rng.random((4, 50))
    split = ["test", "train", "train", "train"]
    clean = np.array([True] * 4)
    assert check_no_leak(split, ["t", "a", "b", "c"], ["t", "a", "b", "c"], clean, x) == []
    assert (
        "in test and training"
        in check_no_leak(split, ["t", "t", "b", "c"], ["t", "t", "b", "c"], clean, x)[0]
    )
    assert (
        "made from test"
        in check_no_leak(split, ["t", "a", "b", "c"], ["t", "t", "b", "c"], clean, x)[0]
    )
    x[2] = x[0] * 3
    assert (
        "near-identical"
        in check_no_leak(split, ["t", "a", "b", "c"], ["t", "a", "b", "c"], clean, x)[0]
    )


def test_protected_groups_stay_in_training():
    groups = {f"s{i}": f"g{i}" for i in range(10)}
    labels = dict.fromkeys(groups, "A")
    split, _ = split_groups(groups, labels, SplitConfig(test_fraction=0.5), frozenset({"g0", "g1"}))
    assert split["s0"] == split["s1"] == "train"
    assert sum(v == "test" for v in split.values()) == 4  # half of the 8 unprotected groups


def test_leak_check_covers_validation_as_well_as_test():
    x = np.eye(4)
    x[3] = x[1] + 1e-4  # a training pattern twinning the validation one
    problems = check_no_leak(
        ["test", "val", "train", "train"],
        ["a", "b", "c", "d"],
        ["a", "b", "b", "d"],  # c is made from the validation structure b
        np.ones(4, dtype=bool),
        x,
    )
    assert "training structure made from val structure b" in problems
    assert any(p.startswith("val b and training d") for p in problems)
    assert not any(p.startswith("test") for p in problems)
