"""``bxrd predict`` on real workloads: chunks, streaming, resume, seeds, wavelengths, decisions."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import bxrd.inference.pipeline as pipeline
from bxrd.cli import main
from bxrd.inference.answer import WIDENED_ONE_FAMILY, WIDENED_UNLIKE
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.pipeline import PredictOptions, iter_answers, predict_files

EXAMPLE = shipped("example_CsPbI3.txt")


@pytest.fixture(scope="module")
def model():
    return load_predictor(shipped("default.ckpt"))


def _pattern_rows() -> np.ndarray:
    rows = [
        line.split(",") for line in EXAMPLE.read_text().splitlines() if not line.startswith("#")
    ]
    return np.array(rows, dtype=float)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Seven different noisy copies of the example (Cu Kα stated), one bad file, in order."""
    out = tmp_path_factory.mktemp("patterns")
    xy = _pattern_rows()
    rng = np.random.default_rng(0)
    for i in range(7):
        y = rng.poisson(xy[:, 1] * (1 + 0.2 * i)).astype(float)
        body = "\n".join(f"{a:.2f}, {b:.0f}" for a, b in zip(xy[:, 0], y, strict=True))
        (out / f"p{i}.txt").write_text(f"##WAVELENGTH=1.54184\n{body}\n")
    (out / "p3_bad.xy").write_text("10 1\n10 2\nnan 3\n")
    return out


OPTIONS = PredictOptions(explain="none", chunk_size=3, keep_arrays=False)


def test_more_files_than_a_chunk_each_answered_once_in_order_with_bounded_chunks(
    model, folder, monkeypatch
):
    seen_chunks = []
    answer_chunk = pipeline._answers

    def spy(model, prepared, options, per_ig):
        seen_chunks.append(len(prepared))
        return answer_chunk(model, prepared, options, per_ig)

    monkeypatch.setattr(pipeline, "_answers", spy)
    files = pipeline.expand_inputs([folder])
    stream = iter_answers(model, files, OPTIONS)
    first = next(stream)  # the first answer comes before later chunks are read
    assert len(seen_chunks) == 1
    answers = [first, *stream]
    assert [a.file for a in answers] == [str(f) for f in files]
    assert max(seen_chunks) <= 3 and len(seen_chunks) == 3
    bad = [a for a in answers if a.decision == "skipped"]
    assert len(bad) == 1 and "p3_bad.xy" in bad[0].error and bad[0].label is None


def test_one_file_alone_and_inside_a_folder_get_the_same_answer(model, folder):
    alone = predict_files([folder / "p4.txt"], model=model, options=OPTIONS)[0]
    crowd = predict_files([folder], model=model, options=PredictOptions(explain="none"))
    inside = next(a for a in crowd if a.file.endswith("p4.txt"))
    # same seed, same masks: equal up to float rounding of batched convolutions (~1e-8)
    assert alone.seed == inside.seed and alone.decision == inside.decision
    for name, p in alone.probabilities.items():
        assert p == pytest.approx(inside.probabilities[name], abs=2e-6)
        assert alone.std[name] == pytest.approx(inside.std[name], abs=2e-6)
    # every pattern the same masks: scaling a pattern (counts vs counts/s) changes nothing
    assert {a.seed for a in crowd if a.seed is not None} == {0}


def test_memory_budget_sets_the_chunk_and_explanation_batches():
    small = pipeline.plan(PredictOptions(memory_mb=64), 3501)
    large = pipeline.plan(PredictOptions(memory_mb=1024), 3501)
    assert small[1] <= large[1]
    unexplained = [
        pipeline.plan(PredictOptions(memory_mb=m, explain="none"), 3501) for m in (64, 1024)
    ]
    assert unexplained[0][0] < unexplained[1][0] == pipeline.MAX_CHUNK
    # explained answers stream out a forward batch at a time
    assert small[0] == large[0] == pipeline.FORWARD_BATCH
    # a full explanation of one IG batch stays within the budget
    per_ig = large[1]
    assert per_ig * 32 * 3501 * pipeline.BACKWARD_BYTES_PER_POINT <= 1024e6
    assert pipeline.plan(PredictOptions(chunk_size=5), 3501)[0] == 5
    # an ensemble backpropagates through each member: a third of the patterns per IG call
    assert pipeline.networks_of(load_predictor(shipped("ensemble.ckpt"))) == 3
    options = PredictOptions(memory_mb=1024, explain="fast")
    one, three = pipeline.plan(options, 3501)[1], pipeline.plan(options, 3501, networks=3)[1]
    assert three == one // 3


def test_abstention_has_no_label_but_says_what_led(model):
    (a,) = predict_files([EXAMPLE], model=model, options=PredictOptions(threshold=0.999))
    assert a.decision == "abstain" and a.label is None and a.top_label == "Pm-3m (221)"
    assert json.loads(json.dumps(a.to_json()))["label"] is None


