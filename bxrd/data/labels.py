"""Labels of the three tasks: space group, structure type, and 'in the library' (yes/no).

* ``space_group``: spglib number and symbol at ``symprec`` (Å), e.g. ``"Pnma (62)"``.
* ``structure_type``: within each space group, pymatgen's ``StructureMatcher`` with a
  ``FrameworkComparator`` (species ignored, volume scaled) groups structures of one
  framework. A group is named by its first structure (sorted ids) as space group plus Wyckoff
  sequence (the sorted Wyckoff letters of the symmetry-distinct sites, an AFLOW-like label
  such as ``Pnma (62) bccd``), with ``#2``, ``#3``... if two groups would share a name;
  groups are visited largest first, ties by first id, so names are reproducible. The
  ``n_types`` most populous types are kept; all others are labelled :data:`OTHER`.
* ``in_library``: ``"yes"`` for a kept structure type of a perovskite, ``"no"`` otherwise.
* :func:`not_perovskite_reason` tells ABX3 perovskites (the package's domain: corner-sharing
  frameworks and, unless switched off, the hexagonal polytypes 2H / 4H / 6H whose octahedra
  share faces) from everything else (minerals, binaries, ilmenites, edge-sharing frameworks
  such as δ-CsPbI3); the build applies it to every structure, whatever its path (file,
  template, TER or isotype child, generator), routes non-perovskites to ``other`` / ``no``
  and reports them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pymatgen.analysis.structure_matcher import FrameworkComparator, StructureMatcher
from pymatgen.core import Composition, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.crystal.template import SYMPREC
from bxrd.data.class_names import OTHER


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


#: Elements that can be the X (anion) site of a perovskite.
ANIONS: frozenset[str] = frozenset({"O", "S", "Se", "Te", "F", "Cl", "Br", "I", "N"})
#: The 7th-nearest X of an octahedral B is at least this factor farther than the 6th.
OCTAHEDRAL_GAP = 1.15
#: Neighbour search radius, Å.
CUTOFF = 5.0


#: Total occupancy below which a site is a fraction of a smeared atom (see
#: :func:`not_perovskite_reason`); A-site vacancies of real oxides (La2/3TiO3: 0.67) stay above.
SMEARED = 0.5


def _majority_element(composition: Composition) -> str:
    """Symbol of the element with the largest occupancy on a (possibly disordered) site."""
    top = max(composition, key=composition.get)
    return getattr(top, "element", top).symbol


def not_perovskite_reason(structure: Structure, hexagonal: bool = True) -> str | None:
    """Why ``structure`` is not an ABX3 perovskite; None when it is one.

    A perovskite here has:

    * anions X (O, S, Se, Te, halogens; N unless the cell holds H, i.e. a molecular cation;
      H when there is no other anion: hydride perovskites such as CsCaH3);
    * B cations, each with six nearest X and the seventh at least ``OCTAHEDRAL_GAP`` times
      farther (ferroelectric off-centring, 1.6 vs 2.5 Å, still counts as six), taken in
      order of shortest mean B–X bond until n_B : n_X = 1 : 3 exactly (so double perovskites
      with two B elements pass; ilmenite and LiNbO3, all cations octahedral, do not);
    * every X bonded to exactly two B, and no two BX6 octahedra sharing an edge (two X);
      with ``hexagonal`` two octahedra may share a face (three X): the hexagonal perovskite
      polytypes (2H BaNiO3 type, face-sharing chains; 4H, 6H mixing faces and corners), which
      the shipped model's label set keeps as their space group (2H: P6_3/mmc). Without it,
      corners only (Bartel et al. 2019's definition: hexagonal polytypes are
      non-perovskites);
    * at least one other atom (A; ReO3-type ScF3 is no perovskite), every one except H
      farther from its nearest X than the mean B–X bond (A sits
      in the cavity: calcite, whose C–O bond is short, is no perovskite).

    Molecular A cations (MA, FA) are any non-B atoms, so hybrid perovskites pass. Sites less
    than :data:`SMEARED` occupied are fractions of a smeared atom (an orientation-averaged
    molecule, :func:`bxrd.crystal.molecules.orientation_averaged`), not where an atom sits:
    they count as A atoms but not in the cavity test.
    """
    species = [_majority_element(site.species) for site in structure]
    anions = ANIONS - ({"N"} if "H" in species else set())
    if not anions & set(species):
        anions = {"H"}  # hydride perovskites (CsCaH3)
    is_x = np.array([s in anions for s in species])
    if not is_x.any():
        return "no anion (O, S, Se, Te, N or halogen)"
    centre, neighbour, images, dist = structure.get_neighbor_list(CUTOFF)
    to_x = is_x[neighbour] & ~is_x[centre]
    bonded = np.zeros(len(centre), dtype=bool)
    octahedral = np.zeros(len(species), dtype=bool)
    nearest = np.full(len(species), np.inf)
    for i in np.nonzero(~is_x)[0]:
        rows = np.nonzero(to_x & (centre == i))[0]
        rows = rows[np.argsort(dist[rows])]
        if len(rows):
            nearest[i] = dist[rows[0]]
        if len(rows) < 6:
            continue
        d7 = dist[rows[6]] if len(rows) > 6 else CUTOFF
        if d7 >= OCTAHEDRAL_GAP * dist[rows[5]]:
            octahedral[i] = True
            bonded[rows[:6]] = True
    candidates = []
    for el in sorted({s for s, x in zip(species, is_x, strict=True) if not x}):
        rows = np.array([s == el for s in species])
        if octahedral[rows].all():
            mean = float(np.mean(dist[bonded & rows[centre]]))
            candidates.append((mean, el, int(rows.sum())))
    n_x, n_b, b_elements = int(is_x.sum()), 0, set()
    for _, el, count in sorted(candidates):
        if 3 * n_b >= n_x:
            break
        n_b += count
        b_elements.add(el)
    if 3 * n_b != n_x:
        return f"no set of octahedral B cations with n_B : n_X = 1 : 3 ({n_x} X atoms)"
    is_b = np.array([s in b_elements for s in species])
    bond = bonded & is_b[centre]
    mean_bx = float(dist[bond].mean())
    rest = ~is_x & ~is_b & np.array([s != "H" for s in species])
    if not rest.any():
        return "no A cation (a ReO3-type BX3 framework)"
    smeared = np.array([site.species.num_atoms < SMEARED for site in structure])
    if np.any(nearest[rest & ~smeared] < mean_bx):
        return "a non-B atom sits closer to X than the B–X bond (no A-site cavity)"
    per_x = np.bincount(neighbour[bond], minlength=len(species))
    if np.any(per_x[is_x] != 2):
        return "an X atom is not shared by exactly two BX6 octahedra (not corner-sharing)"
    # X atoms of each octahedron, as (X index, image), and the octahedra around each X
    x_of: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
    for b, x, img in zip(centre[bond], neighbour[bond], images[bond], strict=True):
        x_of.setdefault(int(b), []).append((int(x), tuple(int(v) for v in img)))
    b_of_x: dict[int, list[tuple[int, tuple[int, ...]]]] = {}
    for b, xs in x_of.items():
        for x, img in xs:
            b_of_x.setdefault(x, []).append((b, tuple(-v for v in img)))
    for b, xs in x_of.items():
        shared: Counter[tuple[int, tuple[int, ...]]] = Counter()
        for x, img in xs:
            for b2, img2 in b_of_x[x]:
                other = (b2, tuple(i + j for i, j in zip(img, img2, strict=True)))
                if other != (b, (0, 0, 0)):
                    shared[other] += 1
        if 2 in shared.values():
            return "BX6 octahedra share edges (not a perovskite framework)"
        if not hexagonal and shared and max(shared.values()) > 1:
            return "BX6 octahedra share faces (a hexagonal polytype, not corner-sharing)"
    return None
