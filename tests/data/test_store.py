import h5py
import numpy as np
import pytest

from bxrd.data.store import PatternSet, load_pattern_set, save_pattern_set
from bxrd.errors import BxrdInputError


def _set():
    rng = np.random.default_rng(0)
    return PatternSet(
        patterns=rng.random((6, 50)).astype(np.float32),
        two_theta=np.linspace(10, 80, 50),
        wavelength=1.54184,
        labels={"space_group": np.array([0, 1, 1, 0, 1, 0])},
        classes={"space_group": ["Pnma (62)", "Pm-3m (221)"]},
        provenance={"structure_id": list("abcdef")},
        config={"seed": 0},
    )


def test_round_trip_is_exact(tmp_path):
    data = _set()
    digest = save_pattern_set(data, tmp_path / "d.h5")
    back = load_pattern_set(tmp_path / "d.h5")
    assert back.content_hash() == digest
    assert np.array_equal(back.patterns, data.patterns)
    assert back.classes == data.classes and back.provenance == data.provenance
    assert back.config == {"seed": 0} and back.wavelength == data.wavelength


def test_modified_or_foreign_files_are_refused(tmp_path):
    save_pattern_set(_set(), tmp_path / "d.h5")
    with h5py.File(tmp_path / "d.h5", "a") as f:
        f["patterns"][0, 0] = 42.0
    with pytest.raises(BxrdInputError, match="d.h5: content hash mismatch"):
        load_pattern_set(tmp_path / "d.h5")
    (tmp_path / "junk.h5").write_bytes(b"junk")
    with pytest.raises(BxrdInputError, match="junk.h5: not a bxrd dataset"):
        load_pattern_set(tmp_path / "junk.h5")


def test_lazy_store_reads_rows_and_hashes_in_chunks(tmp_path):
    from bxrd.data.store import CHUNK_ROWS, PatternStore

    rng = np.random.default_rng(1)
    n = 3 * CHUNK_ROWS + 5
    data = PatternSet(
        patterns=rng.random((n, 40)).astype(np.float32),
        two_theta=np.linspace(10, 80, 40),
        wavelength=0.7093,
        labels={"space_group": rng.integers(0, 3, n)},
        classes={"space_group": ["a", "b", "c"]},
        provenance={"split": [["train", "val"][i % 2] for i in range(n)]},
        config={},
    )
    digest = save_pattern_set(data, tmp_path / "d.h5")
    store = PatternStore(tmp_path / "d.h5")
    assert store.n_patterns == n and store.wavelength == 0.7093 and store.stored_hash == digest
    rows = np.array([n - 1, 0, 17, 17, 2 * CHUNK_ROWS])  # any order, repeats, several chunks
    assert np.array_equal(store.patterns(rows), data.patterns[rows])
    with h5py.File(tmp_path / "d.h5") as f:
        assert f["patterns"].chunks == (CHUNK_ROWS, 40)
    assert store.content_hash(chunk_rows=7) == digest  # streamed = in-memory hash
    store.verify()
    assert list(store.provenance("split")[:3]) == ["train", "val", "train"]


def test_slim_copy_keeps_the_kept_splits_and_nans_the_rest(tmp_path):
    """scripts/slim_dataset.py: kept splits bit for bit, other patterns NaN, same stored hash."""
    import subprocess
    import sys
    from pathlib import Path

    data = _set()
    data.provenance["split"] = ["train", "val", "test", "val", "train", "refit"]
    digest = save_pattern_set(data, tmp_path / "d.h5")
    script = Path(__file__).resolve().parents[2] / "scripts" / "slim_dataset.py"
    subprocess.run(
        [sys.executable, script, tmp_path / "d.h5", tmp_path / "s.h5", "--keep", "val"], check=True
    )
    with pytest.raises(BxrdInputError, match="content hash mismatch"):
        load_pattern_set(tmp_path / "s.h5")  # its patterns changed: fit it with verify false
    slim = load_pattern_set(tmp_path / "s.h5", verify=False)
    val = np.array([s == "val" for s in data.provenance["split"]])
    assert np.array_equal(slim.patterns[val], data.patterns[val])
    assert np.isnan(slim.patterns[~val]).all()
    assert slim.provenance == data.provenance and slim.classes == data.classes
    with h5py.File(tmp_path / "s.h5") as f:
        assert f.attrs["content_hash"] == digest