def test_wavelength_conflict_is_an_error_unless_forced(model, tmp_path):
    (a,) = predict_files([EXAMPLE], model=model, options=PredictOptions(wavelength="MoKa"))
    assert a.decision == "skipped" and "records" in a.error and "--force_wavelength" in a.error
    forced = PredictOptions(wavelength="MoKa", force_wavelength=True, explain="none")
    (b,) = predict_files([EXAMPLE], model=model, options=forced)
    assert b.wavelength_source == "forced" and b.wavelength == pytest.approx(0.71073, abs=1e-4)
    bare = tmp_path / "bare.xy"  # no wavelength in the file
    bare.write_text("\n".join(EXAMPLE.read_text().splitlines()[3:]).replace(",", " "))
    (c,) = predict_files([bare], model=model, options=PredictOptions(wavelength="CuKa"))
    assert c.wavelength_source == "option" and c.decision != "skipped"
    (d,) = predict_files([bare], model=model, options=PredictOptions())
    assert d.decision == "skipped" and "states none" in d.error


def test_explain_levels(model):
    none, fast = (
        predict_files([EXAMPLE], model=model, options=PredictOptions(explain=level))[0]
        for level in ("none", "fast")
    )
    assert none.regions == [] and none.attribution is None
    assert len(fast.regions) == 3 and fast.reference["reflections"]
    assert fast.attribution.shape == fast.model_input.intensity.shape
    assert fast.measured.wavelength == 1.54184 and len(fast.measured.two_theta) > 3000
    assert none.probabilities == fast.probabilities  # explaining never changes the answer


