import numpy as np

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.store import load_pattern_set
from bxrd.xrd.augment import AugmentConfig


def test_small_build_is_labelled_and_resumable(tmp_path, capsys):
    cfg = BuildConfig(
        output=str(tmp_path),
        ter=TERConfig(max_per_template=2),
        augment=AugmentConfig(),
        n_augmented=2,
        n_jobs=1,
    )
    build_dataset(cfg, progress=False)
    data = load_pattern_set(tmp_path / "dataset.h5")
    n_structures = len(list((tmp_path / "sticks").glob("*.npz")))
    assert n_structures == 9 + 9 * 2  # templates + 2 TER structures each
    assert len(data) == 3 * n_structures
    assert data.patterns.shape[1] == cfg.grid.n_points
    assert np.allclose(data.patterns.max(axis=1), 1.0)
    names = data.classes["space_group"]
    assert len(names) == 7 and "Pnma (62)" in names
    # each TER pattern carries its template's space group
    for sid, tid, code in zip(
        data.provenance["structure_id"],
        data.provenance["template_id"],
        data.labels["space_group"],
        strict=True,
    ):
        assert sid.startswith(tid)
        if tid == "CaTiO3_Pnma":
            assert names[code] == "Pnma (62)"
    assert set(data.provenance["augmentation"]) - {"none"} <= {
        "impurity",
        "texture",
        "size",
        "strain",
        "shift",
    }
    out = capsys.readouterr().out
    assert "Pnma (62)" in out and "total" in out
    build_dataset(cfg, progress=False)
    assert "simulated 0, already done 27" in capsys.readouterr().out
