"""Strata of training structures that the training stream balances within a class.

A class such as Pm-3m is made mostly of oxides (a ≈ 3.9–4.1 Å, first line near 22° 2θ with
Cu Kα), while the generator's polar and tilted halide classes (P4mm, Amm2, P4/mbm) are made
mostly of halides (a ≈ 5.6–6.3 Å, first line near 14°). Drawn in proportion to their
structures, a halide pattern is then far more often P4mm than Pm-3m in training, and an
ambiguous halide pattern (a textured film showing only its (h00) lines) is called P4mm.
Drawing the anion uniformly within a class removes that dependence on how many structures
each anion has in each class. The strata are anion families (:data:`FAMILIES`): lattice
scale follows them (O and F ≈ 4 Å; Cl, Br, I ≈ 5.6–6.3 Å; S, Se, Te in between).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymatgen.core import Composition

#: Elements read as the anion X, when present.
ANIONS: tuple[str, ...] = ("F", "Cl", "Br", "I", "O", "S", "Se", "Te", "N")
#: Stratum of each anion; any other (N, H, none) is ``"other"``.
FAMILIES: dict[str, str] = {
    "O": "oxide",
    "F": "fluoride",
    "Cl": "halide",
    "Br": "halide",
    "I": "halide",
    "S": "chalcogenide",
    "Se": "chalcogenide",
    "Te": "chalcogenide",
}


def anion(formula: str) -> str:
    """Return the anion of a formula: its most abundant element of :data:`ANIONS`.

    N is no anion beside C (an organic cation such as methylammonium). ``"none"`` when there
    is none (an element, an intermetallic). Ties go to the element first in :data:`ANIONS`.

    >>> anion("CsPbI3"), anion("BaTiO2N"), anion("H672C576I8N96"), anion("Si")
    ('I', 'O', 'I', 'none')
    """
    amounts = Composition(formula).get_el_amt_dict()
    if "C" in amounts:
        amounts.pop("N", None)
    found = [(amounts[x], -i, x) for i, x in enumerate(ANIONS) if amounts.get(x, 0) > 0]
    return max(found)[2] if found else "none"


def anion_strata(formulas: Sequence[str]) -> np.ndarray:
    """Stratum index per formula (its anion's family, in sorted order of names), shape (N,)."""
    names = [FAMILIES.get(anion(f), "other") for f in formulas]
    _, codes = np.unique(np.asarray(names), return_inverse=True)
    return codes.astype(np.int64)