def test_json_lines_for_every_file_and_exit_codes(folder, capsys):
    assert main(["predict", str(folder), "--json", "--explain", "none", "--quiet"]) == 1
    out = capsys.readouterr()
    rows = [json.loads(line) for line in out.out.splitlines()]
    assert len(rows) == 8 and sum(r["decision"] == "skipped" for r in rows) == 1
    assert main(["predict", str(folder / "p0.txt"), "--json", "--explain", "none"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["decision"] in ("predict", "abstain") and row["wavelength_source"] == "file"
    assert main(["predict", str(folder / "p3_bad.xy"), "--json"]) == 2


def test_output_array_is_written_in_input_order(folder, tmp_path):
    out = tmp_path / "answers.json"
    args = ["predict", str(folder), "--output", str(out), "--explain", "none", "--quiet"]
    assert main([*args, "--chunk_size", "2"]) == 1
    rows = json.loads(out.read_text())
    assert [Path(r["file"]).name for r in rows] == sorted(p.name for p in folder.iterdir())
    assert not Path(f"{out}.partial").exists()
    assert main([*args, "--resume"]) == 1  # nothing left to do; same array
    assert json.loads(out.read_text()) == rows


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["predict", str(EXAMPLE), "--resume"]) == 2
    assert "--resume needs --output" in capsys.readouterr().err
    assert main(["predict", str(EXAMPLE), "--checkpoint", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_config_error_names_the_yaml_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  class_path: bxrd.uq.mc_dropout.MCDropoutClassifier\nnonsense: 1\n")
    assert main(["fit", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) <= 3


def test_resume_knows_a_file_by_its_path_and_retries_what_it_skipped(folder, tmp_path, monkeypatch):
    """Given relative first and absolute then, every file is answered once; a file skipped
    for want of a wavelength is answered when the resumed run gives one."""
    work = tmp_path / "work"
    work.mkdir()
    bare = work / "bare.xy"  # no wavelength in the file
    bare.write_text((folder / "p0.txt").read_text().split("\n", 1)[1])
    for f in ("p0.txt", "p1.txt", "p2.txt"):
        (work / f).write_text((folder / f).read_text())
    out = tmp_path / "a.jsonl"
    monkeypatch.chdir(tmp_path)
    args = ["--output", str(out), "--explain", "none", "--quiet"]
    assert main(["predict", "work", *args]) == 1  # bare.xy skipped
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["decision"] == "skipped" for r in first] == [True, False, False, False]
    assert main(["predict", str(work.resolve()), "--wavelength", "CuKa", "--resume", *args]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    names = sorted(Path(r["file"]).name for r in rows)
    assert names == ["bare.xy", "p0.txt", "p1.txt", "p2.txt"]
    assert all(r["decision"] != "skipped" for r in rows)
    # p0, p1, p2 were kept as they were; bare.xy, skipped before, answered now in its place
    assert rows[1:4] == first[1:4] and Path(rows[0]["file"]).name == "bare.xy"


def test_resume_from_another_folder_and_of_an_interrupted_rerun(folder, tmp_path, monkeypatch):
    """Rows carry the resolved path, so a resume from elsewhere redoes nothing; a rerun cut
    short after one file resumes itself, not the older finished array beside it."""
    out = tmp_path / "a.jsonl"
    monkeypatch.chdir(folder.parent)
    args = ["--explain", "none", "--quiet", "--output", str(out)]
    assert main(["predict", folder.name, *args]) == 1
    first = out.read_text().splitlines()
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(folder), "--resume", *args]) == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == len(first) == 8 and len({r["path"] for r in rows}) == 8
    array = tmp_path / "b.json"
    stale = [{**json.loads(line), "method": "stale"} for line in first]
    array.write_text(json.dumps(stale))  # a finished older run
    Path(f"{array}.partial").write_text(first[0] + "\n")  # a rerun killed after one file
    assert main(["predict", str(folder), "--resume", *args[:-1], str(array)]) == 1
    methods = {r["method"] for r in json.loads(array.read_text())}
    assert methods == {"mc_dropout"} or methods == {"mc_dropout", None}, methods


def test_logs_without_paths_resume_and_same_names_in_two_folders_stay_apart(
    folder, tmp_path, monkeypatch
):
    for side in ("A", "B"):
        (tmp_path / side / "pats").mkdir(parents=True)
        for f in ("p0.txt", "p1.txt"):
            (tmp_path / side / "pats" / f).write_text((folder / f).read_text())
    out = tmp_path / "log.jsonl"
    args = ["pats/p0.txt", "pats/p1.txt", "--explain", "none", "--quiet", "--output", str(out)]
    monkeypatch.chdir(tmp_path / "A")
    assert main(["predict", *args]) == 0
    monkeypatch.chdir(tmp_path / "B")
    assert main(["predict", *args, "--resume"]) == 0  # B's files are others: answered
    monkeypatch.chdir(tmp_path / "A")
    assert main(["predict", *args, "--resume"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    paths = [r["path"] for r in rows]
    assert len(paths) == len(set(paths)) == 4
    # an array written before rows carried a path (and an empty partial log: a rerun began)
    old = tmp_path / "old.json"
    old.write_text(json.dumps([{k: v for k, v in r.items() if k != "path"} for r in rows[:2]]))
    assert main(["predict", *args, "--resume", "--output", str(old)]) == 0
    assert len(json.loads(old.read_text())) == 2
    Path(f"{old}.partial").write_text("")
    assert main(["predict", *args, "--resume", "--output", str(old)]) == 0
    assert all("path" in r for r in json.loads(old.read_text()))  # answered anew


def test_a_multi_scan_file_cut_short_is_redone_and_a_failed_retry_loses_nothing(tmp_path):
    from bxrd.inference.output import AnswerLog, file_key

    def row(name, decision="predict", **extra):
        return {"file": str(tmp_path / name), "decision": decision, **extra}

    log = tmp_path / "l.jsonl"
    a, b, m = (file_key(tmp_path / f) for f in ("a.xy", "b.xy", "m.xrdml"))
    # a log from before rows stated their scans, cut inside m's scans by a kill
    lines = [row("a.xy"), row("m.xrdml#1")]
    log.write_text("".join(json.dumps(r) + "\n" for r in lines) + '{"file": "torn')
    assert AnswerLog(log, resume=True).done() == {a}
    # m cut short in a new log: it says 2 scans and holds 1, whatever follows it
    lines = [row("m.xrdml#1", scans=2, path=m), row("b.xy", "skipped", path=b), row("a.xy")]
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    kept = AnswerLog(log, resume=True)
    assert kept.done() == {a}  # m cut short, b skipped: both to redo
    kept.close()  # a run that failed before answering them keeps their rows
    assert len(log.read_text().splitlines()) == 3
    again = AnswerLog(log, resume=True)
    again.write([row("m.xrdml#1", "abstain"), row("m.xrdml#2")])
    again.close()
    rows = [json.loads(x) for x in log.read_text().splitlines()]
    assert [(Path(r["file"]).name, r["decision"]) for r in rows] == [
        ("m.xrdml#1", "abstain"),
        ("m.xrdml#2", "predict"),
        ("b.xy", "skipped"),
        ("a.xy", "predict"),
    ]
    assert AnswerLog(log, resume=True).done() == {a, m}
    # a retry written right after the group it replaces, or after an old-format group
    # (no ``scans``: answered again once), leaves one group of the file
    for stale in ([row("m.xrdml#1", scans=2)], [row("m.xrdml#1"), row("m.xrdml#2")]):
        log.write_text("".join(json.dumps(r) + "\n" for r in [row("a.xy"), *stale]))
        first = AnswerLog(log, resume=True)
        assert first.done() == {a}
        first.write([row("m.xrdml#1", "abstain"), row("m.xrdml#2")])
        first.close()
        rows = [json.loads(x) for x in log.read_text().splitlines()]
        assert [r["decision"] for r in rows] == ["predict", "abstain", "predict"]
        assert AnswerLog(log, resume=True).done() == {a, m}


def test_exit_codes_count_the_files_of_this_run(folder, tmp_path):
    out = tmp_path / "c.jsonl"
    args = ["--explain", "none", "--quiet", "--output", str(out)]
    assert main(["predict", str(folder / "p1.txt"), *args]) == 0
    assert main(["predict", str(folder / "p3_bad.xy"), *args, "--resume"]) == 2
    assert main(["predict", str(folder / "p1.txt"), str(folder / "p2.txt"), *args, "--resume"]) == 0


def test_a_file_given_twice_is_answered_once(folder, tmp_path):
    out = tmp_path / "twice.json"
    args = [str(folder), str(folder / "p1.txt"), f"{folder}/./p1.txt", "--explain", "none"]
    assert main(["predict", *args, "--output", str(out), "--quiet"]) == 1
    names = [Path(r["file"]).name for r in json.loads(out.read_text())]
    assert names == sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--top_k", "0"], "top_k must be at least 1"),
        (["--threshold", "1.5"], "threshold is a probability"),
        (["--neighbours", "-1"], "neighbours must be 0 or more"),
        (["--output", "{tmp}"], "a folder; give a file name"),
        (["--output", "{tmp}/bad.jsonl", "--resume"], "bad.jsonl: line 1: not JSON"),
        (["--output", "{tmp}/bad.json", "--resume"], "bad.json: not JSON"),
        (["--output", "{tmp}/odd.jsonl", "--resume"], "odd.jsonl: line 1: not an answer"),
        (["--output", "{tmp}/x.json", "--resume", "--html", "{tmp}/page"], "--html with --resume"),
        (["--output", "{tmp}/plain/x.json"], "plain"),
        (["--output", "{tmp}/latin.jsonl", "--resume"], "latin.jsonl: not UTF-8"),
        (["--seed", "-1"], "seed must be in [0, 2^63)"),
        (["--seed", str(2**64)], "seed must be in [0, 2^63)"),
    ],
)
def test_bad_options_and_outputs_are_one_line_before_any_work(extra, message, tmp_path, capsys):
    (tmp_path / "bad.jsonl").write_text('{"file": "a", "decision": "predict"\n')
    (tmp_path / "bad.json").write_text("[{")
    (tmp_path / "odd.jsonl").write_text("[1, 2]\n")
    (tmp_path / "plain").write_text("a file where a folder is needed")
    (tmp_path / "latin.jsonl").write_bytes(b'{"file": "\xe9t\xe9", "decision": "predict"}\n')
    extra = [e.format(tmp=tmp_path) for e in extra]
    t0 = time.perf_counter()
    assert main(["predict", str(EXAMPLE), "--explain", "none", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("bxrd: error:") and message in err, err
    assert time.perf_counter() - t0 < 30


def test_long_scans_are_not_kept_when_no_page_needs_them(folder):
    from bxrd.inference.reading import FileReader

    axis = load_predictor(shipped("default.ckpt")).axis
    read = [
        FileReader(axis, None, False, True, False, None, 0, keep_measured=keep)([folder / "p0.txt"])
        for keep in (True, False)
    ]
    (kept,), (dropped,) = read
    assert len(kept[0].measured.two_theta) > 3000 and len(dropped[0].measured.two_theta) == 0
    assert dropped[0].measured.wavelength == kept[0].measured.wavelength == 1.54184
    assert np.array_equal(dropped[0].gridded.intensity, kept[0].gridded.intensity)


def test_reader_tasks_stop_at_their_byte_budget(tmp_path, monkeypatch):
    from bxrd.inference import prefetch

    sizes = [40, 40, 40, 200, 10]
    files = []
    for i, n in enumerate(sizes):
        files.append(tmp_path / f"f{i}")
        files[-1].write_bytes(b"x" * n)
    monkeypatch.setattr(prefetch, "TASK_BYTES", 100)
    tasks = [[f.name for f in t] for t in prefetch._tasks([*files, tmp_path / "missing"])]
    assert tasks == [["f0", "f1"], ["f2"], ["f3"], ["f4", "missing"]]
    monkeypatch.setattr(prefetch, "FILES_PER_TASK", 1)
    assert len(list(prefetch._tasks(files))) == 5


@pytest.mark.slow
def test_killed_run_resumes_without_duplicates(folder, tmp_path):
    out = tmp_path / "answers.jsonl"
    cmd = [
        sys.executable,
        "-m",
        "bxrd.cli",
        "predict",
        str(folder),
        "--output",
        str(out),
        "--explain",
        "fast",
        "--chunk_size",
        "1",
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1])
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 2):
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    first = out.read_text()
    assert 2 <= first.count("\n") < 8
    with out.open("a") as fh:
        fh.write('{"file": "torn')  # a line cut by the kill
    rc = subprocess.run([*cmd, "--resume"], cwd=Path(__file__).resolve().parents[1]).returncode
    assert rc == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    names = [Path(r["file"]).name for r in rows]
    assert sorted(names) == sorted(p.name for p in folder.iterdir()) and len(set(names)) == 8


def test_html_page_gets_every_answer_with_its_patterns(folder, tmp_path):
    out = tmp_path / "page"
    (folder / "broken.xy").write_text("not a pattern\n")
    args = ["predict", str(folder / "p1.txt"), str(folder / "broken.xy"), "--explain", "none"]
    assert main([*args, "--html", str(out), "--quiet"]) == 1  # one skipped
    record = json.loads((out / "report.json").read_text())
    page = (out / "index.html").read_text()
    assert "p1.txt" in page and "broken.xy" in page and "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page
    assert any("p1.txt" in str(r.get("file")) for r in record["answers"])


def _peak_rss_mb(folder, tmp_path):
    cmd = [sys.executable, "-m", "bxrd.cli", "predict", str(folder), "--explain", "fast"]
    cmd += ["--chunk_size", "3", "--output", str(tmp_path / f"{folder.name}.jsonl"), "--quiet"]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1])
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_files(tmp_path):
    xy = _pattern_rows()
    rng = np.random.default_rng(1)
    folders = {}
    for n in (4, 40):
        folders[n] = tmp_path / f"n{n}"
        folders[n].mkdir()
        for i in range(n):
            y = rng.poisson(xy[:, 1] * rng.uniform(0.5, 2.0))
            body = "\n".join(f"{a:.2f}, {b}" for a, b in zip(xy[:, 0], y, strict=True))
            (folders[n] / f"p{i:03d}.txt").write_text(f"##WAVELENGTH=1.54184\n{body}\n")
    small, large = (_peak_rss_mb(folders[n], tmp_path) for n in (4, 40))
    assert large < small * 1.1 + 50, (small, large)


