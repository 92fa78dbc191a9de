"""Measure tilts, displacements and distortions over the shared real perovskites.

Reads the experimentally reported entries of ``mp_abx3`` (``synthesized = 1``), the
hybrid-perovskite, COD, AMCSD and literature structures of ``../shared/data/structures`` and
the built-in templates; every ABX3 perovskite among them is measured with
:func:`bxrd.crystal.measure.measure`. Writes one row per structure to
``data/measured_perovskites.csv`` (not committed), with its spontaneous strain
(:func:`bxrd.crystal.strain.measure_strain`, empty where the space group has none), and
the distributions the generator samples from to ``bxrd/crystal/tables/perovskite_distributions.csv``
and ``bxrd/crystal/tables/spontaneous_strain.csv`` (committed; the strain table from every
source but the hybrid perovskites)::

    nice -n 10 python scripts/measure_perovskites.py [--shared ../shared/data/structures]
"""

from __future__ import annotations

import argparse
import csv
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.distributions import TABLE_PATH, anion_family, write_distributions
from bxrd.crystal.measure import measure
from bxrd.crystal.sites import identify_abx3_sites
from bxrd.crystal.strain import measure_strain
from bxrd.crystal.strain_model import (
    COMPONENTS,
    fit_strain_model,
    samples_from_rows,
    write_strain_model,
)
from bxrd.crystal.strain_model import TABLE_PATH as STRAIN_TABLE_PATH
from bxrd.crystal.structure_model import PerovskiteIons
from bxrd.crystal.template import space_group_of
from bxrd.errors import BxrdInputError

ROOT = Path(__file__).resolve().parents[1]


def real_structures(shared: Path) -> list[tuple[str, str, Structure]]:
    """(source, id, structure) of every candidate file."""
    found: list[tuple[str, str, Structure]] = []
    with open(shared / "mp_abx3" / "manifest.csv") as fh:
        for row in csv.DictReader(fh):
            if row["synthesized"] == "1":
                found.append(
                    ("mp_abx3", row["file"], Structure.from_file(shared / "mp_abx3" / row["file"]))
                )
    for folder in ("hybrid_perovskites", "cod_one_per_spacegroup", "cod_catio3", "amcsd"):
        for path in sorted((shared / folder).glob("*.cif")):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    s = Structure.from_file(path)
            except Exception:  # unreadable CIFs are skipped; they are not perovskites here
                continue
            if len(s.composition.elements) == 3 and s.is_ordered:
                found.append((folder, path.name, s))
    lit = shared / "package_literature"
    for path in sorted(lit.glob("*.cif")) + sorted(lit.glob("*.mcif")):
        found.append(("package_literature", path.name, Structure.from_file(path)))
    for tid, t in builtin_templates().items():
        found.append(("builtin", tid, t.structure))
    return found


def measure_all(shared: Path) -> list[dict]:
    """One row per perovskite that could be measured."""
    rows = []
    for source, sid, structure in real_structures(shared):
        try:
            sites = identify_abx3_sites(structure, name=sid)
            geo = measure(structure, sites)
        except (BxrdInputError, ValueError):
            continue
        ions = PerovskiteIons.of(
            sites.a, sites.b, sites.x, (sites.a_charge, sites.b_charge, sites.x_charge)
        )
        tilts = np.sort(geo.tilts)[::-1]
        try:
            lengths = measure_strain(structure)[1].lengths
            strain_columns = {
                f"strain_{c}": round(v, 5) for c, v in zip(COMPONENTS, lengths, strict=True)
            }
        except (KeyError, ValueError):  # no ideal cell (or monoclinic, triclinic), or a
            # conventional cell that is not the ideal one's
            strain_columns = {f"strain_{c}": "" for c in COMPONENTS}
        rows.append(
            {
                "source": source,
                "id": sid,
                "formula": structure.composition.reduced_formula,
                "a": sites.a,
                "b": sites.b,
                "x": sites.x,
                "charges": "/".join(str(q) for q in ions.charges),
                "family": anion_family(sites.x),
                "space_group": space_group_of(structure)[0],
                "glazer": geo.glazer,
                "polar": int(geo.b_offcentre > 0.05),
                "tolerance": round(ions.tolerance or float("nan"), 4),
                "bv_tolerance": round(ions.bv_tolerance, 4),
                "tilt_1": round(float(tilts[0]), 3),
                "tilt_2": round(float(tilts[1]), 3),
                "tilt_3": round(float(tilts[2]), 3),
                "a_displacement": round(geo.a_displacement, 4),
                "b_offcentre": round(geo.b_offcentre, 4),
                "distortion": round(geo.distortion, 6),
                "volume_per_fu": round(geo.volume_per_fu, 3),
                "mean_bx": round(geo.mean_bx, 4),
                "jahn_teller": int(ions.jahn_teller),
                **strain_columns,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared/data/structures")
    parser.add_argument("--rows", type=Path, default=ROOT / "data/measured_perovskites.csv")
    args = parser.parse_args()
    rows = measure_all(args.shared)
    args.rows.parent.mkdir(parents=True, exist_ok=True)
    with open(args.rows, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = write_distributions(rows, TABLE_PATH)
    strain = fit_strain_model(
        samples_from_rows(r for r in rows if r["source"] != "hybrid_perovskites")
    )
    write_strain_model(strain, STRAIN_TABLE_PATH)
    print(f"measured {len(rows)} perovskites -> {args.rows}")
    print(f"spontaneous strain: {len(strain.rows)} space groups -> {STRAIN_TABLE_PATH}")
    for number, row in strain.rows.items():
        print(number, row)
    print(f"distributions: {len(table)} rows -> {TABLE_PATH}")
    for r in table:
        print(r)


if __name__ == "__main__":
    main()
