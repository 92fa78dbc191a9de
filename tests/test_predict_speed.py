"""The speed paths of ``bxrd predict`` answer exactly what the plain paths answer.

One backbone pass shared by the MC samples and the feature density, the reader process that
reads ahead, the search library loaded once per process.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import bxrd.inference.pipeline as pipeline
import bxrd.inference.prefetch as prefetch
from bxrd.inference.dropout_predictor import DropoutPredictor
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.pipeline import PredictOptions, iter_answers, search_library
from bxrd.models.vgg1d import VGG1D, VGG1DConfig
from bxrd.uq.feature_density import FeatureDensity

EXAMPLE = shipped("example_CsPbI3.txt")


def _smooth_rand(n: int, length: int = 200) -> torch.Tensor:
    """Random patterns (n, length) smoothed over 11 points: no noise-dominated far flag."""
    raw = torch.rand(n, 1, length + 10)
    return torch.nn.functional.avg_pool1d(raw, 11, stride=1)[:, 0]


def _toy_predictor(seed: int = 0) -> DropoutPredictor:
    torch.manual_seed(seed)
    config = VGG1DConfig(channels=(4, 8), hidden=16, head_length=8)
    net = VGG1D(5, 200, config)
    for m in net.modules():  # non-trivial batch-norm statistics
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    with torch.no_grad():
        z = net.eval().penultimate(_smooth_rand(40))
    a = torch.randn(16, 16)
    density = FeatureDensity(z[:5].clone(), a @ a.T / 16 + torch.eye(16), 0.0, 0.9)
    density.threshold = float(torch.quantile(density.score(z), 0.5))  # half are far
    hp = {
        "class_names": [f"c{i}" for i in range(5)],
        "abstain_threshold": 0.5,
        "num_samples": 12,
        "max_batch": 512,
    }
    return DropoutPredictor(net, hp, {}, density).eval()


def test_shared_backbone_pass_equals_two_passes_and_runs_the_backbone_once():
    model = _toy_predictor()
    x = _smooth_rand(9)
    seeds = [1000 + 7 * i for i in range(9)]
    two = model.predict_proba(x, seeds=seeds)
    distance, far = model.feature_density.assess(model.net, x)
    passes = []
    hook = model.net.norm.register_forward_hook(lambda *_: passes.append(1))  # backbone input
    try:
        shared, shared_distance, shared_far = model.predict_and_assess(x, seeds)
    finally:
        hook.remove()
    assert len(passes) == 1  # one backbone pass for samples and density
    for name in ("probs", "std", "entropy", "mutual_information", "abstain", "topk_indices"):
        assert torch.equal(getattr(shared, name), getattr(two, name)), name
    # the prediction's backbone folds batch norm (models/inference_backbone.py): float-close
    assert torch.allclose(shared_distance, distance, rtol=1e-5) and torch.equal(shared_far, far)
    assert 0 < int(far.sum()) < len(far)  # the flags are a real test, not all equal
    alone, _, _ = model.predict_and_assess(x[4:5], seeds[4:5])  # seeds tie samples to patterns
    assert torch.allclose(alone.probs[0], shared.probs[4], atol=1e-6)


def test_seeded_prediction_runs_the_inference_backbone(monkeypatch):
    """predict's samples come from the faster backbone copy, not the plain network."""
    from bxrd.models.inference_backbone import InferenceBackbone

    model = _toy_predictor()
    calls = []
    plain_call = InferenceBackbone.__call__
    monkeypatch.setattr(
        InferenceBackbone, "__call__", lambda self, x: calls.append(len(x)) or plain_call(self, x)
    )
    model.predict_and_assess(torch.rand(5, 200), [1, 2, 3, 4, 5])
    assert calls == [5]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Eleven noisy copies of the example and a bad file among them."""
    out = tmp_path_factory.mktemp("reader")
    rows = [ln.split(",") for ln in EXAMPLE.read_text().splitlines() if not ln.startswith("#")]
    xy = np.array(rows, dtype=float)
    rng = np.random.default_rng(5)
    paths = []
    for i in range(11):
        y = rng.poisson(xy[:, 1] * (0.5 + 0.3 * i))
        path = out / f"p{i:02d}.txt"
        body = "\n".join(f"{a:.2f}, {b}" for a, b in zip(xy[:, 0], y, strict=True))
        path.write_text(f"##WAVELENGTH=1.54184\n{body}\n")
        paths.append(path)
        if i == 4:
            (out / "p04_bad.xy").write_text("10 1\n10 2\n")
            paths.append(out / "p04_bad.xy")
    return paths


@pytest.mark.skipif(not prefetch.can_fork(), reason="the reader process needs fork")
def test_reader_process_gives_the_same_answers_in_order_and_restores_threads(
    files, monkeypatch, tmp_path
):
    model = load_predictor(shipped("default.ckpt"))
    options = dict(explain="none", keep_arrays=False, chunk_size=4)
    plain = [
        a.to_json() for a in iter_answers(model, files, PredictOptions(reader=False, **options))
    ]
    monkeypatch.setattr(pipeline, "READER_MIN_FILES", 0)
    monkeypatch.setattr(prefetch, "FILES_PER_TASK", 3)
    marker = tmp_path / "reader.pid"
    start = prefetch._start
    monkeypatch.setattr(
        prefetch, "_start", lambda *args: (marker.write_text(str(os.getpid())), start(*args))
    )
    threads = torch.get_num_threads()
    stream = iter_answers(model, files, PredictOptions(**options))
    read_ahead = [next(stream).to_json()]
    assert torch.get_num_threads() == threads  # the caller's setting while the stream waits
    read_ahead += [a.to_json() for a in stream]
    assert torch.get_num_threads() == threads
    assert [a["file"] for a in read_ahead] == [str(f) for f in files]
    assert [a["decision"] for a in read_ahead].count("skipped") == 1
    assert read_ahead == plain  # same numbers, neighbours, errors, order
    assert int(marker.read_text()) != os.getpid()  # read by another process


def test_search_library_is_loaded_once_per_process_until_its_file_changes(tmp_path):
    model_axis = load_predictor(shipped("default.ckpt")).axis
    copy = tmp_path / "library.npz"
    shutil.copy(shipped("library.npz"), copy)
    first = search_library(str(copy), model_axis)
    assert search_library(str(copy), model_axis) is first
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = search_library(str(copy), model_axis)
    assert again is not first and np.array_equal(again.patterns, first.patterns)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.skipif(not prefetch.can_fork(), reason="the reader process needs fork")
def test_reader_process_ends_with_a_killed_parent(files):
    script = f"""
