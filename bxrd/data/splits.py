"""Leak-free splits: real structures are split first, by group, stratified by label.

The held-out test set is drawn from the real-structure side (RSS) **before** TER, synthesis or
augmentation. Structures with the same reduced formula (``group_by: formula``: all polymorphs
together) or the same formula and space group (``formula_space_group``) form one group and
always land in the same split, so a published structure and its re-refinement cannot sit on
both sides. VSS made by TER from a template that is in the test (or validation) split are
never made; VSS whose formula and space group equal those of a held-out structure are dropped
(:func:`held_out_twins`). :func:`check_no_leak` re-checks all of it on the finished dataset
for the test and the validation split, including a spectral near-duplicate test
(:func:`spectral_near_duplicates`, also used by the build to remove training structures
whose clean pattern twins a held-out one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: Split names, in the order they are drawn.
SPLITS: tuple[str, ...] = ("test", "pretrain", "val", "train")


@dataclass
class SplitConfig:
    """Fractions of real-structure groups per split (per class), drawn in this order.

    Attributes:
        test_fraction: final test set (never seen in training or synthesis).
        pretrain_fraction: optional pre-training part.
        val_fraction: validation (model selection, calibration fitting).
        vss_val_fraction: fraction of VSS (TER) structures put in validation as well.
        hold_out_templates: let template structures (and their groups) be drawn for test and
            validation; their TER products are then not made. False keeps every template in
            training, so test structures and templates are disjoint by construction.
        group_by: ``formula`` (all polymorphs of a formula in one split) or
            ``formula_space_group``.
        near_twin_cosine: clean training patterns with a cosine similarity above this to a
            clean test or validation pattern are a leak (the build removes their structures).
        seed: seed of the draws.
    """

    test_fraction: float = 0.2
    pretrain_fraction: float = 0.0
    val_fraction: float = 0.1
    vss_val_fraction: float = 0.1
    hold_out_templates: bool = True
    group_by: Literal["formula", "formula_space_group"] = "formula_space_group"
    near_twin_cosine: float = 0.995
    seed: int = 0

    def __post_init__(self) -> None:
        total = self.test_fraction + self.pretrain_fraction + self.val_fraction
        for name in ("test_fraction", "pretrain_fraction", "val_fraction", "vss_val_fraction"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if total >= 1.0:
            raise ValueError(f"test + pretrain + val fractions must be < 1, got {total:.2f}")


def split_groups(
    groups: dict[str, str],
    labels: dict[str, str],
    config: SplitConfig,
    keep_in_train: frozenset[str] = frozenset(),
) -> tuple[dict[str, str], list[str]]:
    """Assign every id a split, drawing whole groups per label.

    Args:
        groups: id → group key (ids of one group always share a split).
        labels: id → class name used for stratification (a group takes its first id's).
        config: fractions and seed.
        keep_in_train: group keys that always go to training (not counted in the draws).

    Returns:
        id → split name, and one note per class that is too small to be held out.
    """
    rng = np.random.default_rng(config.seed)
    members: dict[str, list[str]] = defaultdict(list)
    for sid in sorted(groups):
        members[groups[sid]].append(sid)
    by_label: dict[str, list[str]] = defaultdict(list)
    split_of: dict[str, str] = {}
    for key in sorted(members):
        if key in keep_in_train:
            split_of.update(dict.fromkeys(members[key], "train"))
        else:
            by_label[labels[members[key][0]]].append(key)
    fractions = (config.test_fraction, config.pretrain_fraction, config.val_fraction)
    notes: list[str] = []
    for label in sorted(by_label):
        keys = list(rng.permutation(by_label[label]))
        n, start = len(keys), 0
        for name, frac in zip(SPLITS[:3], fractions, strict=True):
            take = int(round(frac * n)) if frac > 0 else 0
            take = min(max(take, 1 if frac > 0 else 0), n - start - 1)
            if frac > 0 and take <= 0:
                notes.append(
                    f"class {label}: {n} real structure group(s), none held out for {name}"
                )
            for key in keys[start : start + max(take, 0)]:
                split_of.update(dict.fromkeys(members[key], name))
            start += max(take, 0)
        for key in keys[start:]:
            split_of.update(dict.fromkeys(members[key], "train"))
    return split_of, notes


def held_out_twins(
    candidates: dict[str, tuple[str, int]], held_out: Sequence[tuple[str, int]]
) -> set[str]:
    """Ids of candidates whose (reduced formula, space-group number) is held out."""
    banned = set(held_out)
    return {sid for sid, key in candidates.items() if key in banned}


def spectral_near_duplicates(
    test: np.ndarray, train: np.ndarray, threshold: float = 0.995, chunk: int = 512
) -> list[tuple[int, int, float]]:
    """Find pairs (test row, train row, cosine) with cosine similarity above ``threshold``.

    Args:
        test: patterns (N, L).
        train: patterns (M, L) on the same grid.
        threshold: cosine above which two patterns count as near-identical.
        chunk: training rows compared at once (memory bound).
    """
    if len(test) == 0 or len(train) == 0:
        return []
    a = test / np.linalg.norm(test, axis=1, keepdims=True).clip(1e-12)
    b = train / np.linalg.norm(train, axis=1, keepdims=True).clip(1e-12)
    found = []
    for start in range(0, len(b), chunk):
        sim = a @ b[start : start + chunk].T
        for i, j in zip(*np.nonzero(sim > threshold), strict=True):
            found.append((int(i), int(start + j), float(sim[i, j])))
    return found


def check_no_leak(
    split: Sequence[str],
    structure_id: Sequence[str],
    template_id: Sequence[str],
    clean: np.ndarray,
    patterns: np.ndarray,
    threshold: float = 0.995,
) -> list[str]:
    """Return one message per leak from a held-out split into training (empty: no leak).

    For the test split (against train, pretrain and val) and the validation split (against
    train and pretrain): no structure id on both sides; no training pattern made from a
    held-out structure (its template id); no clean training pattern spectrally
    near-identical to a clean held-out pattern.

    Args:
        split: split name per pattern.
        structure_id: structure per pattern.
        template_id: structure each pattern was made from (itself for real ones).
        clean: True for unaugmented patterns, shape (N,).
        patterns: shape (N, L).
        threshold: cosine similarity counted as near-identical.
    """
    split_a = np.asarray(split)
    sid, tid = np.asarray(structure_id), np.asarray(template_id)
    problems: list[str] = []
    for held, others in (("test", ("train", "pretrain", "val")), ("val", ("train", "pretrain"))):
        test, train = split_a == held, np.isin(split_a, others)
        test_ids = set(sid[test])
        problems += [
            f"structure {s} is in {held} and training" for s in sorted(test_ids & set(sid[train]))
        ]
        problems += [
            f"training structure made from {held} structure {t}"
            for t in sorted(test_ids & set(tid[train]))
        ]
        ti, tj = np.nonzero(test & clean)[0], np.nonzero(train & clean)[0]
        for i, j, cos in spectral_near_duplicates(patterns[ti], patterns[tj], threshold):
            problems.append(
                f"{held} {sid[ti[i]]} and training {sid[tj[j]]} patterns are near-identical "
                f"(cosine {cos:.4f})"
            )
    return problems
