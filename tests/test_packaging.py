"""The shipped models travel with the package: a wheel installed elsewhere answers the same."""

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_the_models_and_answers_from_another_folder(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            str(ROOT),
            "-w",
            str(tmp_path / "wheel"),
        ],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = (tmp_path / "wheel").glob("bxrd-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "default.ckpt",
        "laplace.ckpt",
        "ensemble.ckpt",
        "example_CsPbI3.txt",
        "README.md",
    ):
        assert f"bxrd/checkpoints/{name}" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = (
        "import json, sys; from bxrd.cli import main; from bxrd.inference.loading import shipped;"
        "import bxrd; print(bxrd.__file__, file=sys.stderr);"
        "sys.exit(main(['predict', str(shipped('example_CsPbI3.txt')), '--json',"
        " '--explain', 'none']))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=elsewhere)
    assert out.returncode == 0, out.stderr
    assert str(venv) in out.stderr.splitlines()[-1]  # the wheel's bxrd, not the checkout's
    answer = json.loads(out.stdout.splitlines()[0])
    assert answer["label"] == "Pm-3m (221)"