def test_answers_list_the_closest_known_structures(folder, tmp_path):
    (a,) = predict_files([folder / "p1.txt"], options=PredictOptions(explain="none"))
    sims = [n["similarity"] for n in a.neighbours]
    assert len(a.neighbours) == 3 and sims == sorted(sims, reverse=True)
    assert all(0.0 <= s <= 1.0 + 1e-6 for s in sims) and "closest known" in a.text()
    off = PredictOptions(explain="none", library=None)
    (b,) = predict_files([folder / "p1.txt"], options=off)
    assert b.neighbours == [] and b.probabilities == a.probabilities
    from bxrd.data.search_match import SearchLibrary
    from bxrd.errors import BxrdInputError
    from bxrd.inference.loading import load_predictor
    from bxrd.inference.pipeline import search_library
    from bxrd.xrd.axis import Axis

    shipped = SearchLibrary.load(pipeline.shipped("library.npz"))
    axis = load_predictor(pipeline.default_checkpoint()).axis
    assert shipped.axis == axis
    # same number of points, another wavelength: the shipped library is left out, a given
    # one is refused, never compared point by point at other angles
    other = Axis(axis.grid, 0.7093)
    assert search_library("shipped", other) is None
    mo = SearchLibrary(shipped.patterns[:2], shipped.structure_id[:2], shipped.formula[:2],
                       shipped.space_group[:2], axis=other)  # fmt: skip
    with pytest.raises(BxrdInputError, match="mo.npz"):
        search_library(str(mo.save(tmp_path / "mo.npz")), axis)
    np.savez(tmp_path / "tiny.npz", patterns=np.ones((2, 7)))
    with pytest.raises(BxrdInputError, match="tiny.npz"):
        predict_files(
            [folder / "p1.txt"], options=PredictOptions(library=str(tmp_path / "tiny.npz"))
        )  # noqa: E501
    # a library entry's note (a DFT hybrid cell's frozen-molecule group) reaches the JSON,
    # the text line and the page, beside that entry only
    from bxrd.data.search_match import ORDERED_MOLECULE
    from bxrd.report.html import HtmlReport

    noted = SearchLibrary(shipped.patterns[:3], ["s0", "s1", "s2"], ["A", "B", "C"],
                          ["Pm (6)"] * 3, axis=axis, note=["", ORDERED_MOLECULE, ""])  # fmt: skip
    (c,) = predict_files([folder / "p1.txt"], options=PredictOptions(explain="none", library=noted))
    notes = {n["formula"]: n["note"] for n in c.to_json()["neighbours"]}
    assert notes == {"A": "", "B": ORDERED_MOLECULE, "C": ""}
    assert "B Pm (6)† " in c.text() and "A Pm (6) " in c.text() and "C Pm (6) " in c.text()
    assert c.text().count(ORDERED_MOLECULE) == 1  # the note once, after the list
    assert f"; † {ORDERED_MOLECULE}" in c.text()
    with HtmlReport(tmp_path / "page", axis) as report:
        report.add_answer(c)
    page = (tmp_path / "page" / "index.html").read_text()
    assert "B Pm (6)† " in page and f"; † {ORDERED_MOLECULE}" in page and "A Pm (6) " in page


