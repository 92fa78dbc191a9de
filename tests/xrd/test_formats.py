"""Vendor formats: a real XRDML file checked by hand, every other format built from its
published layout (see each reader's docstring), and a damaged copy of each."""

import struct
import zipfile

import numpy as np
import pytest

from bxrd.errors import PatternFileError
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.pattern_io import load_patterns, read_pattern, read_patterns, to_grid
from bxrd.xrd.wavelength import emission_lines
from tests.conftest import SHARED

CU, CO, MO = emission_lines("Cu"), emission_lines("Co"), emission_lines("Mo")
D = 2.8  # Å, the one reflection of the test patterns
X = np.round(np.arange(10.0, 80.0, 0.02), 4)


def two_theta(wavelength):
    return 2 * np.degrees(np.arcsin(wavelength / (2 * D)))


def counts(wavelength, x=X):
    return np.round(50 + 5000 * np.exp(-0.5 * ((x - two_theta(wavelength)) / 0.08) ** 2))


def peak(p):
    return p.two_theta[np.argmax(p.intensity)]


# ---------------------------------------------------------------- the real XRDML file, by hand
def test_real_xrdml_against_its_xml():
    path = SHARED / "patterns/xrdml_dara/binary_reactions__CoO-ZnO_1100C_60min.xrdml"
    if not path.is_file():
        pytest.skip("shared xrdml_dara patterns not present")
    p = read_pattern(path)
    # <startPosition>9.90343322, <endPosition>100.09488522, 8301 counts, 4121 ... 6927,
    # <commonCountingTime>13.770; kAlpha1 1.5405980, kAlpha2 1.5444260, ratio 0.5000, Cu
    assert len(p) == 8301
    assert p.two_theta[0] == pytest.approx(9.90343322) and p.two_theta[-1] == pytest.approx(
        100.09488522
    )
    assert p.intensity[0] == pytest.approx(4121 / 13.77) and p.intensity[-1] == pytest.approx(
        6927 / 13.77
    )
    assert p.meta["intensity_unit"] == "counts/s"
    assert (p.lines.anode, p.lines.ka1, p.lines.ka2, p.lines.ka2_ratio) == (
        "Cu",
        1.540598,
        1.544426,
        0.5,
    )
    assert p.wavelength == pytest.approx((1.540598 + 0.5 * 1.544426) / 1.5)
    assert p.wavelength_source == "file" and p.meta["monochromator"] is None


def test_every_shared_xrdml_scan_is_read_with_its_wavelength():
    folder = SHARED / "patterns/xrdml_dara"
    if not folder.is_dir():
        pytest.skip("shared xrdml_dara patterns not present")
    done, failed = load_patterns(folder, TwoThetaGrid(), 1.54184)
    assert failed == [] and len(done) == 60
    assert {g.wavelength_source for g in done} == {"file"}
    assert all(g.lines.anode == "Cu" and g.lines.ka2_ratio == 0.5 for g in done)


# ---------------------------------------------------------------- builders
def xrdml(scans, monochromator=False, kalpha=(1.540598, 1.544426, 0.5)):
    mono = "<monochromator><name>Johansson</name></monochromator>" if monochromator else ""
    body = "".join(scans)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/2.0" status="Completed">
 <xrdMeasurement measurementType="Scan">
  <usedWavelength intended="K-Alpha 1">
   <kAlpha1 unit="Angstrom">{kalpha[0]}</kAlpha1><kAlpha2 unit="Angstrom">{kalpha[1]}</kAlpha2>
   <kBeta unit="Angstrom">1.392250</kBeta><ratioKAlpha2KAlpha1>{kalpha[2]}</ratioKAlpha2KAlpha1>
  </usedWavelength>
  <incidentBeamPath><xRayTube><anodeMaterial>Cu</anodeMaterial></xRayTube>{mono}</incidentBeamPath>
  {body}
 </xrdMeasurement>
