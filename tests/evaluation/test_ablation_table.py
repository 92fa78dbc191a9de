"""scripts/ablation_table.py: a row's paired difference and film counts from saved answers."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ablation_table.py"


def _save(folder: Path, name: str, answer: list[int], truth: list[int], sid: list[str]) -> None:
    for kind in ("stored", "rendered"):
        np.savez(
            folder / f"{name}.{kind}.npz",
            answer=np.array(answer),
            truth=np.array(truth),
            structure_id=np.array(sid),
            abstain=np.zeros(len(answer), dtype=bool),
        )


def _films(folder: Path, name: str, pm3m_right: int) -> None:
    folders = [
        {"truth": "Pm-3m (221)", "in_classes": True, "n": 4, "correct": pm3m_right, "far": 1},
        {"truth": "I4/mcm (140)", "in_classes": True, "n": 2, "correct": 0, "far": 0},
    ]
    summary = {
        "abstain_in_class": 0.5,
        "abstain_out_of_class": 1.0,
        "rejected_out_of_class": 0.75,
        "noise_far": pm3m_right / 4,
    }
    (folder / f"{name}.films.json").write_text(json.dumps({"folders": folders, "summary": summary}))


def test_row_against_reference(tmp_path):
    truth, sid = [0, 1, 0, 1], ["a", "a", "b", "c"]
    _save(tmp_path, "ref_s0", [0, 0, 1, 1], truth, sid)  # half right
    _save(tmp_path, "ref_s1", [0, 0, 1, 1], truth, sid)
    _save(tmp_path, "better_s0", truth, truth, sid)  # all right
    _films(tmp_path, "ref_s0", 1)
    _films(tmp_path, "ref_s1", 3)
    _films(tmp_path, "better_s0", 4)
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--eval", str(tmp_path), "--reference", "ref"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in out.splitlines()}
    ref, better = rows["ref"], rows["better"]
    assert ref[1] == "0, 1" and better[1] == "0"  # seeds
    assert better[2] == "1.000 ± 0.000" and ref[2] == "0.500 ± 0.000"
    assert better[3].startswith("+0.500 [")  # paired difference, stored patterns
    assert ref[8] == "1, 3 / 4" and better[8] == "4 / 4"  # Pm-3m films right per seed
    assert ref[11] == "0.750 ± 0.000"  # outside the classes: abstained or `other`
    assert ref[12] == "1.0 / 6"  # in-class films flagged far, mean over seeds
    assert ref[15].strip(" |") == "0.50" and ref[13] == "nan"  # noise flagged; not saved
    assert "3 real test structures" in out


def test_patterns_must_match(tmp_path):
    _save(tmp_path, "ref_s0", [0, 1], [0, 1], ["a", "b"])
    _save(tmp_path, "other_s0", [0, 1], [0, 1], ["a", "c"])
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--eval", str(tmp_path), "--reference", "ref"],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "other test patterns" in run.stderr
