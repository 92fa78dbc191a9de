"""The dataset job: real structures + templates → splits → TER → sticks → patterns → HDF5.

Order matters and is fixed:

1. Real-side structures (``real`` files plus, with ``include_templates``, the templates
   themselves — published or file structures) are labelled (space group, structure type).
2. They are split into test / pretrain / val / train by group (same formula and space group),
   stratified by space group, **before anything else** (:mod:`bxrd.data.splits`).
3. TER runs only on templates in the training splits; with ``isotypes``, every other
   real training structure gets same-charge substituted isotypes
   (:mod:`bxrd.crystal.isotypes`). Virtual structures twinning a held-out structure (same
   formula and space group) are dropped; a fraction goes to validation.
4. Everything is simulated once (stick files, resumable), rendered clean and augmented, and
   written with labels, provenance, splits and the sticks to one HDF5 file; the leak check of
   :func:`bxrd.data.splits.check_no_leak` runs on the result and its findings are printed.

Provenance per pattern: ``structure_id``, ``formula``, ``template_id`` (the structure itself
for real ones), ``source`` (``rss`` real side, ``vss`` TER), ``origin`` (``file``,
``builtin``, ``ter``, ``isotype``), ``split`` and ``augmentation``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pymatgen.core import Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.generated import generated_templates
from bxrd.crystal.io import load_structures, write_structures
from bxrd.crystal.isotypes import IsotypeConfig, run_isotypes
from bxrd.crystal.template import SYMPREC, Template
from bxrd.crystal.ter import TERConfig, run_ter, write_ter
from bxrd.data.labels import (
    IN_LIBRARY_CLASSES,
    OTHER,
    SymmetryLabel,
    keep_most_common,
    structure_types,
    symmetry_label,
)
from bxrd.data.splits import SplitConfig, check_no_leak, held_out_twins, split_groups
from bxrd.data.store import PatternSet, save_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.fileio import atomic_write_text
from bxrd.xrd.augment import AUGMENTATIONS, AugmentConfig, Augmenter, render_clean
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import DEFAULT_SIM_RANGE
from bxrd.xrd.simulate_batch import simulate_to_dir, stick_path
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.sticks import StickPattern

#: Tasks labelled in every dataset.
TASKS: tuple[str, ...] = ("space_group", "structure_type", "in_library")


@dataclass
class BuildConfig:
    """Recipe of a labelled pattern dataset.

    Attributes:
        output: folder for TER structures, stick files and ``dataset.h5``.
        real: real structure files or folders (CIF, mCIF, JSON, CSV with a ``cif`` column);
            their patterns are the RSS. None: only the templates (if included).
        templates: ABX3 structure files or folders used as TER templates; the words
            ``builtin`` and ``generated`` add the built-in literature set and the generated
            tilt-system set (None: the built-in set only).
        include_templates: the templates are real-side structures too (RSS, origin noted).
        ter: template element replacement options.
        isotypes: also make virtual structures of the non-template real training structures
            by same-charge cation substitution (None: off, the paper's protocol).
        split: split fractions and seed.
        n_structure_types: keep this many structure types (most structures, TER included,
            isotypes not counted); the rest is ``other`` and ``in_library = no``.
        min_class_structures: space groups with fewer structures (TER included, isotypes
            not counted) are handled by ``rare``.
        rare: ``other`` merges rare space groups into one class, ``drop`` removes them,
            ``keep`` keeps them (each choice is reported).
        symprec: spglib tolerance for labels, Å.
        wavelength: name or Å.
        grid: output 2θ grid.
        sim_range: simulated 2θ range, degrees (wider than the grid, for strain and shift).
        augment: augmentation options.
        n_augmented: augmented patterns per structure, in addition to one clean pattern.
        clean_size_nm: crystallite size of the clean patterns, nm.
        seed: seed of augmentation.
        n_jobs: parallel simulation workers (-1: all cores).
    """

    output: str = "data/quickstart"
    real: str | list[str] | None = None
    templates: str | list[str] | None = field(default_factory=lambda: ["builtin", "generated"])
    include_templates: bool = True
    ter: TERConfig = field(default_factory=lambda: TERConfig(max_per_template=20))
    isotypes: IsotypeConfig | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    n_structure_types: int = 30
    min_class_structures: int = 1
    rare: Literal["other", "drop", "keep"] = "other"
    symprec: float = SYMPREC
    wavelength: str = "CuKa"
    grid: TwoThetaGrid = field(default_factory=TwoThetaGrid)
    sim_range: tuple[float, float] = DEFAULT_SIM_RANGE
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    n_augmented: int = 4
    clean_size_nm: float = 40.0
    seed: int = 0
    n_jobs: int = -1


@dataclass
class Entry:
    """One structure of the dataset with its labels and provenance."""

    id: str
    structure: Structure
    source: str
    origin: str
    template_id: str
    symmetry: SymmetryLabel
    structure_type: str = OTHER
    split: str = "train"

    @property
    def formula(self) -> str:
        """Reduced formula."""
        return self.structure.composition.reduced_formula


def load_build_config(path: str | Path) -> BuildConfig:
    """Read a ``bxrd data build`` YAML into a :class:`BuildConfig`.

    Raises:
        BxrdInputError: missing file or invalid options (the message names the file).
    """
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(BuildConfig, None)
    try:
        values = parser.instantiate_classes(parser.parse_path(str(path)))
    except Exception as exc:  # jsonargparse raises several types for bad YAML
        raise BxrdInputError(f"{path}: not a valid build config ({exc})") from None
    return BuildConfig(**{f.name: values[f.name] for f in fields(BuildConfig)})


def load_templates(sources: str | list[str] | None) -> tuple[dict[str, Template], list[str]]:
    """Templates from files and/or the built-in set; bad or non-ABX3 files give messages.

    Args:
        sources: None (the built-in set), or files / folders, where the word ``builtin``
            stands for the built-in literature set and ``generated`` for the tilt-system
            templates of :mod:`bxrd.crystal.generated`.
    """
    if sources is None:
        return dict(builtin_templates()), []
    sources = [sources] if isinstance(sources, str) else list(sources)
    templates = dict(builtin_templates()) if "builtin" in sources else {}
    if "generated" in sources:
        templates.update(generated_templates())
    files = [s for s in sources if s not in ("builtin", "generated")]
    messages: list[str] = []
    if files:
        report = load_structures(files)
        messages += [msg for _, msg in report.failures]
        for sid, structure in report.structures.items():
            key = sid if sid not in templates else f"{sid}_file"
            try:
                templates[key] = Template.from_structure(
                    key, structure, "file", str(report.paths[sid])
                )
            except BxrdInputError as exc:
                messages.append(str(exc))
    if not templates:
        raise BxrdInputError(f"no usable ABX3 template in {sources}:\n" + "\n".join(messages))
    return templates, messages


def real_side(
    config: BuildConfig, templates: dict[str, Template]
) -> tuple[dict[str, Entry], list[str]]:
    """Real structures and (optionally) templates as labelled RSS entries; skip messages."""
    entries: dict[str, Entry] = {}
    messages: list[str] = []
    if config.include_templates:
        for t in templates.values():
            label = symmetry_label(t.structure, config.symprec)
            entries[t.id] = Entry(t.id, t.structure, "rss", t.origin, t.id, label)
    if config.real:
        report = load_structures(config.real)
        messages += [msg for _, msg in report.failures]
        for sid, structure in report.structures.items():
            key = sid if sid not in entries else f"{sid}_real"
            try:
                label = symmetry_label(structure, config.symprec)
            except Exception as exc:  # spglib fails on a few broken cells
                messages.append(f"{report.paths[sid]}: no space group ({exc})")
                continue
            entries[key] = Entry(key, structure, "rss", "file", key, label)
    if not entries:
        raise BxrdInputError("no real-side structure: give --real files or include_templates")
    return entries, messages


def assemble(config: BuildConfig) -> tuple[dict[str, Entry], list[str]]:
    """Run steps 1–3 of the module docstring: labelled, split entries and notes."""
    templates, notes = load_templates(config.templates)
    entries, more = real_side(config, templates)
    notes += more
    types = structure_types(
        {k: e.structure for k, e in entries.items()}, {k: e.symmetry for k, e in entries.items()}
    )
    groups = {k: f"{e.formula}|{e.symmetry.number}" for k, e in entries.items()}
    protected = (
        frozenset()
        if config.split.hold_out_templates
        else frozenset(groups[k] for k in entries if k in templates)
    )
    splits, split_notes = split_groups(
        groups, {k: e.symmetry.space_group for k, e in entries.items()}, config.split, protected
    )
    notes += split_notes
    for k, e in entries.items():
        e.structure_type, e.split = types[k], splits[k]
    usable = {
        tid: t
        for tid, t in templates.items()
        if tid not in entries or entries[tid].split in ("train", "pretrain")
    }
    ter = run_ter(usable, config.ter)
    out = Path(config.output)
    write_ter(ter, out / "ter")
    notes.append(ter.summary())
    # (id, structure, parent id, origin) of every virtual structure
    virtual = [(s.id, s.structure, s.template_id, "ter") for s in ter.structures]
    if config.isotypes is not None:
        parents = {
            k: e.structure
            for k, e in entries.items()
            if e.split in ("train", "pretrain") and k not in usable
        }
        iso, skipped = run_isotypes(parents, config.isotypes)
        write_structures(((i.id, i.structure, i.manifest_row()) for i in iso), out / "isotypes")
        atomic_write_text(out / "isotypes" / "skipped.txt", "".join(m + "\n" for m in skipped))
        notes.append(
            f"isotypes: {len(iso)} from {len(parents) - len(skipped)} of {len(parents)} real "
            f"training structures ({len(skipped)} skipped, reasons in isotypes/skipped.txt)"
        )
        virtual += [(i.id, i.structure, i.parent_id, "isotype") for i in iso]
    held = [(e.formula, e.symmetry.number) for e in entries.values() if e.split in ("test", "val")]
    labels = {sid: symmetry_label(st, config.symprec) for sid, st, _, _ in virtual}
    candidates = {
        sid: (st.composition.reduced_formula, labels[sid].number) for sid, st, _, _ in virtual
    }
    twins = held_out_twins(candidates, held)
    if twins:
        notes.append(
            f"dropped {len(twins)} virtual structure(s) identical in formula and space group "
            "to a held-out real structure"
        )
    rng = np.random.default_rng(config.split.seed + 1)
    for sid, structure, parent, origin in virtual:
        if sid in twins:
            continue
        label = labels[sid]
        stype = entries[parent].structure_type if parent in entries else label.prototype_key
        split = "val" if rng.random() < config.split.vss_val_fraction else "train"
        entries[sid] = Entry(sid, structure, "vss", origin, parent, label, stype, split)
    # classes are defined by real and TER structures; isotypes only add to existing ones
    defining = [k for k, e in entries.items() if e.origin != "isotype"]
    _, kept = keep_most_common(
        {k: e.structure_type for k, e in entries.items()}, config.n_structure_types, defining
    )
    for k, e in entries.items():
        e.structure_type = kept[k]
    return entries, notes


def build_dataset(config: BuildConfig, progress: bool = True) -> Path:
    """Run the whole job described by ``config``; print a summary; return the dataset path."""
    t0 = time.perf_counter()
    out = Path(config.output)
    entries, notes = assemble(config)
    t_ter = time.perf_counter() - t0
    meta = {k: {"id": k, "formula": e.formula} for k, e in entries.items()}
    sim = simulate_to_dir(
        {k: e.structure for k, e in entries.items()},
        out / "sticks",
        meta,
        config.wavelength,
        config.sim_range,
        config.n_jobs,
        progress,
    )
    t_sim = time.perf_counter() - t0 - t_ter
    done = [k for k in entries if stick_path(out / "sticks", k).exists()]
    sticks = {k: StickPattern.load(stick_path(out / "sticks", k)) for k in done}
    data = render_set([entries[k] for k in done], sticks, config, notes)
    leaks = check_no_leak(
        data.provenance["split"],
        data.provenance["structure_id"],
        data.provenance["template_id"],
        np.array([a == "none" for a in data.provenance["augmentation"]]),
        data.patterns,
    )
    digest = save_pattern_set(data, out / "dataset.h5")
    t_total = time.perf_counter() - t0
    for note in notes:
        print(note)
    print(sim.summary())
    for task in TASKS:
        print(summary_table(data, task))
    print(
        "leak check: "
        + (
            "no test structure or pattern reaches training"
            if not leaks
            else f"{len(leaks)} problem(s)\n  " + "\n  ".join(leaks[:20])
        )
    )
    size_mb = (out / "dataset.h5").stat().st_size / 1e6
    print(
        f"wrote {out / 'dataset.h5'}: {len(data)} patterns × {data.patterns.shape[1]} points, "
        f"{len(done)} structures, {size_mb:.1f} MB, sha256 {digest[:12]}; "
        f"labelling + splits + TER {t_ter:.1f} s, simulation {t_sim:.1f} s, total {t_total:.1f} s"
    )
    return out / "dataset.h5"


def _space_group_classes(
    entries: list[Entry], config: BuildConfig, notes: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Space-group class names and entry id → class, with rare classes handled per config."""
    counts = Counter(e.symmetry.space_group for e in entries if e.origin != "isotype")
    numbers = {e.symmetry.space_group: e.symmetry.number for e in entries}
    rare = sorted(n for n, c in counts.items() if c < config.min_class_structures)
    if rare and config.rare != "keep":
        notes.append(
            f"space groups with < {config.min_class_structures} structures "
            f"({config.rare}): {', '.join(rare)}"
        )
    elif rare:
        notes.append(f"kept rare space groups (< {config.min_class_structures}): {', '.join(rare)}")
    mapping = {}
    for e in entries:
        name = e.symmetry.space_group
        if name in rare and config.rare != "keep":
            name = OTHER if config.rare == "other" else ""
        mapping[e.id] = name
    names = sorted({n for n in mapping.values() if n and n != OTHER}, key=lambda n: numbers[n])
    if OTHER in mapping.values():
        names.append(OTHER)
    return names, mapping


def render_set(
    entries: list[Entry],
    sticks: dict[str, StickPattern],
    config: BuildConfig,
    notes: list[str] | None = None,
) -> PatternSet:
    """One clean and ``n_augmented`` augmented patterns per structure, labelled for all tasks."""
    notes = [] if notes is None else notes
    sg_names, sg_of = _space_group_classes(entries, config, notes)
    entries = [e for e in entries if sg_of[e.id]]
    renderer = Renderer(
        config.grid, config.wavelength, min_size_nm=min(config.augment.size_range_nm)
    )
    augmenter = Augmenter(renderer, config.augment)
    gen = torch.Generator().manual_seed(config.seed)
    batch = StickBatch.from_patterns([sticks[e.id] for e in entries])
    parts = [render_clean(renderer, batch, config.clean_size_nm)]
    methods = [["none"] * len(entries)]
    for _ in range(config.n_augmented):
        patterns, applied = augmenter(batch, gen)
        parts.append(patterns)
        methods.append(
            [
                "+".join(m for m, on in zip(AUGMENTATIONS, row, strict=True) if on) or "none"
                for row in applied.tolist()
            ]
        )
    owner = np.tile(np.arange(len(entries)), config.n_augmented + 1)
    types = sorted({e.structure_type for e in entries} - {OTHER})
    type_names = types + ([OTHER] if any(e.structure_type == OTHER for e in entries) else [])
    code = {
        "space_group": [sg_names.index(sg_of[e.id]) for e in entries],
        "structure_type": [type_names.index(e.structure_type) for e in entries],
        "in_library": [int(e.structure_type != OTHER) for e in entries],
    }
    rows = {
        "structure_id": [e.id for e in entries],
        "formula": [e.formula for e in entries],
        "template_id": [e.template_id for e in entries],
        "source": [e.source for e in entries],
        "origin": [e.origin for e in entries],
        "split": [e.split for e in entries],
    }
    return PatternSet(
        patterns=torch.cat(parts).numpy(),
        two_theta=config.grid.values,
        wavelength=renderer.wavelength,
        labels={task: np.asarray(c, dtype=np.int64)[owner] for task, c in code.items()},
        classes={
            "space_group": sg_names,
            "structure_type": type_names,
            "in_library": IN_LIBRARY_CLASSES,
        },
        provenance={
            **{k: [v[i] for i in owner] for k, v in rows.items()},
            "augmentation": [m for chunk in methods for m in chunk],
        },
        config=json.loads(json.dumps(asdict(config), default=str)),
        sticks={e.id: sticks[e.id] for e in entries},
    )


def summary_table(data: PatternSet, task: str = "space_group") -> str:
    """Format pattern counts per class and per source/split as a fixed-width table."""
    groups = [
        f"{a}/{b}" for a, b in zip(data.provenance["source"], data.provenance["split"], strict=True)
    ]
    sources = sorted(set(groups))
    counts = Counter(zip(data.labels[task].tolist(), groups, strict=True))
    width = max(len(c) for c in data.classes[task]) + 2
    lines = [f"{task:<{width}}" + "".join(f"{s:>11}" for s in sources) + f"{'total':>10}"]
    for i, name in enumerate(data.classes[task]):
        row = [counts[(i, s)] for s in sources]
        lines.append(f"{name:<{width}}" + "".join(f"{n:>11}" for n in row) + f"{sum(row):>10}")
    totals = [sum(counts[(i, s)] for i in range(len(data.classes[task]))) for s in sources]
    lines.append(f"{'total':<{width}}" + "".join(f"{n:>11}" for n in totals) + f"{sum(totals):>10}")
    return "\n".join(lines)
