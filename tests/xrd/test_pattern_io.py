import numpy as np
import pytest

from bxrd.errors import PatternFileError
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import load_patterns, read_pattern, to_grid
from bxrd.xrd.wavelength import resolve_wavelength

GRID = TwoThetaGrid(10.0, 80.0, 0.02)
CU = resolve_wavelength("CuKa")


def peak_file(path, centre=32.0, start=5.0, stop=90.0, step=0.02, fmt="{:.4f} {:.2f}\n", header=""):
    x = np.arange(start, stop, step)
    y = 10 + 1000 * np.exp(-0.5 * ((x - centre) / 0.05) ** 2)
    path.write_text(header + "".join(fmt.format(a, b) for a, b in zip(x, y, strict=True)))
    return path


def test_xy_peak_lands_on_the_grid(tmp_path):
    p = read_pattern(peak_file(tmp_path / "a.xy"), wavelength="CuKa")
    g = to_grid(p, GRID, CU)
    assert g.intensity.shape == (GRID.n_points,)
    assert GRID.values[np.argmax(g.intensity)] == pytest.approx(32.0, abs=0.02)
    assert g.intensity.max() == pytest.approx(1.0)
    assert g.coverage == pytest.approx(1.0)


def test_csv_with_header_and_xye(tmp_path):
    p = read_pattern(
        peak_file(tmp_path / "a.csv", fmt="{},{}\n", header="two_theta,intensity\n"), "CuKa"
    )
    assert len(p) > 1000
    q = read_pattern(peak_file(tmp_path / "b.xye", fmt="{} {} 3.0\n"), "CuKa")
    assert np.allclose(p.intensity, q.intensity)


def test_rruff_header_wavelength_converts_by_bragg(tmp_path):
    mo = resolve_wavelength("MoKa")
    d = 1.9525  # (200) of SrTiO3, Å
    centre = 2 * np.degrees(np.arcsin(mo / (2 * d)))
    path = peak_file(
        tmp_path / "R1.txt",
        centre=centre,
        start=3.0,
        stop=45.0,
        step=0.005,
        fmt="{}, {}\n",
        header=f"##NAMES=Test\n##WAVELENGTH={mo}\n",
    )
    with open(path, "a") as fh:
        fh.write("##END=\n")
    p = read_pattern(path)
    assert p.wavelength == pytest.approx(mo) and p.meta["NAMES"] == "Test"
    g = to_grid(p, GRID, CU, min_coverage=0.3)
    expected = 2 * np.degrees(np.arcsin(CU / (2 * d)))
    assert GRID.values[np.argmax(g.intensity)] == pytest.approx(expected, abs=0.03)


def test_npy_dict_is_read_on_its_grid(tmp_path):
    y = 10 + 1000 * np.exp(-0.5 * ((np.arange(8500) - 2700) / 3.0) ** 2)[None]  # 32.00°
    np.save(tmp_path / "0.npy", {"features": y, "labels230": np.array(61)}, allow_pickle=True)
    with pytest.raises(PatternFileError, match="allow_pickle"):
        read_pattern(tmp_path / "0.npy")
    p = read_pattern(tmp_path / "0.npy", allow_pickle=True)
    assert p.two_theta[np.argmax(p.intensity)] == pytest.approx(
        32.0
    ) and p.wavelength == pytest.approx(CU)
    assert p.meta["labels230"] == 61 and p.wavelength_source == "default"


def test_fixed_width_merged_columns_are_split(tmp_path):
    lines = ["10.0000  88", "10.0496 100", "10.09922709", "10.1489  96"] + [
        f"{10.1985 + 0.0496 * i:7.4f}  50" for i in range(20)
    ]
    (tmp_path / "m.xy").write_text("\r\n".join(lines))
    p = read_pattern(tmp_path / "m.xy", "CuKa")
    assert p.intensity[2] == 2709 and p.two_theta[2] == pytest.approx(10.0992)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("10 1\n11 nan\n" + "".join(f"{12 + i} 1\n" for i in range(20)), "NaN"),
        ("".join(f"{10 + i} 1\n" for i in range(20)) + "15 1\n", "not increasing"),
        ("10 1\n10 2\n" + "".join(f"{11 + i} 1\n" for i in range(20)), "duplicate"),
        ("".join(f"{10 + i} {-100 if i == 3 else 1}\n" for i in range(20)), "negative"),
        ("hello\nworld\n", "no numeric data"),
    ],
)
def test_bad_files_get_one_clear_message(tmp_path, body, message):
    path = tmp_path / "bad.xy"
    path.write_text(body)
    with pytest.raises(PatternFileError, match=message) as err:
        read_pattern(path, "CuKa")
    assert "bad.xy" in str(err.value)