def test_the_answer_carries_its_conformal_set_in_json_text_and_page(model, tmp_path):
    """The set is the most probable classes while the probability above them is ≤ q̂."""
    answer = predict_files([EXAMPLE], model=model, options=PredictOptions(explain="none"))[0]
    ps = answer.to_json()["prediction_set"]
    assert ps["coverage"] == model.conformal.coverage
    ranked = sorted(answer.probabilities, key=lambda c: -answer.probabilities[c])
    assert ps["classes"] == ranked[: len(ps["classes"])] and ps["classes"][0] == answer.top_label
    above = sum(answer.probabilities[c] for c in ranked[: len(ps["classes"]) - 1])
    after = above + answer.probabilities[ranked[len(ps["classes"]) - 1]]
    q = model.conformal.qhat()
    assert above <= q + 1e-5 and after > q - 1e-5
    assert f"{ps['coverage']:.0%} set (conformal): {ps['classes'][0]}" in answer.text()
    out = tmp_path / "page"
    assert main(["predict", str(EXAMPLE), "--explain", "none", "--html", str(out), "--quiet"]) == 0
    assert "set (conformal)</dt>" in (out / "index.html").read_text()


def test_coverage_option_widens_the_set_and_refuses_values_outside_0_1(capsys):
    sizes = []
    for coverage in ("0.5", "0.9", "0.999"):
        capsys.readouterr()
        args = ["predict", str(EXAMPLE), "--explain", "none", "--json", "--coverage", coverage]
        assert main(args) == 0
        ps = json.loads(capsys.readouterr().out)["prediction_set"]
        assert ps["coverage"] == float(coverage)
        sizes.append(len(ps["classes"]))
    assert sizes[0] <= sizes[1] <= sizes[2] and sizes[2] > sizes[0]
    assert main(["predict", str(EXAMPLE), "--coverage", "1.5"]) == 2
    assert "coverage must be in (0, 1), got 1.5" in capsys.readouterr().err


