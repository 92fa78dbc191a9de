"""``bxrd data build``: Ctrl-C leaves one line and the finished files; a Dask build is the same."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.splits import SplitConfig
from bxrd.data.store import PatternStore
from bxrd.errors import BxrdInputError
from bxrd.xrd.simulate_batch import compute_backend

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_during_a_build_prints_one_line_and_keeps_finished_files(tmp_path):
    out = tmp_path / "out"
    # the default recipe: ~400 structures, tens of seconds of simulation to interrupt
    cmd = [sys.executable, "-m", "bxrd.cli", "data", "build", "--output", str(out), "--n_jobs", "1"]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # Ctrl-C in a terminal signals the whole process group
        # as a terminal starts it: pytest run in the background (`cmd &` without job
        # control) ignores SIGINT, and the child would inherit that and never see Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    sticks = out / "sticks"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if sticks.is_dir() and len(list(sticks.glob("*.npz"))) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the build ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    last = err.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("bxrd: interrupted") and "run the same command again" in last
    assert str(out) in last
    kept = {p.name for p in sticks.glob("*.npz")}
    assert kept and not list(sticks.glob("*.tmp-*"))  # finished files only, none half-written
    assert not (out / "dataset.h5").exists()


def test_scheduler_without_dask_is_refused():
    with pytest.raises(BxrdInputError, match="needs --backend dask"):
        with compute_backend("loky", "tcp://127.0.0.1:1"):
            pass


@pytest.mark.slow
def test_build_on_a_two_worker_dask_cluster_has_the_local_content_hash(tmp_path):
    pytest.importorskip("distributed")

    def recipe(name):
        return BuildConfig(
            output=str(tmp_path / name),
            templates=["builtin"],
            ter=TERConfig(max_per_template=2),
            split=SplitConfig(vss_val_fraction=0.25),
            n_augmented=1,
            n_jobs=1,
        )

    local = PatternStore(build_dataset(recipe("local"), progress=False)).stored_hash
    with compute_backend("dask", n_workers=2) as where:
        assert "2 workers" in where
        cfg = recipe("dask")
        cfg.n_jobs = -1
        on_dask = PatternStore(build_dataset(cfg, progress=False)).stored_hash
    assert on_dask == local
