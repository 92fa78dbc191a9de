"""The dataset job: real structures + templates → splits → TER → sticks → patterns → HDF5.

Order matters and is fixed:

1. Real-side structures (``real`` files, ``sources`` with ``side: real``, and, with
   ``include_templates``, the literature / file templates) are labelled (space group,
   structure type, perovskite or not: non-perovskites are reported and routed to ``other``
   / ``no``, or skipped). Generated tilt-system templates are virtual.
2. Real structures are split into test / pretrain / val / train by group (``split.group_by``:
   same formula, or same formula and space group), stratified by space group, **before
   anything else** (:mod:`bxrd.data.splits`).
3. TER runs only on templates in the training splits; with ``isotypes``, every other
   real training structure gets same-charge substituted isotypes
   (:mod:`bxrd.crystal.isotypes`); ``sources`` with ``side: virtual`` (hypothetical DFT
   cells) join them. Virtual structures of a held-out group are dropped; a fraction
   (``vss_val_fraction``) goes to validation.
4. Everything is simulated once (stick files, resumable), rendered clean and augmented;
   training structures whose clean pattern twins a clean test or validation pattern
   (cosine > ``split.near_twin_cosine``) are removed; the result is written with labels,
   provenance, splits and the sticks to one HDF5 file (with ``refit_pool`` the dropped
   virtual structures and twins stay in it as split ``refit``, for a final refit only); the
   leak check of
   :func:`bxrd.data.splits.check_no_leak` runs on it and its findings are printed.

Provenance per pattern: ``structure_id``, ``formula``, ``template_id`` (the structure itself
for real ones), ``source`` (``rss`` real side, ``vss`` virtual), ``origin`` (``file``,
``builtin``, ``generated``, ``ter``, ``isotype``, ``dft``, ``generator``), ``split``,
``augmentation``, ``collection`` (source folder), ``synthesized`` (manifest flag, ``""``
unknown) and ``perovskite`` (``1``/``0``).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pymatgen.core import Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.generated import generated_templates
from bxrd.crystal.generator import GeneratorConfig, run_generator
from bxrd.crystal.io import load_structures, write_structures
from bxrd.crystal.isotypes import IsotypeConfig, run_isotypes
from bxrd.crystal.molecules import has_molecular_cation
from bxrd.crystal.template import SYMPREC, Template
from bxrd.crystal.ter import TERConfig, run_ter, write_ter
from bxrd.data.class_names import IN_LIBRARY_CLASSES, OTHER
from bxrd.data.labels import (
    SymmetryLabel,
    keep_most_common,
    not_perovskite_reason,
    structure_types,
    symmetry_label,
)
from bxrd.data.splits import (
    SplitConfig,
    check_no_leak,
    held_out_twins,
    spectral_near_duplicates,
    split_groups,
)
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
class StructureSource:
    """A folder or file of structures and the side of the dataset it feeds.

    Attributes:
        path: file or folder (CIF + ``manifest.csv``, CSV with a ``cif`` column, pymatgen
            JSON documents); see :mod:`bxrd.crystal.io`.
        side: ``real`` (RSS: split into test / val / train, experimentally reported
            structures) or ``virtual`` (VSS, training only, like TER: hypothetical DFT cells).
        synthesized: keep only structures whose manifest flag is 1 (True) or 0 (False).
        limit: read at most this many structures (drawn at random with ``seed``).
        seed: seed of that draw.
        molecular_cations: ``skip`` leaves out cells with a molecular A cation (H bonded
            to C or N: MA, FA, NH4), whose spglib label is that of one ordered molecule
            orientation, not the disordered average structure a film's pattern shows
            (:mod:`bxrd.crystal.molecules`); each one is reported. ``keep``: labelled as read.
    """

    path: str
    side: Literal["real", "virtual"] = "real"
    synthesized: bool | None = None
    limit: int | None = None
    seed: int = 0
    molecular_cations: Literal["keep", "skip"] = "keep"

    def __post_init__(self) -> None:
        if self.molecular_cations not in ("keep", "skip"):
            raise ValueError(
                f"{self.path}: molecular_cations must be 'keep' or 'skip', "
                f"got {self.molecular_cations!r}"
            )


@dataclass
class BuildConfig:
    """Recipe of a labelled pattern dataset.

    Attributes:
        output: folder for TER structures, stick files and ``dataset.h5``.
        real: real structure files or folders (CIF, mCIF, JSON, CSV with a ``cif`` column);
            their patterns are the RSS. None: only the templates (if included).
        sources: more structure sources, each feeding the real or the virtual side, with
            manifest filters and size limits (:class:`StructureSource`).
        templates: ABX3 structure files or folders used as TER templates; the words
            ``builtin`` and ``generated`` add the built-in literature set and the generated
            tilt-system set (None: the built-in set only).
        include_templates: the templates are real-side structures too (RSS, origin noted).
        ter: template element replacement options.
        isotypes: also make virtual structures of the non-template real training structures
            by same-charge cation substitution (None: off, the paper's protocol).
        generator: also draw virtual perovskites with :mod:`bxrd.crystal.generator`
            (training side only, labelled by spglib like every structure; None: off). A list
            of blocks draws each one, e.g. other systems for halides than for oxides (on the
            command line, ``--generator.<field>`` then sets the last block only).
        split: split fractions and seed.
        n_structure_types: keep this many structure types (most structures, TER included,
            isotypes not counted); the rest is ``other`` and ``in_library = no``.
        non_perovskites: structures that are not ABX3 perovskites
            (:func:`~bxrd.data.labels.not_perovskite_reason`: minerals, binaries, edge-sharing
            frameworks) are ``other`` in the space-group and structure-type tasks and
            ``no`` in the yes/no task (``other``), or left out (``skip``); always reported.
            The one rule judges every structure, whatever its path (file, template,
            generator, DFT source); TER and isotype children share their parent's framework by
            construction and take its verdict (judged themselves when the parent is not an
            entry). So one framework gets one label however it entered the dataset.
        hexagonal_perovskites: the hexagonal polytypes (face-sharing octahedra: 2H BaNiO3
            type, 4H, 6H) are perovskites labelled by their space group (2H: P6_3/mmc, a
            class of the shipped model); False: Bartel et al.'s corner-sharing-only
            definition, they are ``other`` / ``no``.
        min_class_structures: space groups with fewer structures (TER included, isotypes
            not counted) are handled by ``rare``.
        min_class_real: space groups with fewer real-side perovskite structures are handled
            by ``rare`` too (a class must have real structures to test).
        rare: ``other`` merges rare space groups into one class, ``drop`` removes them,
            ``keep`` keeps them (each choice is reported).
        symprec: spglib tolerance for labels, Å.
        wavelength: name or Å.
        grid: output 2θ grid.
        sim_range: simulated 2θ range, degrees (wider than the grid, for strain and shift).
        augment: augmentation options.
        n_augmented: augmented patterns per structure, in addition to one clean pattern.
        clean_size_nm: crystallite size of the clean patterns, nm.
        refit_pool: keep the virtual structures of held-out groups and the structures whose
            clean pattern twins a held-out one in the file, as split ``refit`` instead of
            dropping them: no honest training reads them (train / val / test are as without
            it), a ``data.final_refit`` run trains on them (every CsPbX3 of the generator, say,
            when the formula split holds CsPbX3 out).
        seed: seed of augmentation.
        n_jobs: parallel simulation workers (-1: all cores).
    """

    output: str = "data/quickstart"
    real: str | list[str] | None = None
    sources: list[StructureSource] = field(default_factory=list)
    templates: str | list[str] | None = field(default_factory=lambda: ["builtin", "generated"])
    include_templates: bool = True
    ter: TERConfig = field(default_factory=lambda: TERConfig(max_per_template=20))
    isotypes: IsotypeConfig | None = None
    generator: GeneratorConfig | list[GeneratorConfig] | None = None
    split: SplitConfig = field(default_factory=SplitConfig)
    n_structure_types: int = 30
    non_perovskites: Literal["other", "skip"] = "other"
    hexagonal_perovskites: bool = True
    min_class_structures: int = 1
    min_class_real: int = 0
    rare: Literal["other", "drop", "keep"] = "other"
    symprec: float = SYMPREC
    wavelength: str = "CuKa"
    grid: TwoThetaGrid = field(default_factory=TwoThetaGrid)
    sim_range: tuple[float, float] = DEFAULT_SIM_RANGE
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    n_augmented: int = 4
    clean_size_nm: float = 40.0
    refit_pool: bool = False
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
    perovskite: bool = True
    collection: str = ""
    synthesized: str = ""

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
    """Real structures and (optionally) templates as labelled entries; skip messages.

    Literature and file templates are real-side (RSS); generated tilt-system templates are
    virtual (VSS, training only): they were never measured.
    """
    entries: dict[str, Entry] = {}
    messages: list[str] = []
    if config.include_templates:
        for t in templates.values():
            label = symmetry_label(t.structure, config.symprec)
            side = "vss" if t.origin == "generated" else "rss"
            flag = not_perovskite_reason(t.structure, config.hexagonal_perovskites) is None
            entries[t.id] = Entry(t.id, t.structure, side, t.origin, t.id, label, perovskite=flag)
    sources = [(StructureSource(p), False) for p in _as_list(config.real)]
    sources += [(s, True) for s in config.sources if s.side == "real"]
    for source, prefix in sources:
        entries.update(
            read_source(
                source,
                config.symprec,
                messages,
                set(entries),
                "rss",
                prefix,
                config.hexagonal_perovskites,
            )
        )
    if not entries:
        raise BxrdInputError("no real-side structure: give --real files or include_templates")
    return entries, messages


def _group_key(group_by: str) -> Callable[[str, int], str]:
    """Split-group key of (reduced formula, space-group number) for ``group_by``."""
    if group_by == "formula":
        return lambda formula, number: formula
    return lambda formula, number: f"{formula}|{number}"


def _as_list(value: str | list[str] | None) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def read_source(
    source: StructureSource,
    symprec: float,
    messages: list[str],
    taken: set[str],
    side: str,
    prefix: bool = True,
    hexagonal: bool = True,
) -> dict[str, Entry]:
    """Read one source into labelled entries (``side`` ``rss`` or ``vss``); notes go to messages.

    Ids are the file stems, ``<collection>__<stem>`` with ``prefix`` (so that
    ``mp_abx3/0.cif`` and ``perov5_dft/test.csv`` row 0 never collide); an id already in
    ``taken`` gets ``_real``. Each entry records whether it is a perovskite
    (:func:`~bxrd.data.labels.not_perovskite_reason` with ``hexagonal``); a non-perovskite is
    named in ``messages`` (never silently labelled).
    """
    report = load_structures(source.path, source.synthesized, source.limit, source.seed)
    messages += [msg for _, msg in report.failures]
    entries: dict[str, Entry] = {}
    not_perovskite: list[str] = []
    molecular: list[str] = []
    for sid, structure in report.structures.items():
        meta = report.meta[sid]
        if source.molecular_cations == "skip" and has_molecular_cation(structure):
            molecular.append(f"{report.paths[sid].name} ({structure.composition.reduced_formula})")
            continue
        key = f"{meta['collection']}__{sid}" if prefix else sid
        key = key if key not in taken else f"{key}_real"
        try:
            label = symmetry_label(structure, symprec)
        except Exception as exc:  # spglib fails on a few broken cells
            messages.append(f"{report.paths[sid]}: no space group ({exc})")
            continue
        reason = not_perovskite_reason(structure, hexagonal)
        if reason is not None:
            formula = structure.composition.reduced_formula
            not_perovskite.append(f"{report.paths[sid].name} ({formula}): {reason}")
        origin = "file" if side == "rss" else "dft"
        entries[key] = Entry(
            key,
            structure,
            side,
            origin,
            key,
            label,
            perovskite=reason is None,
            collection=meta["collection"],
            synthesized=meta["synthesized"],
        )
    if molecular:
        messages.append(
            f"{source.path}: left out {len(molecular)} cell(s) with a molecular A cation "
            f"(molecular_cations: skip; their spglib label is one molecule orientation's): "
            + ", ".join(molecular)
        )
    if not_perovskite:
        shown = "\n  ".join(not_perovskite[:10])
        more = f"\n  ... and {len(not_perovskite) - 10} more" if len(not_perovskite) > 10 else ""
        messages.append(
            f"{source.path}: {len(not_perovskite)} of {len(report.structures)} structures are "
            f"not ABX3 perovskites (routed to other / no):\n  {shown}{more}"
        )
    return entries


def generated_entries(
    config: GeneratorConfig | list[GeneratorConfig],
    symprec: float,
    folder: Path,
    notes: list[str],
    hexagonal: bool = True,
    progress: bool = False,
) -> list[Entry]:
    """Return the generator's structures as virtual entries (origin ``generator``).

    They are written to ``folder`` (CIF + ``manifest.jsonl``).

    The label is :func:`~bxrd.data.labels.symmetry_label` at the build's ``symprec`` (as for
    every other structure), never the system asked for; the perovskite flag is
    :func:`~bxrd.data.labels.not_perovskite_reason`'s with ``hexagonal`` (the 2H polytype is
    a perovskite, P6_3/mmc, exactly when it is one for TER children of a 2H template).
    """
    rows = [row for block in _blocks(config) for row in run_generator(block, progress)]
    repeated = [sid for sid, n in Counter(sid for sid, _, _ in rows).items() if n > 1]
    if repeated:  # ids are gen_<formula>_<system>_<position in its block>
        raise BxrdInputError(
            f"generator: blocks draw the same structure ids {repeated[:5]}: give each block "
            "its own compositions or systems"
        )
    write_structures(
        ((sid, s, json.loads(json.dumps({"id": sid, **m}, default=str))) for sid, s, m in rows),
        folder,
    )
    entries = [
        Entry(
            sid,
            s,
            "vss",
            "generator",
            sid,
            symmetry_label(s, symprec),
            perovskite=not_perovskite_reason(s, hexagonal) is None,
        )
        for sid, s, _ in rows
    ]
    counts = Counter(e.symmetry.space_group for e in entries)
    notes.append(
        f"generator: {len(entries)} structures, by spglib space group: "
        + ", ".join(f"{g} {n}" for g, n in counts.most_common())
    )
    return entries


def _blocks(config: GeneratorConfig | list[GeneratorConfig]) -> list[GeneratorConfig]:
    """Return the generator blocks of a recipe (one block or a list)."""
    return [config] if isinstance(config, GeneratorConfig) else list(config)


def _step(progress: bool, what: str, since: float) -> float:
    """Say on stderr that a build step ended and how long it took; return the time now."""
    now = time.perf_counter()
    if progress:
        print(f"build: {what} ({now - since:.0f} s)", file=sys.stderr, flush=True)
    return now


def assemble(config: BuildConfig, progress: bool = False) -> tuple[dict[str, Entry], list[str]]:
    """Run steps 1–3 of the module docstring: labelled, split entries and notes.

    ``progress``: progress bars, and one line on stderr per step as it ends (a large build
    spends most of an hour here).
    """
    t = time.perf_counter()
    templates, notes = load_templates(config.templates)
    entries, more = real_side(config, templates)
    notes += more
    t = _step(progress, f"read {len(entries)} real-side structures and templates", t)
    if config.non_perovskites == "skip":
        skipped = sorted(k for k, e in entries.items() if not e.perovskite)
        entries = {k: e for k, e in entries.items() if e.perovskite}
        if skipped:
            notes.append(f"left out {len(skipped)} non-perovskite structure(s) (skip)")
    types = structure_types(
        {k: e.structure for k, e in entries.items()}, {k: e.symmetry for k, e in entries.items()}
    )
    key_of = _group_key(config.split.group_by)
    real = {k: e for k, e in entries.items() if e.source == "rss"}
    groups = {k: key_of(e.formula, e.symmetry.number) for k, e in real.items()}
    protected = (
        frozenset()
        if config.split.hold_out_templates
        else frozenset(groups[k] for k in real if k in templates)
    )
    splits, split_notes = split_groups(
        groups,
        {k: e.symmetry.space_group if e.perovskite else "non-perovskite" for k, e in real.items()},
        config.split,
        protected,
    )
    notes += split_notes
    for k, e in entries.items():
        e.structure_type = types[k] if e.perovskite else OTHER
        e.split = splits.get(k, "train")
    t = _step(progress, "structure types and formula-grouped splits", t)
    usable = {
        tid: t
        for tid, t in templates.items()
        if tid not in entries or entries[tid].split in ("train", "pretrain")
    }
    ter = run_ter(usable, config.ter, progress)
    out = Path(config.output)
    write_ter(ter, out / "ter")
    summary = ter.summary()
    notes.append(summary)
    t = _step(progress, summary.splitlines()[0], t)
    virtual = [
        Entry(
            s.id,
            s.structure,
            "vss",
            "ter",
            s.template_id,
            symmetry_label(s.structure, config.symprec),
        )
        for s in ter.structures
    ]
    if config.isotypes is not None:
        parents = {
            k: e.structure
            for k, e in entries.items()
            if e.split in ("train", "pretrain") and e.source == "rss" and k not in usable
        }
        iso, skipped = run_isotypes(parents, config.isotypes, progress)
        write_structures(((i.id, i.structure, i.manifest_row()) for i in iso), out / "isotypes")
        atomic_write_text(out / "isotypes" / "skipped.txt", "".join(m + "\n" for m in skipped))
        notes.append(
            f"isotypes: {len(iso)} from {len(parents) - len(skipped)} of {len(parents)} real "
            f"training structures ({len(skipped)} skipped, reasons in isotypes/skipped.txt)"
        )
        virtual += [
            Entry(
                i.id,
                i.structure,
                "vss",
                "isotype",
                i.parent_id,
                symmetry_label(i.structure, config.symprec),
            )
            for i in iso
        ]
        t = _step(progress, f"isotypes: {len(iso)}", t)
    if config.generator is not None:
        made = generated_entries(
            config.generator,
            config.symprec,
            out / "generator",
            notes,
            config.hexagonal_perovskites,
            progress,
        )
        virtual += made
        t = _step(progress, f"generator: {len(made)} structures", t)
    for source in (s for s in config.sources if s.side == "virtual"):
        found = read_source(
            source, config.symprec, notes, set(entries), "vss", True, config.hexagonal_perovskites
        )
        if config.non_perovskites == "skip":
            found = {k: e for k, e in found.items() if e.perovskite}
        virtual += found.values()
        t = _step(progress, f"{source.path}: {len(found)} virtual structures", t)
    held = [
        key_of(e.formula, e.symmetry.number) for e in real.values() if e.split in ("test", "val")
    ]
    candidates = {v.id: key_of(v.formula, v.symmetry.number) for v in virtual}
    twins = held_out_twins(candidates, held)
    if twins:
        notes.append(
            f"{'kept as refit' if config.refit_pool else 'dropped'} {len(twins)} virtual "
            f"structure(s) of a held-out group ({config.split.group_by}) of a test or "
            "validation structure"
        )
    rng = np.random.default_rng(config.split.seed + 1)
    for v in virtual:
        if v.id in entries or (v.id in twins and not config.refit_pool):
            continue
        parent = entries.get(v.template_id)
        if v.origin in ("ter", "isotype") and parent is not None:
            # same framework as the parent by construction: the parent's verdict (the rule
            # judged the parent; judging substituted cells anew misreads e.g. Te on B as X)
            v.perovskite, v.structure_type = parent.perovskite, parent.structure_type
        else:
            if v.origin in ("ter", "isotype"):  # no parent entry: judge the child itself
                reason = not_perovskite_reason(v.structure, config.hexagonal_perovskites)
                v.perovskite = reason is None
            v.structure_type = v.symmetry.prototype_key if v.perovskite else OTHER
        v.split = "val" if rng.random() < config.split.vss_val_fraction else "train"
        if v.id in twins:
            v.split = "refit"
        entries[v.id] = v
    # classes are defined by real and TER structures; isotypes only add to existing ones
    defining = [k for k, e in entries.items() if e.origin != "isotype"]
    _, kept = keep_most_common(
        {k: e.structure_type for k, e in entries.items()}, config.n_structure_types, defining
    )
    for k, e in entries.items():
        e.structure_type = kept[k]
    _step(progress, f"{len(entries)} structures labelled, held-out formulas kept out", t)
    return entries, notes


def build_dataset(config: BuildConfig, progress: bool = True) -> Path:
    """Run the whole job described by ``config``; print a summary; return the dataset path."""
    t0 = time.perf_counter()
    out = Path(config.output)
    entries, notes = assemble(config, progress)
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
    data = drop_near_twins(data, config.split.near_twin_cosine, notes, config.refit_pool)
    _step(progress, f"rendered {len(data)} patterns, near twins dropped", t0 + t_sim + t_ter)
    leaks = check_no_leak(
        data.provenance["split"],
        data.provenance["structure_id"],
        data.provenance["template_id"],
        np.array([a == "none" for a in data.provenance["augmentation"]]),
        data.patterns,
        config.split.near_twin_cosine,
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


def drop_near_twins(
    data: PatternSet, threshold: float, notes: list[str], keep_as_refit: bool = False
) -> PatternSet:
    """Remove structures whose clean pattern twins a clean held-out pattern.

    With ``keep_as_refit`` they stay, moved to split ``refit`` (final refits only).

    Training (and pretrain) structures twinning a test or validation pattern, and validation
    structures twinning a test pattern, are removed: a structure of another formula can still
    give a near-identical pattern (isostructural, similar scatterers) and would leak its
    held-out twin (into training, or into early stopping and calibration).
    """
    split = np.asarray(data.provenance["split"])
    sid = np.asarray(data.provenance["structure_id"])
    clean = np.asarray(data.provenance["augmentation"]) == "none"
    banned: set[str] = set()
    for held, others in ((("test", "val"), ("train", "pretrain")), (("test",), ("val",))):
        h = np.nonzero(np.isin(split, held) & clean)[0]
        t = np.nonzero(np.isin(split, others) & clean & ~np.isin(sid, sorted(banned)))[0]
        pairs = spectral_near_duplicates(data.patterns[h], data.patterns[t], threshold)
        banned |= {sid[t[j]] for _, j, _ in pairs}
    if not banned:
        return data
    notes.append(
        f"{'moved to refit' if keep_as_refit else 'dropped'} {len(banned)} training / "
        f"validation structure(s) whose clean pattern has cosine > {threshold} with a "
        f"held-out pattern: {', '.join(sorted(banned)[:10])}" + (" ..." if len(banned) > 10 else "")
    )
    keep = ~np.isin(sid, sorted(banned))
    if keep_as_refit:
        data.provenance["split"] = np.where(keep, split, "refit").tolist()
        return data
    return PatternSet(
        patterns=data.patterns[keep],
        two_theta=data.two_theta,
        wavelength=data.wavelength,
        labels={k: v[keep] for k, v in data.labels.items()},
        classes=data.classes,
        provenance={
            k: [v for v, m in zip(vals, keep, strict=True) if m]
            for k, vals in data.provenance.items()
        },
        config=data.config,
        sticks={k: v for k, v in data.sticks.items() if k not in banned},
    )


def _space_group_classes(
    entries: list[Entry], config: BuildConfig, notes: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Space-group class names and entry id → class, with rare classes handled per config."""
    perovskites = [e for e in entries if e.perovskite]
    counts = Counter(e.symmetry.space_group for e in perovskites if e.origin != "isotype")
    real = Counter(e.symmetry.space_group for e in perovskites if e.source == "rss")
    numbers = {e.symmetry.space_group: e.symmetry.number for e in entries}
    rare = sorted(
        n
        for n, c in counts.items()
        if c < config.min_class_structures or real[n] < config.min_class_real
    )
    if rare and config.rare != "keep":
        notes.append(
            f"space groups with < {config.min_class_structures} structures or "
            f"< {config.min_class_real} real ones ({config.rare}): {', '.join(rare)}"
        )
    elif rare:
        notes.append(f"kept rare space groups (< {config.min_class_structures}): {', '.join(rare)}")
    mapping = {}
    for e in entries:
        name = e.symmetry.space_group if e.perovskite else OTHER
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
        "in_library": [int(e.perovskite and e.structure_type != OTHER) for e in entries],
    }
    rows = {
        "structure_id": [e.id for e in entries],
        "formula": [e.formula for e in entries],
        "template_id": [e.template_id for e in entries],
        "source": [e.source for e in entries],
        "origin": [e.origin for e in entries],
        "split": [e.split for e in entries],
        "collection": [e.collection for e in entries],
        "synthesized": [e.synthesized for e in entries],
        "perovskite": [str(int(e.perovskite)) for e in entries],
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
