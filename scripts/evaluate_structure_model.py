"""The structure model against the experimentally reported structures of ``mp_abx3``.

For every entry with ``synthesized = 1`` that is an ABX3 perovskite — the ``mp_abx3`` rows
of ``data/measured_perovskites.csv`` written by ``scripts/measure_perovskites.py`` (run it
first), which also give which cation is A and the oxidation states: composition-level
facts — prints:

* cells: median absolute error of the volume per formula unit predicted from composition
  alone (tilt system predicted, :func:`bxrd.crystal.structure_model.predict_tilt_system`),
  against the MP cell, for the bare bond-valence model, the calibrated model
  (:mod:`bxrd.crystal.calibration`) cross-validated and in-sample, and today's rule
  a_pc = max(2 (r_B + r_X), √2 (r_A + r_X)) (cubed); the signed error per anion family and
  per A-cation class;
* the same volume error against the experimental refinements among the measured rows
  (COD, AMCSD, literature files, built-in templates), with the committed calibration;
* tilt systems: the fraction whose predicted tilt system has the real space group (manifest,
  symprec 0.1), with the threshold cross-validated, and the confusion table;
* patterns: for the model cell of the composition in the *real* space group (recipe of
  :data:`~bxrd.crystal.structure_model.SPACE_GROUP_RECIPES`, scaled by the out-of-fold
  calibration, strained by the out-of-fold spontaneous-strain law of
  :mod:`bxrd.crystal.strain_model`), the offset (degrees 2θ, Cu Kα, pymatgen XRDCalculator,
  10–80°) of each of the real structure's 10 strongest reflections from the generated
  reflection (≥ 1 % intensity) of the same pseudo-cubic hkl family (|h|, |k|, |l| sorted,
  in the pseudo-cubic axes of :func:`bxrd.crystal.measure.measure`; the nearest one if the
  family is absent, counted as missing), and, as before, from the nearest generated
  reflection; median per structure, then over structures, overall and per real space
  group; also with the generated cell scaled to the real volume.

Cross-validation: formula-grouped 5-fold (:func:`bxrd.crystal.calibration.grouped_folds`,
seed 0); each structure's correction and threshold come from the folds without its formula,
its strain law from the measured rows (every source but the hybrid perovskites) of other
formulas.
``--write-calibration`` stores the constants fitted on all structures (the committed table)::

    PYTHONPATH=. nice -n 10 python scripts/evaluate_structure_model.py [--limit N]
        [--write-calibration] [--no-patterns]
"""

from __future__ import annotations

import argparse
import csv
import math
import warnings
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.core import Structure

from bxrd.crystal.calibration import (
    UNCALIBRATED,
    Calibration,
    fit_tilt_threshold,
    fit_volume_correction,
    grouped_folds,
    write_calibration,
)
from bxrd.crystal.distributions import anion_family
from bxrd.crystal.ions import ion_for, pseudocubic_parameter
from bxrd.crystal.measure import measure
from bxrd.crystal.strain_model import NO_STRAIN, fit_strain_model, samples_from_rows
from bxrd.crystal.structure_model import (
    SPACE_GROUP_RECIPES,
    PerovskiteIons,
    fit_cell,
    predict_tilt_system,
)
from bxrd.errors import BxrdInputError, NotPerovskiteError

ROOT = Path(__file__).resolve().parents[1]
XRD = XRDCalculator("CuKa")
#: Sources of ``measured_perovskites.csv`` that are not experimental refinements.
EXCLUDED_SOURCES = ("mp_abx3", "hybrid_perovskites")
#: A-cation classes of the signed-bias table.
A_CLASSES = {
    "alkali": ("Li", "Na", "K", "Rb", "Cs"),
    "alkaline earth": ("Mg", "Ca", "Sr", "Ba"),
    "rare earth": tuple("Sc Y La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu".split()),
}


def _ions(row: dict, calibration: Calibration | None = None) -> PerovskiteIons:
    charges = tuple(int(q) for q in row["charges"].split("/"))
    return PerovskiteIons.of(row["a"], row["b"], row["x"], charges, calibration)


