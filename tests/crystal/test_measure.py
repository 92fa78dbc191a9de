import numpy as np
import pytest
from pymatgen.core import Structure

from bxrd.crystal.builtin import builtin_templates
from bxrd.crystal.measure import glazer_symbol, measure
from bxrd.crystal.tilts import TILT_SPACE_GROUPS, tilted_perovskite


def _bxb_angle(structure, b_idx, x_idx, axis_vector):
    """B–X–B angle (degrees) of the X bridging two B along the pseudo-cubic axis closest to
    ``axis_vector``, measured directly from the coordinates (independent of measure)."""
    for i in x_idx:
        nb = sorted(structure.get_neighbors(structure[i], 2.5), key=lambda n: n.nn_distance)
        bs = [n for n in nb if n.index in b_idx][:2]
        v1, v2 = bs[0].coords - structure[i].coords, bs[1].coords - structure[i].coords
        link = bs[1].coords - bs[0].coords
        if abs(np.dot(link, axis_vector)) / np.linalg.norm(link) > 0.95:
            cos = np.dot(v1, v2) / np.linalg.norm(v1) / np.linalg.norm(v2)
            return float(np.degrees(np.arccos(cos)))
    raise AssertionError("no bridging X along that axis")


def test_catio3_pnma_tilts_agree_with_its_b_x_b_angles():
    # Sasaki et al. 1987: Ti–O1–Ti along the in-phase axis is set by the two anti-phase tilts
    # only, 180° − ∠ = 2 √(φ_x² + φ_z²) (GUIDE: φ = (180° − ∠B–X–B)/2 in simple cases).
    t = builtin_templates()["CaTiO3_Pnma"]
    g = measure(t.structure, t.sites)
    assert g.glazer == "a+b-b-"
    plus = g.signs.index("+")
    minus = [k for k in range(3) if k != plus]
    angle = _bxb_angle(t.structure, set(t.sites.b_indices), t.sites.x_indices, g.axes[plus])
    expected = (180.0 - angle) / 2.0
    assert np.hypot(*g.tilts[minus]) == pytest.approx(expected, abs=0.5)
    assert 7.5 < g.tilts[plus] < 10.0 and g.a_displacement == pytest.approx(0.20, abs=0.03)
    assert g.pc_lengths == pytest.approx([3.82, 3.826, 3.826], abs=0.01)


@pytest.mark.parametrize("notation", sorted(TILT_SPACE_GROUPS))
def test_generated_tilt_systems_read_back(notation):
    s = tilted_perovskite("Ca", "Ti", "O", notation, (9.0, 6.0, 3.5))
    g = measure(s)
    assert g.glazer == notation
    assert g.max_tilt == pytest.approx(0.0 if notation == "a0a0a0" else 9.0, abs=0.5)


def test_glazer_prefers_equal_letters_within_tolerance():
    assert glazer_symbol(np.array([9.0, 8.6, 8.6]), ("+", "-", "-")) == "a+b-b-"
    assert glazer_symbol(np.array([9.0, 4.0, 8.0]), ("+", "-", "-")) == "a+b-c-"
    assert glazer_symbol(np.array([0.0, 0.0, 5.0]), ("-", "0", "0")) == "a0a0c-"
    assert glazer_symbol(np.array([9.0, 4.0, 5.0]), ("+", "+", "-")) == ""  # no such system


def test_jahn_teller_distortion_and_polar_offcentring(shared_structures):
    lamno3 = Structure.from_file(shared_structures / "package_literature" / "LaMnO3.mcif")
    g = measure(lamno3)
    # Rodríguez-Carvajal et al. 1998: Mn–O 1.907, 1.968, 2.178 Å, Δ ≈ 33 × 10⁻⁴
    assert g.glazer == "a+b-b-" and g.distortion == pytest.approx(33e-4, rel=0.1)
    bto = builtin_templates()["BaTiO3_P4mm"]
    # Kwei et al. 1993: Ti at z = 0.5224 against the O6 centroid of the cell, ≈ 0.1–0.2 Å
    assert 0.05 < measure(bto.structure, bto.sites).b_offcentre < 0.25
    assert measure(builtin_templates()["SrTiO3_Pm-3m"].structure).b_offcentre < 1e-6
