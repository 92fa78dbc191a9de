"""Build the stick library of secondary phases and substrates that ``bxrd predict`` checks.

Structures: Materials Project entries of ``shared/data/structures/binaries_mp`` (fractional
coordinates and space group), with the lattice set to the room-temperature experimental cell
(DFT-PBE cells are 0.5–5 % too large for these compounds, c of layered PbI2 and PbO by 4–5 %:
enough to move a line at 2θ = 40° by 0.4–2°, beyond any matching tolerance). Where the
Materials Project ground state is not the polymorph found in films (PbI2: 4H polytype, not
2H; CsI: NaCl type, not CsCl type; PbBr2: a predicted Cmce cell, not cotunnite) the structure
is built from its structure type. Sticks are simulated with
:func:`bxrd.xrd.simulate.simulate_sticks` at Cu Kα1 and stored as d (Å), relative intensity
and hkl (see :mod:`bxrd.xrd.phase_sticks`).
The shipped library was made with::

    python scripts/make_phase_library.py --structures ../shared/data/structures/binaries_mp \
        --output bxrd/checkpoints/phases.npz
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from bxrd.xrd.phase_sticks import CU_KA1, PhaseSticks
from bxrd.xrd.simulate import simulate_sticks

#: Smallest spacing kept, Å (Cu Kα1 reaches it at 2θ ≈ 118°, Mo Kα1 at ≈ 46°).
MIN_D = 0.9
#: Sticks weaker than this (strongest = 100) are not stored.
MIN_INTENSITY = 0.5


@dataclass(frozen=True)
class Phase:
    """One library entry.

    Attributes:
        name: phase name (formula, with the polymorph where needed).
        mp_file: file in the binaries folder whose coordinates are used ("" = built here).
        cell: experimental conventional cell (a, b, c), Å; angles kept from the structure.
        swap: element substitution applied to the Materials Project structure (same type).
        note: where the cell comes from.
    """

    name: str
    mp_file: str
    cell: tuple[float, float, float]
    swap: tuple[tuple[str, str], ...] = ()
    note: str = ""


# Room-temperature cells (ICDD PDF cards / ICSD refinements as commonly quoted).
PHASES = (
    Phase("PbI2", "", (4.557, 4.557, 6.979), note="2H (CdI2 type), P-3m1, PDF 07-0235"),
    Phase("PbBr2", "PbCl2.json", (8.063, 4.771, 9.546), (("Cl", "Br"),), "cotunnite, Pnma"),
    Phase("PbCl2", "PbCl2.json", (7.622, 4.535, 9.045), note="cotunnite, Pnma, PDF 26-1150"),
    Phase("CsI", "", (4.5667,) * 3, note="CsCl type, Pm-3m, PDF 06-0311"),
    Phase("CsBr", "CsBr.json", (4.2953,) * 3, note="CsCl type, PDF 05-0588"),
    Phase("CsCl", "CsCl.json", (4.1230,) * 3, note="CsCl type, PDF 05-0607"),
    Phase("PbO", "PbO.json", (3.9759, 3.9759, 5.0229), note="litharge, P4/nmm, PDF 05-0561"),
    Phase("TiO2 anatase", "TiO2.json", (3.7852, 3.7852, 9.5139), note="anatase, PDF 21-1272"),
    Phase(
        "TiO2 rutile", "SnO2.json", (4.5937, 4.5937, 2.9587), (("Sn", "Ti"),), "rutile, PDF 21-1276"
    ),
    Phase("SnO2", "SnO2.json", (4.7382, 4.7382, 3.1871), note="cassiterite (FTO), PDF 41-1445"),
    Phase("In2O3", "In2O3.json", (10.117,) * 3, note="bixbyite (ITO), PDF 06-0416"),
    Phase("ZnO", "ZnO.json", (3.2498, 3.2498, 5.2066), note="wurtzite, PDF 36-1451"),
    Phase("NiO", "NiO.json", (4.1771,) * 3, note="rock salt, PDF 47-1049"),
    Phase("SnI4", "SnI4.json", (12.273,) * 3, note="Pa-3, PDF 06-0232"),
    Phase("Si", "", (5.4309,) * 3, note="diamond type, PDF 27-1402 (wafer)"),
    Phase("Au", "", (4.0782,) * 3, note="fcc, PDF 04-0784 (electrode)"),
)


def _built(name: str, cell: tuple[float, float, float]) -> Structure:
    """Structures made from their structure type (no suitable Materials Project entry)."""
    a, _, c = cell
    if name == "PbI2":
        lat = Lattice.hexagonal(a, c)
        return Structure.from_spacegroup(
            "P-3m1", lat, ["Pb", "I"], [[0, 0, 0], [1 / 3, 2 / 3, 0.265]]
        )
    if name == "CsI":
        return Structure.from_spacegroup(
            "Pm-3m", Lattice.cubic(a), ["Cs", "I"], [[0] * 3, [0.5] * 3]
        )
    if name == "Si":
        return Structure.from_spacegroup("Fd-3m", Lattice.cubic(a), ["Si"], [[0.0] * 3])
    if name == "Au":
        return Structure.from_spacegroup("Fm-3m", Lattice.cubic(a), ["Au"], [[0.0] * 3])
    raise ValueError(f"no structure type for {name}")


def _from_mp(path: Path, phase: Phase) -> tuple[Structure, str]:
    """Materials Project structure, conventional cell, species swapped, lattice set to ``cell``.

    Cell lengths are assigned by rank (the shortest experimental length to the shortest
    axis), so the axis order of the conventional setting does not matter.
    """
    doc = json.loads(path.read_text())
    s = Structure.from_dict(doc["structure"])
    s = SpacegroupAnalyzer(s, symprec=0.1).get_conventional_standard_structure()
    if phase.swap:
        s.replace_species(dict(phase.swap))
    lat = s.lattice
    order = np.argsort(lat.abc)
    abc = np.empty(3)
    abc[order] = sorted(phase.cell)
    new = Lattice.from_parameters(*abc, *lat.angles)
    return Structure(new, s.species, s.frac_coords), doc["material_id"]


def build(folder: Path) -> PhaseSticks:
    """Simulate every entry of :data:`PHASES` (structures from ``folder``)."""
    names, formulas, sources, groups, rows, cells = [], [], [], [], [], {}
    for ph in PHASES:
        if ph.mp_file:
            s, mp_id = _from_mp(folder / ph.mp_file, ph)
            swap = ", ".join(f"{b} for {a}" for a, b in ph.swap)
            source = mp_id + (f" ({swap})" if swap else "")
        else:
            s, source = _built(ph.name, ph.cell), "structure type " + ph.note.split(",")[0]
        group = SpacegroupAnalyzer(s, symprec=0.01).get_space_group_symbol()
        sticks = simulate_sticks(s, CU_KA1, two_theta_range=(2.0, 120.0))
        keep = (sticks.d >= MIN_D) & (sticks.intensity >= MIN_INTENSITY)
        rows.append((sticks.d[keep], sticks.intensity[keep], sticks.hkl[keep]))
        names.append(ph.name)
        formulas.append(s.composition.reduced_formula)
        sources.append(source)
        groups.append(group)
        cells[ph.name] = {"cell": list(ph.cell), "note": ph.note}
    offsets = np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])])
    return PhaseSticks(
        tuple(names),
        tuple(formulas),
        tuple(sources),
        tuple(groups),
        offsets,
        np.concatenate([r[0] for r in rows]),
        np.concatenate([r[1] for r in rows]),
        np.concatenate([r[2] for r in rows]),
        meta={
            "command": "python " + " ".join(sys.argv),
            "structures": "shared/data/structures/binaries_mp (Materials Project, CC-BY-4.0)",
            "intensity_wavelength": CU_KA1,
            "min_d": MIN_D,
            "min_intensity": MIN_INTENSITY,
            "experimental_cells": cells,
        },
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--structures", required=True, help="the binaries_mp folder")
    p.add_argument("--output", required=True)
    args = p.parse_args()
    library = build(Path(args.structures))
    library.save(args.output)
    size = Path(args.output).stat().st_size
    print(f"{len(library)} phases, {len(library.d)} sticks, {size / 1e3:.1f} kB -> {args.output}")
    for i, name in enumerate(library.names):
        tt, inten, hkl = library.lines(i, CU_KA1)
        top = np.argsort(inten)[::-1][:3]
        strong = ", ".join(f"{''.join(map(str, hkl[j]))} {tt[j]:.2f}°" for j in top)
        print(f"  {name:<13s} {library.space_groups[i]:<9s} {library.sources[i]:<22s} {strong}")


if __name__ == "__main__":
    main()
