import pytest

from bxrd.crystal.io import load_structures, read_structure
from bxrd.errors import StructureFileError


def test_batch_skips_bad_files_and_names_them(tmp_path, srtio3):
    srtio3.to(filename=str(tmp_path / "good.cif"))
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3.9\nloop_\n_atom_site_label\n")
    (tmp_path / "empty.json").write_text("{}")
    report = load_structures(tmp_path)
    assert list(report.structures) == ["good"]
    failed = {p.name for p, _ in report.failures}
    assert failed == {"broken.cif", "empty.json"}
    assert "broken.cif" in report.summary() and "skipped 2" in report.summary()


def test_single_file_errors_are_clear(tmp_path):
    with pytest.raises(StructureFileError, match="nope.cif: no such file"):
        read_structure(tmp_path / "nope.cif")
    (tmp_path / "x.xyz").write_text("1\n")
    with pytest.raises(StructureFileError, match="unknown structure format"):
        read_structure(tmp_path / "x.xyz")


def test_magnetic_cif_reads_without_moments(shared_structures):
    s = read_structure(shared_structures / "package_literature" / "LaMnO3.mcif")
    assert s.composition.reduced_formula == "LaMnO3"
    assert "magmom" not in s.site_properties