def fit_bare(job: tuple[dict, dict]) -> dict:
    """Stage 1: bare model cells (a⁺b⁻b⁻ and a⁰a⁰a⁰) of one composition."""
    measured, entry = job
    ions = _ions(measured, UNCALIBRATED)
    radii = [
        ion_for(e, q, r)
        for e, q, r in zip((ions.a, ions.b, ions.x), ions.charges, "ABX", strict=True)
    ]
    # the strain keeps the volume: the volumes and tilts need no strained cell
    pnma, cubic = (fit_cell(ions, g, strain=NO_STRAIN) for g in ("a+b-b-", "a0a0a0"))
    return {
        "file": entry["file"],
        "formula": ions.formula,
        "family": anion_family(ions.x),
        "a_class": next((c for c, m in A_CLASSES.items() if ions.a in m), "other"),
        "space_group": int(entry["spacegroup_number_symprec0.1"]),
        "shannon_disagreement": ions.shannon_disagreement,
        "v_real": float(measured["volume_per_fu"]),
        "v_rule": pseudocubic_parameter(*radii) ** 3 if all(radii) else math.nan,
        "tilt_pnma": pnma.tilt,
        "v_pnma": pnma.volume_per_formula_unit,
        "v_cubic": cubic.volume_per_formula_unit,
    }


def _calibrate(rows: list[dict]) -> Calibration:
    """Constants fitted on ``rows`` (the volume on the predicted system's bare cell)."""
    real = [r["space_group"] == 62 for r in rows if r["space_group"] in (62, 221)]
    tilts = [r["tilt_pnma"] for r in rows if r["space_group"] in (62, 221)]
    threshold = fit_tilt_threshold(tilts, real)
    v = [r["v_pnma"] if r["tilt_pnma"] >= threshold else r["v_cubic"] for r in rows]
    offsets, weight = fit_volume_correction(
        [r["family"] for r in rows],
        [r["shannon_disagreement"] for r in rows],
        [math.log(r["v_real"] / m) for r, m in zip(rows, v, strict=True)],
    )
    return Calibration(offsets, weight, threshold)


def _predict(row: dict, calibration: Calibration) -> tuple[int, float, float]:
    """(space group predicted, volume per f.u., length scale) for one row."""
    tilted = row["tilt_pnma"] >= calibration.tilt_threshold
    v = row["v_pnma"] if tilted else row["v_cubic"]
    corr = calibration.log_volume_correction(row["family"], row["shannon_disagreement"])
    return (62 if tilted else 221), v * math.exp(corr), math.exp(corr / 3)


def cross_validate(rows: list[dict], strain_rows: list[dict], k: int = 5) -> Calibration:
    """Add out-of-fold (``*_cv``), in-sample (``*_in``) and bare predictions to ``rows``.

    ``strain_rows`` are the measured rows the strain law is fitted on (``strain_cv``: on
    those whose formula is not in the fold). Returns the calibration fitted on all rows.
    """
    folds = grouped_folds([r["formula"] for r in rows], k)
    for fold in range(k):
        train = [r for r, f in zip(rows, folds, strict=True) if f != fold]
        cal = _calibrate(train)
        held = {r["formula"] for r, f in zip(rows, folds, strict=True) if f == fold}
        strain = fit_strain_model(
            samples_from_rows(m for m in strain_rows if f"{m['a']}{m['b']}{m['x']}3" not in held)
        )
        for r, f in zip(rows, folds, strict=True):
            if f == fold:
                r["sg_cv"], r["v_cv"], r["scale_cv"] = _predict(r, cal)
                r["strain_cv"] = strain
    full = _calibrate(rows)
    for r in rows:
        r["sg_in"], r["v_in"], _ = _predict(r, full)
        r["sg_bare"], r["v_bare"], _ = _predict(r, UNCALIBRATED)
    return full


def _pc_families(structure: Structure, pattern) -> list[tuple[int, int, int]]:  # noqa: ANN001
    """Pseudo-cubic hkl family (sorted |2h|, |2k|, |2l|) of every reflection of ``pattern``."""
    geo = measure(structure)
    a_pc = float(np.mean(geo.pc_lengths))  # mean B–B distance
    recip = structure.lattice.reciprocal_lattice_crystallographic.matrix
    out = []
    for hkls in pattern.hkls:
        hkl = hkls[0]["hkl"]
        hkl = (hkl[0], hkl[1], hkl[-1])  # hexagonal (h, k, i, l) → (h, k, l)
        q = geo.axes @ (np.asarray(hkl, float) @ recip) * a_pc
        out.append(tuple(sorted(np.abs(np.round(2 * q)).astype(int).tolist())))
    return out


