from bxrd.crystal.distributions import anion_family, load_distributions, ranges_for


def test_committed_table_holds_measured_real_ranges():
    table = load_distributions()
    pnma = table[("oxide", "a+b-b-", 0)]
    # GdFeO3-type oxides: largest tilts ≈ 9–15°, A shifts ≈ 0.1–0.5 Å (e.g. CaTiO3 8.9°, 0.20 Å)
    assert pnma["n"] >= 50
    assert 5.0 < pnma["tilt"].lo < pnma["tilt"].mid < pnma["tilt"].hi < 20.0
    assert 0.0 < pnma["a_shift"].mid < 0.6
    cubic = table[("oxide", "a0a0a0", 0)]
    assert cubic["tilt"].hi == 0.0 and cubic["b_shift"].hi == 0.0


def test_fallback_to_pooled_rows_and_families():
    assert anion_family("Se") == "chalcogenide" and anion_family("Br") == "halide"
    # no measured a0a0c+ halide: the halide tilted pool answers
    assert ranges_for("halide", "a0a0c+", False) == ranges_for("halide", "*", False)
    assert ranges_for("oxide", "a0a0a0", True)["b_shift"].mid > 0.05
