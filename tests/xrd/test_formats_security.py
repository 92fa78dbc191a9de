"""Untrusted pattern files never run code and never exhaust the machine (issue 23), and the
silent-answer cases of measured files (decimal commas, a lone spike, dropped points)."""

import os
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from bxrd.errors import PatternFileError
from bxrd.xrd.formats import ReadLimits
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import load_patterns, read_pattern, read_patterns, to_grid
from bxrd.xrd.wavelength import resolve_wavelength

CU = resolve_wavelength("CuKa")


class _Payload:
    """Pickles as a call of os.system that creates a file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


def evil_npy(path, target):
    arr = np.empty((), dtype=object)
    arr[()] = {"features": np.ones((1, 100)), "x": _Payload(target)}
    np.save(path, arr, allow_pickle=True)
    return path


def test_pickled_npy_that_would_create_a_file_is_refused_without_creating_it(tmp_path):
    target = tmp_path / "pwned"
    path = evil_npy(tmp_path / "evil.npy", target)
    with pytest.raises(PatternFileError, match="allow_pickle") as err:
        read_pattern(path)
    assert "evil.npy" in str(err.value) and not target.exists()
    # allow_pickle reads numpy arrays and containers only: the payload is still refused
    with pytest.raises(PatternFileError, match="refers to posix.system|refers to os.system"):
        read_pattern(path, allow_pickle=True)
    assert not target.exists()
    done, failed = load_patterns(tmp_path, TwoThetaGrid(), CU, allow_pickle=True)
    assert done == [] and len(failed) == 1 and not target.exists()


def test_rruff_style_dict_is_read_with_allow_pickle_only(tmp_path):
    y = 10 + 1000 * np.exp(-0.5 * ((np.arange(8500) - 2700) / 3.0) ** 2)[None]
    np.save(tmp_path / "R1.npy", {"features": y, "labels230": np.int64(61)}, allow_pickle=True)
    with pytest.raises(PatternFileError, match="convert_npy"):
        read_pattern(tmp_path / "R1.npy")
    p = read_pattern(tmp_path / "R1.npy", allow_pickle=True)
    assert p.meta["labels230"] == 61 and p.two_theta[np.argmax(p.intensity)] == pytest.approx(32.0)


def test_converted_npz_is_read_without_pickle(tmp_path):
    from bxrd.xrd.formats.npy import convert_to_npz

    y = 10 + 1000 * np.exp(-0.5 * ((np.arange(8500) - 2700) / 3.0) ** 2)[None]
    np.save(tmp_path / "R1.npy", {"features": y, "labels230": np.int64(61)}, allow_pickle=True)
    out = convert_to_npz(tmp_path / "R1.npy", tmp_path / "out" / "R1.npz")
    with zipfile.ZipFile(out) as z:
        assert sorted(z.namelist()) == ["features.npy", "labels230.npy"]
    p = read_pattern(out)
    assert p.meta["labels230"] == 61 and np.allclose(p.intensity, y.ravel())
    with pytest.raises(PatternFileError):  # the converter does not run payloads either
        convert_to_npz(evil_npy(tmp_path / "e.npy", tmp_path / "pwned"), tmp_path / "e.npz")
    assert not (tmp_path / "pwned").exists()


def test_shared_rruff_through_the_documented_routes(tmp_path):
    from tests.conftest import SHARED

    folder = SHARED / "patterns/rruff_minerals"
    if not folder.is_dir():
        pytest.skip("shared RRUFF patterns not present")
    files = sorted(folder.glob("*.npy"))[:5]
    for f in files:
        with pytest.raises(PatternFileError, match="allow_pickle"):
            read_pattern(f)
        p = read_pattern(f, allow_pickle=True)
        assert len(p) == 8500 and "labels230" in p.meta
    from bxrd.xrd.formats.npy import convert_to_npz

    q = read_pattern(convert_to_npz(files[0], tmp_path / "r.npz"))
    assert np.array_equal(q.intensity, read_pattern(files[0], allow_pickle=True).intensity)


BILLION_LAUGHS = (
    """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