def test_per_class_sets_use_each_class_s_own_quantile_and_need_the_held_out_classes(capsys):
    """--sets_by_class: a class is in the set when its score is within its own q̂_c; a
    class with too few held-out patterns (q̂_c = ∞) is in every set."""
    from bxrd.errors import BxrdInputError
    from bxrd.uq.conformal import ConformalSets, class_scores

    model = load_predictor(shipped("default.ckpt"))
    args = ["predict", str(EXAMPLE), "--explain", "none", "--json", "--sets_by_class"]
    assert main(args) == 0
    row = json.loads(capsys.readouterr().out)
    ps = row["prediction_set"]
    assert ps["by_class"] is True and ps["coverage"] == model.conformal.coverage
    probs = torch.tensor([[row["probabilities"][c] for c in model.class_names]])
    qhat = model.conformal.class_qhat(len(model.class_names))
    inside = (class_scores(probs)[0] <= qhat + 1e-6).tolist()
    names = model.class_names
    assert sorted(ps["classes"]) == sorted(c for c, i in zip(names, inside, strict=True) if i)
    assert all(c in ps["classes"] for c, q in zip(names, qhat, strict=True) if q == math.inf)
    assert ps["always_in"] == int(qhat.isinf().sum()) > 0  # the shipped sets: 3 classes seen
    # sets fitted before their classes were kept: marginal only, and said so
    model.conformal = ConformalSets(model.conformal.scores, model.conformal.coverage)
    with pytest.raises(BxrdInputError, match="marginal conformal sets only"):
        predict_files([EXAMPLE], model=model, options=PredictOptions(sets_by_class=True))


