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


def test_manifest_gives_provenance_and_filters_by_synthesized(tmp_path, srtio3):
    for name in ("a.cif", "b.cif", "c.cif"):
        srtio3.to(filename=str(tmp_path / name))
    (tmp_path / "manifest.csv").write_text(
        "file,formula,synthesized,mp_ids\na.cif,SrTiO3,1,mp-1\nb.cif,SrTiO3,0,mp-2\n"
    )
    everything = load_structures(tmp_path)
    assert sorted(everything.structures) == ["a", "b", "c"]  # the manifest is not a structure
    assert everything.meta["a"] == {
        "collection": tmp_path.name,
        "file": "a.cif",
        "synthesized": "1",
        "formula": "SrTiO3",
        "mp_ids": "mp-1",
    }
    assert everything.meta["c"]["synthesized"] == ""
    assert list(load_structures(tmp_path, synthesized=True).structures) == ["a"]
    assert list(load_structures(tmp_path, synthesized=False).structures) == ["b"]
    two = load_structures(tmp_path, limit=2, seed=3)
    assert len(two.structures) == 2 and two.structures.keys() <= {"a", "b", "c"}


def test_materials_project_document_and_csv_rows(tmp_path, srtio3):
    import json

    doc = {"material_id": "mp-5229", "structure": srtio3.as_dict(), "energy_above_hull": 0.0}
    (tmp_path / "SrTiO3.json").write_text(json.dumps(doc))
    assert read_structure(tmp_path / "SrTiO3.json").composition.reduced_formula == "SrTiO3"
    cif = srtio3.to(fmt="cif").replace('"', "'")
    rows = "".join(f'{i},"{cif}"\n' for i in range(5))
    (tmp_path / "t.csv").write_text("material_id,cif\n" + rows)
    report = load_structures(tmp_path / "t.csv", limit=2)
    assert len(report.structures) == 2 and all(k.startswith("t_") for k in report.structures)


def test_oversized_file_is_skipped_and_named(tmp_path, srtio3):
    srtio3.to(filename=str(tmp_path / "big.cif"))
    with pytest.raises(StructureFileError, match="big.cif: .* over the 100-byte limit"):
        read_structure(tmp_path / "big.cif", max_bytes=100)


def test_slow_parse_is_cut_and_named(tmp_path, monkeypatch, srtio3):
    import time

    from pymatgen.core import Structure

    srtio3.to(filename=str(tmp_path / "slow.cif"))
    monkeypatch.setattr(Structure, "from_file", staticmethod(lambda p: time.sleep(5)))
    with pytest.raises(StructureFileError, match=r"slow.cif: parsing took over 0.2 s"):
        read_structure(tmp_path / "slow.cif", timeout_s=0.2)
