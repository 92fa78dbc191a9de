import numpy as np
import pytest

from bxrd.crystal.bond_valence import (
    global_instability_index,
    ideal_bond_length,
    r0,
    structure_bond_valence_sums,
)


def test_ideal_bond_and_sums_of_cubic_srtio3(srtio3):
    # SrTiO3: Ti–O = a/2 = 1.9525 Å carries ≈ 4/6 v.u. each
    assert ideal_bond_length("Ti", 4, "O", -2, 6) == pytest.approx(3.905 / 2, rel=0.01)
    table = {("Sr", "O"): r0("Sr", 2, "O", -2, "A"), ("Ti", "O"): r0("Ti", 4, "O", -2)}
    charges = [{"Sr": 2, "Ti": 4, "O": -2}[s.specie.symbol] for s in srtio3]
    bvs = structure_bond_valence_sums(srtio3, charges, table)
    assert bvs == pytest.approx(np.abs(charges), rel=0.06)
    assert global_instability_index(bvs, charges) < 0.1
    # a 2 % larger cell under-bonds every ion: GII grows
    big = srtio3.copy()
    big.scale_lattice(srtio3.volume * 1.02**3)
    assert global_instability_index(
        structure_bond_valence_sums(big, charges, table), charges
    ) > global_instability_index(bvs, charges)


def test_shannon_fallback_reproduces_radii_sum():
    # Pm has no bond-valence parameters: R = r(Pm3+, XII) + r(O2-) with 12 bonds
    from bxrd.crystal.ions import ion_for

    expected = ion_for("Pm", 3, "A").radius + ion_for("O", -2, "X").radius
    assert ideal_bond_length("Pm", 3, "O", -2, 12, "A") == pytest.approx(expected)