def test_an_ensemble_file_of_the_shipped_models_answers_with_their_mean(tmp_path, capsys):
    """make_ensemble bundles default + laplace; bxrd predict answers with the members' mean."""
    out = tmp_path / "ens.ckpt"
    members = [str(shipped("default.ckpt")), str(shipped("laplace.ckpt"))]
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_ensemble.py"
    cmd = [sys.executable, str(script), "--members", *members, "--out", str(out)]
    made = subprocess.run(cmd, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    again = subprocess.run([*cmd[:-1], members[0]], capture_output=True, text=True)
    assert again.returncode != 0 and "is one of the members" in again.stderr
    rows = []
    for ckpt in (*members, str(out)):
        capsys.readouterr()
        args = ["predict", str(EXAMPLE), "--explain", "fast", "--json", "--checkpoint", ckpt]
        assert main(args) == 0
        rows.append(json.loads(capsys.readouterr().out))
    ens = rows[2]
    assert ens["method"] == "ensemble" and ens["far_from_training"] is not None
    # default's density and laplace's: the median of two is the smaller relative distance
    thresholds = [load_predictor(m).feature_density.threshold for m in members]
    relative = [r["feature_distance"] / t for r, t in zip(rows, thresholds, strict=False)]
    assert ens["feature_distance"] == pytest.approx(min(relative), rel=1e-4)
    for c, p in ens["probabilities"].items():
        assert p == pytest.approx(
            (rows[0]["probabilities"][c] + rows[1]["probabilities"][c]) / 2, abs=2e-6
        )
    assert sum(ens["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert ens["prediction_set"] is None  # no sets until fitted on the ensemble's own predictive
    assert ens["regions"]  # explained: attributions of the ensemble's mean probability


def test_shipped_checkpoints_are_found_by_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file called "laplace" here
    args = ["predict", str(EXAMPLE), "--explain", "none", "--json", "--checkpoint", "laplace"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["method"] == "laplace"
    assert main([*args[:-1], "lapalce"]) == 2
    err = capsys.readouterr().err
    assert "lapalce: no such checkpoint (shipped ones, by name: " in err and "laplace" in err
    # the shipped ensemble: three members' samples pooled, with its own conformal sets
    assert main([*args[:-1], "ensemble"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["method"] == "ensemble" and row["prediction_set"]["classes"][0] == row["label"]


def test_a_named_class_needs_a_training_perovskite_like_the_pattern(folder, model, tmp_path):
    from bxrd.data.search_match import SearchLibrary
    from bxrd.inference.answer import perovskite_match

    (a,) = predict_files([folder / "p1.txt"], model=model, options=PredictOptions(explain="none"))
    x = a.model_input.intensity
    # the shipped library of the model's training perovskites holds CsPbI3: the example is
    # like one of them, and the answer keeps its class
    assert a.perovskite_match["similarity"] > a.perovskite_match["floor"] == 0.5
    assert not a.perovskite_match["withheld"] and a.decision == "predict"

    def library(rows: np.ndarray) -> str:
        lib = SearchLibrary(rows, ["s"] * len(rows), ["F"] * len(rows), ["P1 (1)"] * len(rows),
                            axis=model.axis)  # fmt: skip
        return str(lib.save(tmp_path / f"lib{len(rows)}.npz"))

    # the pattern itself: cosine 1 (a library object serves as well as its file)
    for given in (library(x[None]), SearchLibrary.load(library(x[None]))):
        (same,) = predict_files(
            [folder / "p1.txt"], model=model,
            options=PredictOptions(explain="none", perovskites=given),
        )  # fmt: skip
        assert same.perovskite_match["similarity"] == pytest.approx(1.0, abs=1e-4)
    # only peaks where the pattern has none: cosine 0, so the named class is withheld
    apart = np.zeros((1, len(x)), dtype=np.float32)
    apart[0, np.argsort(x)[:5]] = 1.0
    (b,) = predict_files(
        [folder / "p1.txt"], model=model,
        options=PredictOptions(explain="none", perovskites=library(apart)),
    )  # fmt: skip
    assert b.perovskite_match["similarity"] < 0.01 and b.perovskite_match["withheld"]
    assert b.decision == "abstain" and b.label is None and b.top_label == a.top_label
    assert b.probabilities == a.probabilities  # the model's answer is unchanged, only withheld
    # its conformal set widens by `other` (never narrows): the leading class stays in it
    assert set(a.prediction_set["classes"]) | {"other"} == set(b.prediction_set["classes"])
    assert a.prediction_set["widened"] is None and a.prediction_set["conformal_classes"] is None
    if "other" not in a.prediction_set["classes"]:  # it grew: says why, keeps the conformal set
        assert b.prediction_set["widened"] == WIDENED_UNLIKE
        assert b.prediction_set["conformal_classes"] == a.prediction_set["classes"]
        assert "(conformal, widened: unlike every training perovskite)" in b.text()
    else:  # nothing was added: the conformal set itself
        assert b.prediction_set["widened"] is None
    assert "no training perovskite like it" in b.text()
    assert "UNLIKE EVERY TRAINING PEROVSKITE" in b.text()
    # an empty library is refused with its name, not an IndexError deep in the reader
    from bxrd.errors import BxrdInputError

    with pytest.raises(BxrdInputError, match="lib0.npz: the library holds no pattern"):
        empty = PredictOptions(explain="none", perovskites=library(x[None][:0]))
        predict_files([folder / "p1.txt"], model=model, options=empty)
    (c,) = predict_files([folder / "p1.txt"], model=model,
                         options=PredictOptions(explain="none", perovskites=None))  # fmt: skip
    assert c.perovskite_match is None and c.decision == "predict"
    # `other` and `no` claim no perovskite: never withheld; `yes` claims one
    assert not perovskite_match(0.1, 0.5, "other")["withheld"]
    assert not perovskite_match(0.1, 0.5, "no")["withheld"]
    assert perovskite_match(0.1, 0.5, "yes")["withheld"]
    assert perovskite_match(0.1, 0.5, "Pnma (62)")["withheld"]
    assert not perovskite_match(0.5, 0.5, "Pnma (62)")["withheld"]  # the floor itself passes
    with pytest.raises(BxrdInputError, match="cosine similarity in \\[0, 1\\], got 1.5"):
        PredictOptions(min_perovskite_similarity=1.5)


def test_a_one_family_pattern_has_every_class_in_its_set(model, tmp_path):
    """Peaks that are all orders of one spacing (a film's h00 series) fix d, not the space
    group: the answer abstains and its prediction set holds every class, saying why."""
    from bxrd.inference.pipeline import search_library

    lam, d = 1.54184, 6.30  # (100), (200), (300) of a cubic MAPbI3-like cell
    tt = np.arange(10.0, 80.0, 0.02)
    centres = [2 * np.degrees(np.arcsin(n * lam / (2 * d))) for n in (1, 2, 3)]
    y = 20 + sum(h * np.exp(-0.5 * ((tt - c) / 0.06) ** 2)
                 for h, c in zip((1000, 600, 150), centres, strict=True))  # fmt: skip
    path = tmp_path / "h00.xy"
    path.write_text("\n".join(f"{a:.2f} {b:.1f}" for a, b in zip(tt, y, strict=True)))
    (a,) = predict_files([path], model=model,
                         options=PredictOptions(explain="none", wavelength="CuKa"))  # fmt: skip
    assert a.one_family is not None and a.one_family["d_spacing"] == pytest.approx(d, abs=0.05)
    assert a.decision == "abstain"
    ps = a.prediction_set
    assert ps["widened"] == WIDENED_ONE_FAMILY and set(ps["classes"]) == set(model.class_names)
    p = [a.probabilities[c] for c in ps["classes"]]
    assert p == sorted(p, reverse=True)  # still most probable first
    assert ps["conformal_classes"] == ps["classes"][: len(ps["conformal_classes"])]
    assert len(ps["conformal_classes"]) < len(model.class_names)  # the conformal set, kept
    assert "90% set (conformal, widened: one reflection family): every class" in a.text()
    from bxrd.report.html import HtmlReport

    with HtmlReport(tmp_path / "page", model.axis) as report:
        report.add_answer(a)
    assert (
        "(conformal, widened: one reflection family)"
        in (tmp_path / "page" / "index.html").read_text()
    )
    # also when the perovskite floor withholds the class (one family first: every class),
    # and for class-conditional sets
    shipped = search_library("shipped", model.axis, "perovskites.npz")
    both = PredictOptions(explain="none", wavelength="CuKa", perovskites=shipped,
                          min_perovskite_similarity=1.0)  # fmt: skip
    by_class = PredictOptions(explain="none", wavelength="CuKa", sets_by_class=True)
    for options in (both, by_class):
        (c,) = predict_files([path], model=model, options=options)
        assert c.prediction_set["widened"] == WIDENED_ONE_FAMILY
        assert set(c.prediction_set["classes"]) == set(model.class_names)
    assert c.prediction_set["by_class"]
    if a.top_label not in ("other", "no"):
        (c,) = predict_files([path], model=model, options=both)
        assert c.perovskite_match["withheld"] and WIDENED_UNLIKE not in c.text()
    # a pattern that is not one family keeps its conformal set, unwidened
    (b,) = predict_files([EXAMPLE], model=model, options=PredictOptions(explain="none"))
    assert b.one_family is None and b.prediction_set["widened"] is None
    assert len(b.prediction_set["classes"]) < len(model.class_names)


def test_an_unwritable_output_is_named_as_given(tmp_path, monkeypatch):
    import bxrd.fileio as fileio

    def refuse(src, dst):  # a disk that refuses the final move
        raise PermissionError(13, "Permission denied", str(src))

    monkeypatch.setattr(fileio.os, "replace", refuse)
    with pytest.raises(OSError) as info:
        fileio.atomic_write_text(tmp_path / "a.json", "[]")
    assert info.value.filename == str(tmp_path / "a.json") and info.value.errno == 13
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind


@pytest.mark.parametrize(
    ("raised", "code", "err"),
    [
        (KeyboardInterrupt(), 130, "bxrd: interrupted"),
        (BrokenPipeError(32, "Broken pipe"), 141, ""),
        (
            PermissionError(13, "Permission denied", "/x/out.json"),
            2,
            "bxrd: error: /x/out.json: Permission denied",
        ),
        (OSError(28, "No space left on device"), 2, "bxrd: error: No space left on device"),
    ],
)
def test_interrupts_and_system_errors_are_one_line_or_silent(
    raised, code, err, monkeypatch, capsys
):
    import bxrd.cli.predict as predict_cli

    def fail(argv):
        raise raised

    monkeypatch.setattr(predict_cli, "predict_main", fail)
    assert main(["predict", str(EXAMPLE)]) == code
    assert capsys.readouterr().err.strip() == err


def test_another_seed_says_the_sets_were_fitted_with_the_default(capsys):
    assert main(["predict", str(EXAMPLE), "--explain", "none", "--seed", "3"]) == 0
    assert "fitted with the MC masks of seed 0" in capsys.readouterr().err
    assert main(["predict", str(EXAMPLE), "--explain", "none"]) == 0
    assert "fitted with" not in capsys.readouterr().err