"""
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + """]>
<xrdMeasurements><xrdMeasurement><scan><dataPoints><counts>&lol9;</counts></dataPoints></scan>
</xrdMeasurement></xrdMeasurements>"""
)


def test_billion_laughs_xrdml_is_refused_quickly(tmp_path):
    path = tmp_path / "lol.xrdml"
    path.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(PatternFileError, match="entities") as err:
        read_patterns(path)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "lol.xrdml" in str(err.value)
    assert elapsed < 1.0 and peak < 20 * 2**20


def test_external_entity_is_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("1 2 3")
    path = tmp_path / "xxe.xrdml"
    path.write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]>'
        "<xrdMeasurements><xrdMeasurement><scan><dataPoints><counts>&e;</counts>"
        "</dataPoints></scan></xrdMeasurement></xrdMeasurements>"
    )
    with pytest.raises(PatternFileError, match="entities or external"):
        read_patterns(path)


def zip_bomb(path, member, mib):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open(member, "w", force_zip64=True) as fh:
            chunk = b"0" * 2**20
            for _ in range(mib):
                fh.write(chunk)
    return path


@pytest.mark.parametrize(
    ("name", "member"),
    [("bomb.rasx", "Data0/Profile0.txt"), ("bomb.brml", "Experiment0/DataContainer.xml")],
)
def test_zip_bomb_is_refused_quickly_with_bounded_memory(tmp_path, name, member):
    path = zip_bomb(tmp_path / name, member, 64)
    assert path.stat().st_size < 2**20  # 64 MiB of data in < 1 MiB
    limits = ReadLimits(max_member_bytes=8 * 2**20)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(PatternFileError, match="max_member_bytes") as err:
        read_patterns(path, limits=limits)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert name in str(err.value) and member in str(err.value)
    assert elapsed < 1.0 and peak < 16 * 2**20


def test_zip_with_too_many_members_is_refused(tmp_path):
    path = tmp_path / "many.rasx"
    with zipfile.ZipFile(path, "w") as z:
        for i in range(50):
            z.writestr(f"Data{i}/Profile{i}.txt", "10 1 1\n")
    with pytest.raises(PatternFileError, match="50 members.*max_zip_members"):
        read_patterns(path, limits=ReadLimits(max_zip_members=20))


def test_oversized_file_and_too_many_points_name_the_limit(tmp_path):
    path = tmp_path / "big.xy"
    path.write_text("".join(f"{10 + 0.01 * i:.2f} {100 + i % 7}\n" for i in range(5000)))
    with pytest.raises(PatternFileError, match="over the limit of .*max_file_bytes") as err:
        read_pattern(path, "CuKa", limits=ReadLimits(max_file_bytes=10_000))
    assert "big.xy" in str(err.value)
    with pytest.raises(PatternFileError, match="more than 1,000 data points.*max_points"):
        read_pattern(path, "CuKa", limits=ReadLimits(max_points=1000))
    assert len(read_pattern(path, "CuKa")) == 5000  # default limits read it


# ---------------------------------------------------------------- issue 16, item 9
def peak_lines(sep="\t", decimal=","):
    x = np.arange(10.0, 80.0, 0.02)
    y = 100 + 5000 * np.exp(-0.5 * ((x - 32.0) / 0.05) ** 2)
    return [f"{a:.2f}{sep}{b:.1f}".replace(".", decimal) for a, b in zip(x, y, strict=True)]


@pytest.mark.parametrize("sep", ["\t", " ", ";"])
def test_decimal_comma_files_are_read_correctly(tmp_path, sep):
    path = tmp_path / "comma.txt"
    path.write_text("2Theta;Intensity\n" + "\n".join(peak_lines(sep)))
    p = read_pattern(path, "CuKa")
    assert len(p) == 3500 and p.two_theta[1] == pytest.approx(10.02)
    assert p.two_theta[np.argmax(p.intensity)] == pytest.approx(32.0)
    assert p.intensity.max() == pytest.approx(5100.0)


def test_decimal_commas_with_comma_separators_get_a_clear_message(tmp_path):
    path = tmp_path / "comma.csv"
    path.write_text("\n".join(peak_lines(",")))
    with pytest.raises(PatternFileError, match="decimal commas") as err:
        read_pattern(path, "CuKa")
    assert "duplicate" not in str(err.value)


def test_a_lone_huge_spike_is_not_answered_silently(tmp_path):
    lines = peak_lines(" ", ".")
    lines[1000] = "30.00 1e308"
    path = tmp_path / "spike.xy"
    path.write_text("\n".join(lines))
    with pytest.raises(PatternFileError, match="1e\\+308 at 2θ 30°"):
        read_pattern(path, "CuKa")
    lines[1000] = "30.00 9e6"  # finite and plausible as a number, but 1800× the pattern
    path.write_text("\n".join(lines))
    with pytest.raises(PatternFileError, match="spike"):
        read_pattern(path, "CuKa")


def test_conversion_reports_how_many_points_it_dropped(tmp_path):
    path = tmp_path / "cu.xy"
    path.write_text("\n".join(peak_lines(" ", ".")))
    g = to_grid(read_pattern(path, "CuKa"), TwoThetaGrid(5.0, 40.0, 0.02), 0.7107, 0.3)
    # Mo Kα reaches 2θ < 180° only for d > λ_Mo / 2: Cu angles above 2 asin(0.7107/1.5418)
    limit = 2 * np.degrees(np.arcsin(0.7107 / CU))
    expected = int((np.arange(10.0, 80.0, 0.02) > limit).sum())
    assert g.n_points == 3500 and g.dropped_points == 0  # Cu → Mo shrinks angles: none lost
    g2 = to_grid(read_pattern(path, "MoKa"), TwoThetaGrid(10.0, 80.0, 0.02), CU, 0.3)
    assert g2.dropped_points == expected > 0
    assert f"{expected:,} of 3,500 points" in g2.conversion_note()
