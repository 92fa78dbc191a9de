"""The predict page: one self-contained HTML file, a section per pattern, same content in JSON."""

import base64
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bxrd.inference.loading import load_predictor
from bxrd.inference.pipeline import PredictOptions, predict_files
from bxrd.report.html import HtmlReport
from bxrd.xrd.pattern_io import GriddedPattern

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A page for the bundled example, the same pattern forced to abstain, and a bad file."""
    tmp = tmp_path_factory.mktemp("page")
    bad = tmp / "broken.xy"
    bad.write_text("10 1\n10.02 nan\n")
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    example = ROOT / "checkpoints" / "example_CsPbI3.txt"
    answer, skipped = predict_files([example, bad], model=model)
    (abstained,) = predict_files(
        [example], model=model, options=PredictOptions(threshold=0.999, explain="none")
    )
    abstained = replace(abstained, file="second.xy")
    close = [("CsPbBr3", "Pm-3m", 0.97), ("CsPbCl3", "Pm-3m", np.float32(0.91))]
    neighbour = {**answer.to_json(), "abstain": False, "file": "third.xy", "neighbours": close}
    gridded = GriddedPattern(answer.model_input.intensity, 1.0, (10.0, 80.0), "third.xy")
    with HtmlReport(tmp / "out", model.axis) as report:
        report.add_answer(answer)
        report.add_answer(abstained)
        report.add(neighbour, gridded, answer.measured)
        report.add_answer(skipped)
    return tmp / "out", answer, [skipped.error]


def test_page_has_a_section_and_a_summary_row_per_file_and_embeds_every_figure(page):
    out, answer, failed = page
    assert len(failed) == 1
    text = (out / "index.html").read_text(encoding="utf-8")
    sections = re.findall(r'<section id="(p\d+)">', text)
    assert sections == ["p1", "p2", "p3"]
    summary = text[text.index('<table id="summary">') : text.index("</table>")]
    assert summary.count("<tr") == 1 + 3 + 1  # header, answered, skipped
    for anchor in sections:  # each row links to its section
        assert f'href="#{anchor}"' in summary
    assert "skipped" in summary and "broken.xy" in summary and "only 2 data points" in summary
    assert "abstain" in summary  # the abstention row is marked
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(images) == 3
    for data in images:
        width, height = Image.open(io.BytesIO(base64.b64decode(data))).size
        assert width >= 900 and height >= 400
    assert "CsPbBr3 Pm-3m 0.970" in text  # the optional neighbours section
    assert answer.label in text and f"{answer.probabilities[answer.label]:.3f}" in text


def test_page_needs_nothing_outside_itself(page):
    out, _, _ = page
    text = (out / "index.html").read_text(encoding="utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert links and all(u.startswith(("#", "data:")) for u in links)
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert not list(out.glob(".*.part"))  # temporary parts are gone


def test_report_json_holds_the_same_answers(page):
    out, answer, _ = page
    report = json.loads((out / "report.json").read_text())
    assert (report["n_answered"], report["n_skipped"]) == (3, 1)
    first, second, _ = report["answers"]
    assert first["label"] == answer.label and not first["abstain"]
    assert second["abstain"] and second["threshold"] == 0.999
    assert first["reference"]["reflections"]  # the fitted ticks drawn on the figure
    assert report["skipped"][0]["file"].endswith("broken.xy")
    assert report["answers"][2]["neighbours"][1] == ["CsPbCl3", "Pm-3m", pytest.approx(0.91)]
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_a_pattern_off_the_report_grid_is_refused(tmp_path, page):
    from bxrd.errors import BxrdInputError
    from bxrd.xrd.axis import Axis
    from bxrd.xrd.grid import TwoThetaGrid

    _, answer, _ = page
    report = HtmlReport(tmp_path, Axis(TwoThetaGrid(5, 60, 0.05)))
    with pytest.raises(BxrdInputError, match="x.xy"):
        report.add(answer, GriddedPattern(np.zeros(10, np.float32), 1.0, (10, 80), "x.xy"))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_headless_chromium_shows_the_summary_and_the_first_figure(page, tmp_path):
    out, _, _ = page
    shot = tmp_path / "shot.png"
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshot_page.py"), str(out / "index.html"),
         str(shot)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert Image.open(shot).size == (1280, 1400)


def test_secondary_phases_get_a_flag_a_table_and_the_peaks_left(page, tmp_path):
    out, answer, _ = page
    pbi2 = {
        "formula": "PbI2", "name": "PbI2", "space_group": "P-3m1", "source": "mp-0",
        "score": 0.75, "chance": 1e-4, "orientation": "001", "missing": [],
        "matched": [
            {"hkl": "001", "two_theta_expected": 12.68, "two_theta_observed": 12.70,
             "d_observed": 6.965},
            {"hkl": "002", "two_theta_expected": 25.53, "two_theta_observed": 25.55,
             "d_observed": 3.484},
        ],
    }  # fmt: skip
    left = [{"two_theta": 23.5, "d": 3.783, "height": 0.05, "consistent_with": ["PbBr2 111"]}]
    record = {**answer.to_json(), "abstain": False, "secondary_phases": [pbi2],
              "unexplained_peaks": left}  # fmt: skip
    gridded = GriddedPattern(answer.model_input.intensity, 1.0, (10.0, 80.0), "film.xy")
    with HtmlReport(
        tmp_path / "out", load_predictor(ROOT / "checkpoints" / "default.ckpt").axis
    ) as r:
        r.add(record, gridded, answer.measured)
    text = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert "secondary phase: PbI2" in text and "1 unexplained peak" in text  # summary flags
    assert "<td>PbI2 (001-oriented)</td><td>P-3m1</td><td>mp-0</td><td>0.75</td>" in text
    assert "001 12.68 → 12.70; 002 25.53 → 25.55" in text
    assert "23.50° (d 3.783 Å, 5%) could be PbBr2 111" in text


def test_a_pattern_unlike_every_training_perovskite_is_flagged_and_explained(page, tmp_path):
    out, answer, _ = page
    match = {"similarity": 0.43, "floor": 0.5, "withheld": True}
    record = {**answer.to_json(), "abstain": True, "perovskite_match": match}
    fine = {**answer.to_json(), "file": "fine.xy", "abstain": False,
            "perovskite_match": {"similarity": 0.93, "floor": 0.5, "withheld": False}}  # fmt: skip
    gridded = GriddedPattern(answer.model_input.intensity, 1.0, (10.0, 80.0), "mix.xy")
    with HtmlReport(
        tmp_path / "out", load_predictor(ROOT / "checkpoints" / "default.ckpt").axis
    ) as r:
        r.add(record, gridded, answer.measured)
        r.add(fine, replace(gridded, source="fine.xy"), answer.measured)
    text = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert text.count("unlike every training perovskite (cosine 0.43)") == 1  # the summary flag
    assert "no training perovskite like it (cosine 0.43)" in text  # the abstain reason
    assert "cosine 0.43 (floor 0.50): the pattern is like no perovskite" in text
    assert "the named class is withheld" in text
    assert "cosine 0.93 (floor 0.50)</" in text  # the similar one: the number, no warning
    assert text.count("like no perovskite the model learned from") == 1