import multiprocessing, time
import bxrd.inference.pipeline as pipeline, bxrd.inference.prefetch as prefetch
from bxrd.inference.loading import load_predictor, shipped
pipeline.READER_MIN_FILES = 0
prefetch.FILES_PER_TASK = 2
model = load_predictor(shipped("default.ckpt"))
options = pipeline.PredictOptions(explain="none", keep_arrays=False)
answers = pipeline.iter_answers(model, {[str(f) for f in files]!r}, options)
next(answers)
print(*[p.pid for p in multiprocessing.active_children()], flush=True)
time.sleep(120)
"""
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        readers = [int(p) for p in parent.stdout.readline().split()]
    finally:
        parent.kill()
        parent.wait()
    assert len(readers) == 1
    deadline = time.monotonic() + 10
    while _alive(readers[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(readers[0])


def test_fast_paths_answer_as_the_plain_paths(files, monkeypatch):
    """Decimal reader, batched gridding, inference backbone, 16-pattern passes vs the plain
    ones (loadtxt, one pattern at a time, the network as trained, 64-pattern passes)."""
    import bxrd.inference.reading as reading
    import bxrd.xrd.formats.text as text

    model = load_predictor(shipped("default.ckpt"))
    options = PredictOptions(explain="none", keep_arrays=False, reader=False)
    fast = [a.to_json() for a in iter_answers(model, files, options)]
    monkeypatch.setattr(text, "parse_decimal_table", lambda _: None)
    to_grids = reading.to_grids
    monkeypatch.setattr(
        reading, "to_grids", lambda scans, *a: [to_grids([s], *a)[0] for s in scans]
    )
    monkeypatch.setattr(DropoutPredictor, "inference_backbone", lambda self: None)
    monkeypatch.setattr(pipeline, "FORWARD_BATCH", 64)
    plain = [a.to_json() for a in iter_answers(model, files, options)]
    assert [a["file"] for a in fast] == [a["file"] for a in plain] == [str(f) for f in files]
    for f, p in zip(fast, plain, strict=True):
        for key in ("decision", "label", "seed", "neighbours", "far_from_training", "error"):
            assert f[key] == p[key], key
        if f["decision"] == "skipped":
            continue
        for name, prob in f["probabilities"].items():
            assert prob == pytest.approx(p["probabilities"][name], abs=2e-6)
            assert f["std"][name] == pytest.approx(p["std"][name], abs=2e-6)
        assert f["feature_distance"] == pytest.approx(p["feature_distance"], rel=1e-5)
    assert sum(a["decision"] == "skipped" for a in fast) == 1