</xrdMeasurements>"""


def xrdml_scan(x, y, listed=False, unit="counts", times=None):
    axis = (
        f"<listPositions>{' '.join(map(str, x))}</listPositions>"
        if listed
        else f"<startPosition>{x[0]}</startPosition><endPosition>{x[-1]}</endPosition>"
    )
    timing = (
        f"<countingTimes unit='seconds'>{' '.join(map(str, times))}</countingTimes>"
        if times is not None
        else "<commonCountingTime unit='seconds'>2.0</commonCountingTime>"
    )
    return f"""<scan appendNumber="0" mode="Continuous" scanAxis="Gonio"><dataPoints>
   <positions axis="2Theta" unit="deg">{axis}</positions>
   <positions axis="Omega" unit="deg"><startPosition>5</startPosition>
     <endPosition>40</endPosition></positions>
   {timing}<counts unit="{unit}">{" ".join(str(int(v)) for v in y)}</counts>
  </dataPoints></scan>"""


def test_xrdml_several_scans_variable_step_counts_per_second(tmp_path):
    uneven = np.round(np.sort(np.concatenate([X[::2], X[1::4] + 0.001])), 4)
    times = np.where(np.arange(len(X)) % 2, 1.0, 4.0)
    path = tmp_path / "two.xrdml"
    path.write_text(
        xrdml(
            [
                xrdml_scan(X, counts(CU.ka)),
                xrdml_scan(uneven, counts(CU.ka, uneven), listed=True, unit="counts/s"),
                xrdml_scan(X, counts(CU.ka) * times, times=times),
            ]
        )
    )
    a, b, c = read_patterns(path)
    assert [p.source[-2:] for p in (a, b, c)] == ["#1", "#2", "#3"]
    assert a.intensity.max() == pytest.approx(counts(CU.ka).max() / 2.0)  # common time 2 s
    assert np.array_equal(b.two_theta, uneven) and b.intensity.max() == counts(CU.ka).max()
    assert np.allclose(c.intensity, counts(CU.ka))  # per-point times divided out
    assert peak(a) == pytest.approx(two_theta(CU.ka), abs=0.02)
    with pytest.raises(PatternFileError, match="3 scans"):
        read_pattern(path)


def test_xrdml_monochromator_means_kalpha1_only(tmp_path):
    path = tmp_path / "mono.xrdml"
    path.write_text(xrdml([xrdml_scan(X, counts(CU.ka1))], monochromator=True))
    p = read_pattern(path)
    assert p.lines.ka2_ratio == 0 and p.wavelength == pytest.approx(1.540598)


def brml(path, x, y, tube="Co", members=None):
    rows = "".join(f"<Datum>1,1,{a},{a / 2},{b}</Datum>" for a, b in zip(x, y, strict=True))
    container = """<DataContainer><RawDataReferenceList><string>Experiment0/RawData0.xml</string>
        </RawDataReferenceList></DataContainer>"""
    lines = emission_lines(tube)
    raw = f"""<RawData xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><DataRoutes><DataRoute>
      <ScanInformation ScanName="Coupled TwoTheta/Theta">
        <MeasurementPoints>{len(x)}</MeasurementPoints>
        <TimePerStep>0.5</TimePerStep></ScanInformation>
      <DataViews>
        <RawDataView xsi:type="RecordedRawDataView" Start="2" Length="1">
          <Recording LogicName="TwoTheta"/></RawDataView>
        <RawDataView xsi:type="RecordedRawDataView" Start="4" Length="1">
          <Recording LogicName="Counter1D"/></RawDataView>
      </DataViews>{rows}</DataRoute></DataRoutes>
      <FixedInformation><Instrument><PrimaryTracks><TrackInfoData><MountedOptics>
        <InfoData xsi:type="TubeMountInfoData"><Tube><TubeMaterial>{tube}</TubeMaterial>
          <WaveLengthAlpha1 Value="{lines.ka1}"/><WaveLengthAlpha2 Value="{lines.ka2}"/>
          <WaveLengthBeta Value="{lines.kb}"/><WaveLengthRatio Value="0.5"/></Tube></InfoData>
      </MountedOptics></TrackInfoData></PrimaryTracks></Instrument></FixedInformation></RawData>"""
    members = members or {
        "Experiment0/DataContainer.xml": container,
        "Experiment0/RawData0.xml": raw,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


def raw_v4(path, x, y, anode="Cu"):
    lines = emission_lines(anode)
    head = b"RAW4.00".ljust(61, b"\0")
    seg = bytearray(120)
    struct.pack_into("<II", seg, 0, 30, 120)
    struct.pack_into("<5d", seg, 72, lines.ka, lines.ka1, lines.ka2, lines.kb, 0.5)
    seg[116:118] = anode.encode()
    rng = bytearray(160)
    struct.pack_into("<I", rng, 0, 0)
    rng[32:46] = b"Locked Coupled"
    struct.pack_into("<ddIf", rng, 72, x[0], x[1] - x[0], len(y), 1.0)
    struct.pack_into("<II", rng, 136, 4, 0)
    path.write_bytes(head + bytes(seg) + bytes(rng) + np.asarray(y, "<f4").tobytes())
    return path


def raw_v3(path, x, y, anode="Mo"):
    lines = emission_lines(anode)
    head = bytearray(712)
    head[:7] = b"RAW1.01"
    struct.pack_into("<II", head, 8, 1, 1)
    head[608:610] = anode.encode()
    struct.pack_into("<5d", head, 616, lines.ka, lines.ka1, lines.ka2, lines.kb, 0.5)
    rng = bytearray(304)
    struct.pack_into("<II", rng, 0, 304, len(y))
    struct.pack_into("<d", rng, 16, x[0])
    struct.pack_into("<d", rng, 176, x[1] - x[0])
    struct.pack_into("<f", rng, 192, 2.0)
    path.write_bytes(bytes(head) + bytes(rng) + np.asarray(y, "<f4").tobytes())
    return path


def ras_text(x, y, anode="Cu"):
    lines = emission_lines(anode)
    data = "".join(f"{a:.4f} {b:.0f} 1.0000\n" for a, b in zip(x, y, strict=True))
    return (
        f'*RAS_DATA_START\n*RAS_HEADER_START\n*HW_XG_TARGET_NAME "{anode}"\n'
        f'*HW_XG_WAVE_LENGTH_ALPHA1 "{lines.ka1}"\n*HW_XG_WAVE_LENGTH_ALPHA2 "{lines.ka2}"\n'
        f'*MEAS_SCAN_AXIS_X "TwoThetaTheta"\n*RAS_HEADER_END\n*RAS_INT_START\n{data}'
        "*RAS_INT_END\n*RAS_DATA_END\n"
    )


def rasx(path, x, y, anode="Cu", members=None):
    lines = emission_lines(anode)
    profile = "\ufeff" + "".join(f"{a:.4f}\t{b:.0f}\t1\n" for a, b in zip(x, y, strict=True))
    conditions = f"""<?xml version="1.0"?><MeasurementConditions><HWConfigurations>
      <XrayGenerator><TargetName>{anode}</TargetName><WavelengthKalpha1>{lines.ka1}</WavelengthKalpha1>
      <WavelengthKalpha2>{lines.ka2}</WavelengthKalpha2><WavelengthKbeta>{lines.kb}</WavelengthKbeta>
      </XrayGenerator></HWConfigurations><ScanInformation><AxisName>TwoThetaTheta</AxisName>
      </ScanInformation></MeasurementConditions>"""
    members = members or {
        "Data0/Profile0.txt": profile,
        "Data0/MesurementConditions0.xml": conditions,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():
            z.writestr(name, text)
    return path


def uxd_text(x, y):
    body = "\n".join(" ".join(f"{v:.0f}" for v in y[i : i + 8]) for i in range(0, len(y), 8))
    return (
        "; test file\n_FILEVERSION=1\n_WL1=1.540560\n_WL2=1.544390\n_WLRATIO=0.500000\n"
        f"_ANODE=Cu\n; (Data for Range number 1)\n_DRIVE='COUPLED'\n_STEPTIME=2.0\n"
        f"_STEPSIZE={x[1] - x[0]:.4f}\n_2THETA={x[0]:.4f}\n_COUNTS\n{body}\n"
    )


def gsas_std(x, y, wavelength=0.459):
    cells = "".join(f"{1:2d}{v:6.0f}" for v in y)
    body = "\n".join(cells[i : i + 80] for i in range(0, len(cells), 80))
    step = (x[1] - x[0]) * 100
    return (
        f"Test pattern\n# Wavelength = {wavelength}\n"
        f"BANK 1 {len(y)} {len(body.splitlines())} CONST {x[0] * 100:.2f} {step:.2f} 0 0 STD\n"
        f"{body}\n"
    )


def gsas_fxye(x, y):
    body = "".join(f"{a * 100:.2f} {b:.1f} {np.sqrt(b):.2f}\n" for a, b in zip(x, y, strict=True))
    return f"Test pattern\nBANK 1 {len(y)} {len(y)} CONS {x[0] * 100:.2f} 2.0 0 0 FXYE\n{body}"


def pdcif_text(x, y, wavelength=MO.ka):
    rows = "".join(f"{a:.4f} {b:.0f}({int(np.sqrt(b))})\n" for a, b in zip(x, y, strict=True))
    return (
        "data_test\n_pd_block_id test\n_diffrn_radiation_type 'Mo K\\a'\n"
        f"_diffrn_radiation_wavelength {wavelength:.5f}\n;\nfree text; with _pd_ and loop_\n;\n"
        f"loop_\n_pd_meas_2theta_scan\n_pd_meas_counts_total\n{rows}"
    )


def write(path, text):
    path.write_text(text)
    return path


XMO = np.round(np.arange(5.0, 40.0, 0.01), 4)

# name → (builder(tmp_path) → path, expected wavelength Å, expected source)
FORMATS = {
    "brml": (lambda t: brml(t / "a.brml", X, counts(CO.ka)), CO.ka),
    "raw_v4": (lambda t: raw_v4(t / "a.raw", X, counts(CU.ka)), CU.ka),
    "raw_v3": (lambda t: raw_v3(t / "b.raw", XMO, counts(MO.ka, XMO)), MO.ka),
    "ras": (lambda t: write(t / "a.ras", ras_text(X, counts(CU.ka))), CU.ka),
    "rasx": (lambda t: rasx(t / "a.rasx", X, counts(CU.ka)), CU.ka),
    "uxd": (lambda t: write(t / "a.uxd", uxd_text(X, counts(1.54056 * 2 / 3 + 1.54439 / 3))), None),
    "gsas": (lambda t: write(t / "a.gsa", gsas_std(XMO, counts(0.459, XMO))), 0.459),
    "fxye": (lambda t: write(t / "a.fxye", gsas_fxye(X, counts(CU.ka))), None),
    "pdcif": (lambda t: write(t / "a.cif", pdcif_text(XMO, counts(MO.ka, XMO))), MO.ka),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_read_with_its_wavelength(tmp_path, name):
    build, expected = FORMATS[name]
    path = build(tmp_path)
    given = "CuKa" if name == "fxye" else None  # FXYE records no wavelength
    p = read_pattern(path, given)
    if name == "uxd":
        expected = (1.54056 + 0.5 * 1.54439) / 1.5
    if name == "fxye":
        expected = 1.54184
        assert p.wavelength_source == "option"
    else:
        assert p.wavelength_source == "file"
    assert p.wavelength == pytest.approx(expected, rel=1e-5)
    assert peak(p) == pytest.approx(two_theta(p.wavelength), abs=0.03)  # Bragg, d = 2.8 Å
    g = to_grid(p, TwoThetaGrid(), 1.54184, min_coverage=0.3)  # onto the Cu Kα model grid
    assert TwoThetaGrid().values[np.argmax(g.intensity)] == pytest.approx(
        two_theta(1.54184), abs=0.05
    )


def test_gsas_without_wavelength_needs_one(tmp_path):
    p = read_pattern(write(tmp_path / "a.fxye", gsas_fxye(X, counts(CU.ka))))
    assert p.wavelength is None
    with pytest.raises(PatternFileError, match="unknown wavelength"):
        to_grid(p, TwoThetaGrid(), 1.54184)


def test_given_wavelength_conflicting_with_the_file_is_an_error(tmp_path):
    path = rasx(tmp_path / "a.rasx", X, counts(CU.ka))
    assert read_pattern(path, "CuKa").wavelength_source == "file"  # agrees: the file's
    with pytest.raises(PatternFileError, match="records λ = 1.54"):
        read_pattern(path, "MoKa")
    forced = read_pattern(path, "MoKa", override_wavelength=True)
    assert forced.wavelength == pytest.approx(MO.ka, rel=1e-3)
    assert forced.wavelength_source == "forced" and forced.meta["file_wavelength"] == CU.ka


# ---------------------------------------------------------------- damaged copies
def truncated_xrdml(t):
    text = xrdml([xrdml_scan(X, counts(CU.ka))])
    return write(t / "cut.xrdml", text[: len(text) // 2])


CORRUPT = {
    "truncated XML": (truncated_xrdml, "not well-formed"),
    "brml without container": (
        lambda t: brml(t / "x.brml", X, X, members={"Experiment0/other.xml": "<a/>"}),
        "DataContainer.xml",
    ),
    "rasx without profile": (
        lambda t: rasx(t / "x.rasx", X, X, members={"Data0/readme.txt": "hello"}),
        "Profile0.txt",
    ),
    "unknown RAW version": (
        lambda t: (t / "v9.raw").write_bytes(b"RAW9.99" + bytes(800)) and t / "v9.raw",
        "version",
    ),
    "truncated RAW": (
        lambda t: (
            (t / "cut.raw").write_bytes(raw_v4(t / "full.raw", X, X).read_bytes()[:300])
            and t / "cut.raw"
        ),
        "truncated",
    ),
    "ras without data": (
        lambda t: write(t / "x.ras", "*RAS_DATA_START\n*RAS_HEADER_START\n*RAS_HEADER_END\n"),
        "no \\*RAS_INT_START",
    ),
    "uxd without data": (lambda t: write(t / "x.uxd", "_FILEVERSION=1\n_WL1=1.5406\n"), "no data"),
    "gsas truncated bank": (
        lambda t: write(t / "x.gsa", "\n".join(gsas_std(X, X).splitlines()[:10])),
        "truncated",
    ),
    "cif without profile": (
        lambda t: write(t / "x.cif", "data_x\n_pd_block_id x\n_cell_length_a 4.0\n"),
        "no powder profile",
    ),
    "xrdml without points": (
        lambda t: write(t / "empty.xrdml", xrdml([xrdml_scan([10.0, 80.0], [])])),
        "no data points",
    ),
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_damaged_file_gets_one_message_naming_it(tmp_path, name):
    build, message = CORRUPT[name]
    path = build(tmp_path)
    with pytest.raises(PatternFileError, match=message) as err:
        read_patterns(path, "CuKa")
    assert str(path) in str(err.value)


def test_folder_with_damaged_files_still_reads_the_good_ones(tmp_path):
    for build, _ in FORMATS.values():
        build(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    for build, _ in CORRUPT.values():
        build(bad)
    (bad / "full.raw").unlink()  # the good source of the truncated copy
    done, failed = load_patterns(tmp_path, TwoThetaGrid(), 1.54184)
    assert len(done) == len(FORMATS) - 1  # the FXYE file records no wavelength
    assert len(failed) == len(CORRUPT) + 1 and sum(str(bad) in f for f in failed) == len(CORRUPT)
    assert any("a.fxye: unknown wavelength" in f for f in failed)


@pytest.mark.parametrize("name", list(FORMATS))
def test_cut_or_garbled_copies_give_a_message_never_a_crash(tmp_path, name):
    data = FORMATS[name][0](tmp_path).read_bytes()
    rng = np.random.default_rng(0)
    for i in range(12):
        garbled = bytearray(data[: int(len(data) * rng.uniform(0.05, 1.0))])
        for j in rng.integers(0, len(garbled), size=i):
            garbled[j] = int(rng.integers(0, 256))
        path = tmp_path / f"g{i}{'.' + name if name in ('brml', 'rasx', 'ras') else ''}"
        path.write_bytes(bytes(garbled))
        try:
            read_patterns(path, "CuKa", override_wavelength=True)
        except PatternFileError as exc:
            assert str(path) in str(exc)
