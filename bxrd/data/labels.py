"""Labels of the three tasks: space group, structure type, and 'in the library' (yes/no).

* ``space_group``: spglib number and symbol at ``symprec`` (Å), e.g. ``"Pnma (62)"``.
* ``structure_type``: within each space group, pymatgen's ``StructureMatcher`` with a
  ``FrameworkComparator`` (species ignored, volume scaled) groups structures of one
  framework. A group is named by its first structure (sorted ids) as space group plus Wyckoff
  sequence (the sorted Wyckoff letters of the symmetry-distinct sites, an AFLOW-like label
  such as ``Pnma (62) bccd``), with ``#2``, ``#3``... if two groups would share a name;
  groups are visited largest first, ties by first id, so names are reproducible. The
  ``n_types`` most populous types are kept; all others are labelled :data:`OTHER`.
* ``in_library``: ``"yes"`` for a kept structure type, ``"no"`` otherwise.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pymatgen.analysis.structure_matcher import FrameworkComparator, StructureMatcher
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.crystal.template import SYMPREC

#: Label of everything outside the kept classes.
OTHER = "other"
#: Class names of the yes/no task, index order.
IN_LIBRARY_CLASSES: list[str] = ["no", "yes"]


@dataclass(frozen=True)
class SymmetryLabel:
    """Space group and Wyckoff key of one structure.

    Attributes:
        number: space-group number (1–230).
        symbol: Hermann–Mauguin symbol.
        wyckoff: sorted Wyckoff letters of the symmetry-distinct sites, e.g. ``"bccd"``.
    """

    number: int
    symbol: str
    wyckoff: str

    @property
    def space_group(self) -> str:
        """Class name of the space-group task, e.g. ``"Pnma (62)"``."""
        return f"{self.symbol} ({self.number})"

    @property
    def prototype_key(self) -> str:
        """Space group plus Wyckoff sequence, e.g. ``"Pnma (62) bccd"``."""
        return f"{self.space_group} {self.wyckoff}"


def symmetry_label(structure: Structure, symprec: float = SYMPREC) -> SymmetryLabel:
    """Space group and Wyckoff sequence found by spglib at ``symprec`` (Å)."""
    analyzer = SpacegroupAnalyzer(structure, symprec=symprec)
    data = analyzer.get_symmetry_dataset()
    distinct = sorted(set(data.equivalent_atoms))
    letters = "".join(sorted(data.wyckoffs[i] for i in distinct))
    return SymmetryLabel(data.number, data.international, letters)


def structure_types(
    structures: dict[str, Structure], labels: dict[str, SymmetryLabel]
) -> dict[str, str]:
    """Name the structure type of each structure (see module docstring); id → type name."""
    by_group: dict[int, list[str]] = defaultdict(list)
    for sid in sorted(structures):
        by_group[labels[sid].number].append(sid)
    matcher = StructureMatcher(comparator=FrameworkComparator(), scale=True)
    names: dict[str, str] = {}
    taken: Counter[str] = Counter()
    for number in sorted(by_group):
        groups: list[list[str]] = []
        for sid in by_group[number]:
            home = next((g for g in groups if matcher.fit(structures[g[0]], structures[sid])), None)
            if home is None:
                groups.append([sid])
            else:
                home.append(sid)
        groups.sort(key=lambda g: (-len(g), g[0]))
        for group in groups:
            base = labels[group[0]].prototype_key
            taken[base] += 1
            name = base if taken[base] == 1 else f"{base} #{taken[base]}"
            names.update(dict.fromkeys(group, name))
    return names


def keep_most_common(
    names: dict[str, str], n: int, counted: Iterable[str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Keep the ``n`` most common names (ties by name); others become :data:`OTHER`.

    Args:
        names: id → name.
        n: names to keep.
        counted: the ids whose names are counted (None: all); every id is relabelled.

    Returns:
        The kept names (by decreasing count) and the relabelled mapping.
    """
    ids = names if counted is None else set(counted)
    counts = Counter(names[i] for i in ids)
    kept = [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:n]
    keep = set(kept)
    return kept, {sid: (name if name in keep else OTHER) for sid, name in names.items()}