def test_unknown_wavelength_and_poor_overlap(tmp_path):
    path = peak_file(tmp_path / "a.xy")
    with pytest.raises(PatternFileError, match="unknown wavelength 'Xx'"):
        read_pattern(path, "Xx")
    with pytest.raises(PatternFileError, match="unknown wavelength"):
        to_grid(read_pattern(path), GRID, CU)
    narrow = peak_file(tmp_path / "n.xy", start=30.0, stop=35.0)
    with pytest.raises(PatternFileError, match="covers"):
        to_grid(read_pattern(narrow, "CuKa"), GRID, CU)


def test_one_bad_file_does_not_stop_a_folder(tmp_path):
    peak_file(tmp_path / "good.xy")
    (tmp_path / "bad.xy").write_text("1 2\n")
    done, failed = load_patterns(tmp_path, GRID, CU, file_wavelength="CuKa")
    assert len(done) == 1 and len(failed) == 1 and "bad.xy" in failed[0]


def test_shared_measured_patterns_read(tmp_path):
    from tests.conftest import SHARED

    root = SHARED / "patterns"
    if not root.is_dir():
        pytest.skip("shared patterns not present")
    done, failed = load_patterns(root / "thinfilm_perovskites", GRID, CU, file_wavelength="CuKa")
    assert len(done) >= 40
    assert all("covers" in f for f in failed)  # only the two 13.75–14.4° scans


def _two_peaks(x):
    return 10 + sum(1000 * np.exp(-0.5 * ((x - c) / 0.05) ** 2) for c in (25.0, 60.0))


def test_a_gap_in_the_scan_counts_as_not_measured_and_stays_empty(tmp_path):
    x = np.arange(5.0, 90.0, 0.02)
    x = x[(x < 30.0) | (x > 40.0)]  # nothing measured between 30 and 40°
    path = tmp_path / "gap.xy"
    path.write_text("".join(f"{a:.4f} {b:.2f}\n" for a, b in zip(x, _two_peaks(x), strict=True)))
    g = to_grid(read_pattern(path, "CuKa"), GRID, CU)
    assert g.coverage == pytest.approx(60.0 / 70.0, abs=1e-3)  # 10° of 70° not measured
    inside = (GRID.values > 30.05) & (GRID.values < 39.95)
    assert np.all(g.intensity[inside] == 0.0) and g.intensity.max() == pytest.approx(1.0)
    # the same peaks at the same places: the gap changes nothing around them
    for centre in (25.0, 60.0):
        assert g.intensity[np.argmin(abs(GRID.values - centre))] > 0.9


def test_two_short_stretches_far_apart_do_not_pass_for_a_full_scan(tmp_path):
    x = np.concatenate([np.arange(10.0, 12.0, 0.02), np.arange(78.0, 80.0, 0.02)])
    path = tmp_path / "ends.xy"
    path.write_text(
        "".join(f"{a:.4f} {b:.2f}\n" for a, b in zip(x, _two_peaks(x) + x, strict=True))
    )
    with pytest.raises(PatternFileError, match=r"ends\.xy: .*covers 6%.*1 gap\(s\) over 0\.5°"):
        to_grid(read_pattern(path, "CuKa"), GRID, CU)


def test_a_scan_coarser_than_its_reflections_is_refused(tmp_path):
    path = peak_file(tmp_path / "coarse.xy", step=0.5)
    with pytest.raises(
        PatternFileError, match=r"coarse\.xy: 2θ step 0\.5° on the model grid is coarser than 0\.2°"
    ):
        to_grid(read_pattern(path, "CuKa"), GRID, CU)
    assert to_grid(read_pattern(peak_file(tmp_path / "fine.xy", step=0.1), "CuKa"), GRID, CU)
    # fine on the grid, coarse beyond it (a long tail of 1° steps): read
    x = np.concatenate([np.arange(8.0, 82.0, 0.02), np.arange(82.0, 160.0, 1.0)])
    path = tmp_path / "tail.xy"
    path.write_text("".join(f"{a:.4f} {b:.2f}\n" for a, b in zip(x, _two_peaks(x), strict=True)))
    assert to_grid(read_pattern(path, "CuKa"), GRID, CU).coverage == pytest.approx(1.0)