def peak_offsets(real: Structure, generated: Structure) -> tuple[np.ndarray, np.ndarray, int]:
    """(hkl-matched offsets, nearest offsets, missing families) of the real 10 strongest."""
    pr = XRD.get_pattern(real, two_theta_range=(10, 80))
    pg = XRD.get_pattern(generated, two_theta_range=(10, 80))
    top = np.argsort(pr.y)[::-1][:10]
    keep = np.flatnonzero(np.asarray(pg.y) >= 1.0)
    gx = np.asarray(pg.x)[keep]
    nearest = np.array([np.min(np.abs(gx - pr.x[i])) for i in top])
    try:
        fam_r, fam_g = _pc_families(real, pr), _pc_families(generated, pg)
    except NotPerovskiteError:  # no pseudo-cubic frame: every family counts as missing
        fam_r, fam_g = [(-1, -1, -1)] * len(pr.x), [(-2, -2, -2)] * len(pg.x)
    matched, missing = [], 0
    for i in top:
        same = [pg.x[j] for j in keep if fam_g[j] == fam_r[i]]
        if not same:
            missing += 1
            same = list(gx)
        matched.append(np.min(np.abs(np.asarray(same) - pr.x[i])))
    return np.array(matched), nearest, missing


def patterns(job: tuple[dict, Path]) -> dict:
    """Stage 2: peak offsets of the generated cell in the real space group."""
    row, folder = job
    out = {k: math.nan for k in ("offset", "offset_nearest", "offset_real_volume")}
    out["missing"] = 0
    if row["space_group"] not in SPACE_GROUP_RECIPES:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = Structure.from_file(folder / row["file"])
    notation, polar = SPACE_GROUP_RECIPES[row["space_group"]]
    ions = _ions(row["measured"], UNCALIBRATED)
    bare = fit_cell(ions, notation, polar, strain=row["strain_cv"]).structure
    generated = Structure(bare.lattice.matrix * row["scale_cv"], bare.species, bare.frac_coords)
    matched, nearest, out["missing"] = peak_offsets(real, generated)
    out["offset"], out["offset_nearest"] = float(np.median(matched)), float(np.median(nearest))
    at_real = generated.copy()
    at_real.scale_lattice(real.volume / len(real) * len(at_real))
    out["offset_real_volume"] = float(np.median(peak_offsets(real, at_real)[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared/data/structures")
    parser.add_argument("--measured", type=Path, default=ROOT / "data/measured_perovskites.csv")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-calibration", action="store_true")
    parser.add_argument("--no-patterns", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "data/structure_model_eval.csv")
    args = parser.parse_args()
    folder = args.shared / "mp_abx3"
    with open(folder / "manifest.csv") as fh:
        entries = {r["file"]: r for r in csv.DictReader(fh) if r["synthesized"] == "1"}
    with open(args.measured) as fh:
        every = list(csv.DictReader(fh))
    if not every or "strain_a" not in every[0] or "jahn_teller" not in every[0]:
        raise BxrdInputError(
            f"{args.measured}: no strain or jahn_teller columns (written before the strain "
            "law); rerun scripts/measure_perovskites.py"
        )
    measured = [r for r in every if r["source"] == "mp_abx3"]
    strain_rows = [r for r in every if r["source"] != "hybrid_perovskites"]
    jobs = [(m, entries[m["id"]]) for m in measured][: args.limit]
    with Pool(args.workers) as pool:
        rows = pool.map(fit_bare, jobs, chunksize=4)
        for r, (m, _) in zip(rows, jobs, strict=True):
            r["measured"] = m
        full = cross_validate(rows, strain_rows)
        print(f"calibration fitted on all {len(rows)}: {full}")
        if args.write_calibration:
            write_calibration(full, len(rows))
            print("written to bxrd/crystal/tables/structure_model_calibration.csv")
        summarise_cells(rows, len(entries))
        if not args.no_patterns:
            extra = pool.map(patterns, [(r, folder) for r in rows], chunksize=2)
            for r, e in zip(rows, extra, strict=True):
                r.update(e)
            summarise_patterns(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as fh:
        fields = [k for k in rows[0] if k not in ("measured", "strain_cv")]
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    experimental_cells(args.measured)


def experimental_cells(measured_path: Path) -> None:
    """Print the model's volume error against experimental refinements, beside today's rule.

    One row per formula and space group among COD, AMCSD, literature and built-in cells;
    the model with the committed calibration and with none.
    """
    with open(measured_path) as fh:
        rows = [r for r in csv.DictReader(fh) if r["source"] not in EXCLUDED_SOURCES]
    seen, model, bare, rule = set(), [], [], []
    for r in rows:
        if (r["formula"], r["space_group"]) in seen:
            continue
        seen.add((r["formula"], r["space_group"]))
        v = float(r["volume_per_fu"])
        model.append(predict_tilt_system(_ions(r))[1].volume_per_formula_unit / v - 1)
        ions = _ions(r, UNCALIBRATED)
        bare.append(predict_tilt_system(ions, UNCALIBRATED)[1].volume_per_formula_unit / v - 1)
        radii = [
            ion_for(e, q, k)
            for e, q, k in zip((ions.a, ions.b, ions.x), ions.charges, "ABX", strict=True)
        ]
        rule.append(pseudocubic_parameter(*radii) ** 3 / v - 1 if all(radii) else np.nan)
    print(
        f"experimental refinements ({len(model)}): volume/f.u. median |error| calibrated "
        f"{np.median(np.abs(model)):.2%} (signed {np.median(model):+.2%}), bare "
        f"{np.median(np.abs(bare)):.2%} (signed {np.median(bare):+.2%}), today's rule "
        f"{np.nanmedian(np.abs(rule)):.2%}"
    )


def _err(rows: list[dict], key: str) -> np.ndarray:
    return np.array([r[key] / r["v_real"] - 1 for r in rows])


def summarise_cells(rows: list[dict], n_entries: int) -> None:
    """Print volume errors, the signed-bias table and tilt-system agreement."""
    print(f"perovskites: {len(rows)} of {n_entries} synthesized entries")
    print("volume/f.u. vs MP cells, median |error| (signed median):")
    labels = {
        "v_bare": "bare bond-valence model",
        "v_cv": "calibrated, formula-grouped 5-fold CV",
        "v_in": "calibrated, in-sample (committed constants)",
    }
    for key in ("v_bare", "v_cv", "v_in"):
        e = _err(rows, key)
        print(f"  {labels[key]}: {np.median(np.abs(e)):.2%} ({np.median(e):+.2%})")
    rule = _err(rows, "v_rule")
    rule = rule[np.isfinite(rule)]
    print(f"  today's rule: {np.median(np.abs(rule)):.2%} ({rule.size} with radii)")
    print("signed median error by group: n, bare, CV-calibrated")
    for key in ("family", "a_class"):
        for g in sorted({r[key] for r in rows}):
            sub = [r for r in rows if r[key] == g]
            b, c = _err(sub, "v_bare"), _err(sub, "v_cv")
            print(f"  {key}={g}: {len(sub)}, {np.median(b):+.2%}, {np.median(c):+.2%}")
    polymorphs: dict[str, set[int]] = {}
    for r in rows:
        polymorphs.setdefault(r["formula"], set()).add(r["space_group"])
    best = sum(
        max(sum(r["space_group"] == sg for r in rows if r["formula"] == f) for sg in sgs)
        for f, sgs in polymorphs.items()
    )
    print(f"tilt system = real space group ({len(polymorphs)} formulas; a composition-only")
    print(f"  rule can reach at most {best / len(rows):.1%} of entries):")
    for key, label in (
        ("sg_bare", "bare, 4° threshold"),
        ("sg_cv", "threshold CV"),
        ("sg_in", "threshold in-sample"),
    ):
        match = np.mean([r[key] == r["space_group"] for r in rows])
        pred = {r["formula"]: r[key] for r in rows}
        per_formula = np.mean([pred[f] in sgs for f, sgs in polymorphs.items()])
        print(f"  {label}: {match:.1%} of entries; {per_formula:.1%} of formulas")
    counts: dict[tuple[int, int], int] = {}
    for r in rows:
        counts[(r["space_group"], r["sg_cv"])] = counts.get((r["space_group"], r["sg_cv"]), 0) + 1
    print("  confusion (real space group: predicted 62 / 221, CV):")
    for sg in sorted({r["space_group"] for r in rows}):
        print(f"    {sg}: {counts.get((sg, 62), 0)} / {counts.get((sg, 221), 0)}")


def summarise_patterns(rows: list[dict]) -> None:
    """Print the peak-offset numbers of the module docstring."""
    for key, label in (
        ("offset", "hkl-family matched, CV-calibrated volume"),
        ("offset_nearest", "nearest reflection, CV-calibrated volume"),
        ("offset_real_volume", "hkl-family matched, at the real volume"),
    ):
        m = np.array([r[key] for r in rows])
        m = m[np.isfinite(m)]
        print(
            f"10 strongest reflections ({m.size} structures), {label}: median of "
            f"per-structure medians {np.median(m):.3f}° 2θ; {np.mean(m <= 0.3):.1%} ≤ 0.3°"
        )
    missing = sum(r["missing"] for r in rows)
    print(f"  real strong reflections whose pc hkl family the generated cell lacks: {missing}")
    print("  per real space group: n, median offset matched / nearest / at the real volume")
    for sg in sorted({r["space_group"] for r in rows}):
        sub = [r for r in rows if r["space_group"] == sg and np.isfinite(r["offset"])]
        if sub:
            med = [np.median([r[k] for r in sub]) for k in ("offset", "offset_nearest")]
            real = np.median([r["offset_real_volume"] for r in sub])
            print(f"    {sg}: {len(sub)}, {med[0]:.3f} / {med[1]:.3f} / {real:.3f}")


if __name__ == "__main__":
    main()
