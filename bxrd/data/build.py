"""The default data job: templates → TER → simulated sticks → augmented patterns → HDF5.

Every stage writes to its own folder under ``output`` and is resumable: TER output is
rewritten (it takes seconds), stick files that exist are reused, the dataset file is
written atomically at the end.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.io import load_structures
from bxrd.crystal.template import Template
from bxrd.crystal.ter import TERConfig, run_ter, write_ter
from bxrd.data.store import PatternSet, save_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.xrd.augment import METHODS, AugmentConfig, Augmenter, render_clean
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import DEFAULT_SIM_RANGE
from bxrd.xrd.simulate_batch import simulate_to_dir, stick_path
from bxrd.xrd.stick_batch import StickBatch
from bxrd.xrd.sticks import StickPattern


@dataclass
class BuildConfig:
    """Recipe of a labelled pattern dataset built from ABX3 templates.

    Attributes:
        output: folder for TER structures, stick files and ``dataset.h5``.
        templates: structure files or folders used as templates (None: the built-in set).
        ter: template element replacement options.
        wavelength: name or Å.
        grid: output 2θ grid.
        sim_range: simulated 2θ range, degrees (wider than the grid, for strain and shift).
        augment: augmentation options.
        n_augmented: augmented patterns per structure, in addition to one clean pattern.
        clean_size_nm: crystallite size of the clean patterns, nm.
        include_templates: add the templates themselves (source ``template``).
        seed: seed of TER sampling and augmentation.
        n_jobs: parallel simulation workers (-1: all cores).
    """

    output: str = "data/quickstart"
    templates: str | list[str] | None = None
    ter: TERConfig = field(default_factory=lambda: TERConfig(max_per_template=30))
    wavelength: str = "CuKa"
    grid: TwoThetaGrid = field(default_factory=TwoThetaGrid)
    sim_range: tuple[float, float] = DEFAULT_SIM_RANGE
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    n_augmented: int = 4
    clean_size_nm: float = 40.0
    include_templates: bool = True
    seed: int = 0
    n_jobs: int = -1


def load_templates(sources: str | list[str] | None) -> tuple[dict[str, Template], list[str]]:
    """Templates from files (bad or non-ABX3 files are skipped with a message) or built-ins."""
    if sources is None:
        return dict(builtin_templates()), []
    report = load_structures(sources)
    messages = [msg for _, msg in report.failures]
    templates = {}
    for sid, structure in report.structures.items():
        try:
            templates[sid] = Template.from_structure(sid, structure, "file", str(report.paths[sid]))
        except BxrdInputError as exc:
            messages.append(str(exc))
    if not templates:
        raise BxrdInputError(f"no usable ABX3 template in {sources}:\n" + "\n".join(messages))
    return templates, messages


def build_dataset(config: BuildConfig, progress: bool = True) -> Path:
    """Run the whole job described by ``config``; print a summary; return the dataset path."""
    t0 = time.perf_counter()
    out = Path(config.output)
    templates, skipped = load_templates(config.templates)
    for msg in skipped:
        print(f"skipped template {msg}")
    ter = run_ter(templates, config.ter)
    write_ter(ter, out / "ter")
    t_ter = time.perf_counter() - t0

    structures, meta = {}, {}
    if config.include_templates:
        for t in templates.values():
            structures[t.id] = t.structure
            meta[t.id] = _meta(
                t.id, t.structure, t.id, "template", t.space_group_symbol, t.space_group_number
            )
    for s in ter.structures:
        structures[s.id] = s.structure
        meta[s.id] = _meta(
            s.id, s.structure, s.template_id, "ter", s.space_group_symbol, s.space_group_number
        )
    sim = simulate_to_dir(
        structures,
        out / "sticks",
        meta,
        config.wavelength,
        config.sim_range,
        config.n_jobs,
        progress,
    )
    t_sim = time.perf_counter() - t0 - t_ter

    ids = [sid for sid in structures if stick_path(out / "sticks", sid).exists()]
    sticks = [StickPattern.load(stick_path(out / "sticks", sid)) for sid in ids]
    data = render_set(sticks, config)
    digest = save_pattern_set(data, out / "dataset.h5")
    t_total = time.perf_counter() - t0
    print(ter.summary())
    print(sim.summary())
    print(summary_table(data))
    size_mb = (out / "dataset.h5").stat().st_size / 1e6
    print(
        f"wrote {out / 'dataset.h5'}: {len(data)} patterns × {data.patterns.shape[1]} points, "
        f"{size_mb:.1f} MB, sha256 {digest[:12]}; TER {t_ter:.1f} s, simulation {t_sim:.1f} s, "
        f"total {t_total:.1f} s"
    )
    return out / "dataset.h5"


def _meta(sid: str, structure: object, template_id: str, source: str, sg: str, sg_num: int) -> dict:
    return {
        "id": sid,
        "formula": structure.composition.reduced_formula,  # type: ignore[attr-defined]
        "template_id": template_id,
        "source": source,
        "space_group_symbol": sg,
        "space_group_number": sg_num,
    }


def render_set(sticks: list[StickPattern], config: BuildConfig) -> PatternSet:
    """One clean and ``n_augmented`` augmented patterns per stick pattern, labelled."""
    renderer = Renderer(
        config.grid, config.wavelength, min_size_nm=min(config.augment.size_range_nm)
    )
    augmenter = Augmenter(renderer, config.augment)
    gen = torch.Generator().manual_seed(config.seed)
    batch = StickBatch.from_patterns(sticks)
    parts = [render_clean(renderer, batch, config.clean_size_nm)]
    methods = [["none"] * len(sticks)]
    owners = [np.arange(len(sticks))]
    for _ in range(config.n_augmented):
        patterns, applied = augmenter(batch, gen)
        parts.append(patterns)
        methods.append(
            [
                "+".join(m for m, on in zip(METHODS, row, strict=True) if on) or "none"
                for row in applied.tolist()
            ]
        )
        owners.append(np.arange(len(sticks)))
    owner = np.concatenate(owners)
    numbers = sorted({s.meta["space_group_number"] for s in sticks})
    symbol = {s.meta["space_group_number"]: s.meta["space_group_symbol"] for s in sticks}
    code = {n: i for i, n in enumerate(numbers)}
    prov_fields = ("id", "formula", "template_id", "source")
    return PatternSet(
        patterns=torch.cat(parts).numpy(),
        two_theta=config.grid.values,
        wavelength=renderer.wavelength,
        labels={
            "space_group": np.array([code[sticks[i].meta["space_group_number"]] for i in owner])
        },
        classes={"space_group": [f"{symbol[n]} ({n})" for n in numbers]},
        provenance={
            **{
                ("structure_id" if k == "id" else k): [sticks[i].meta[k] for i in owner]
                for k in prov_fields
            },
            "augmentation": [m for chunk in methods for m in chunk],
        },
        config=json.loads(json.dumps(asdict(config), default=str)),
    )


def summary_table(data: PatternSet, task: str = "space_group") -> str:
    """Format counts per class and per source as a fixed-width table."""
    sources = sorted(set(data.provenance["source"]))
    counts = Counter(zip(data.labels[task].tolist(), data.provenance["source"], strict=True))
    width = max(len(c) for c in data.classes[task]) + 2
    lines = [f"{task:<{width}}" + "".join(f"{s:>10}" for s in sources) + f"{'total':>10}"]
    for i, name in enumerate(data.classes[task]):
        row = [counts[(i, s)] for s in sources]
        lines.append(f"{name:<{width}}" + "".join(f"{n:>10}" for n in row) + f"{sum(row):>10}")
    totals = [sum(counts[(i, s)] for i in range(len(data.classes[task]))) for s in sources]
    lines.append(f"{'total':<{width}}" + "".join(f"{n:>10}" for n in totals) + f"{sum(totals):>10}")
    return "\n".join(lines)
