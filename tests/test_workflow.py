"""From data to answer through the command line: fit → test → report → predict."""

import json
from pathlib import Path

import pytest
import torch

from bxrd.cli import main
from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.splits import SplitConfig
from bxrd.inference.loading import load_classifier, read_checkpoint
from bxrd.training.lightning_cli import run_lightning
from bxrd.uq.checkpoint_format import save_checkpoint
from bxrd.uq.ensemble import ensemble_checkpoint

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mc_dropout", "laplace", "vi", "deterministic"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("wf")
    cfg = BuildConfig(
        output=str(out / "data"),
        ter=TERConfig(max_per_template=4),
        split=SplitConfig(vss_val_fraction=0.25),
        n_augmented=1,
        n_jobs=1,
    )
    return build_dataset(cfg, progress=False), out


def fit(dataset, model, root, *extra):
    args = [
        "fit",
        "--config",
        str(ROOT / "configs" / "quickstart.yaml"),
        "--model",
        str(ROOT / "configs" / "model" / f"{model}.yaml"),
        "--model.init_args.backbone.channels",
        "[8, 16, 32]",
        "--model.init_args.backbone.hidden",
        "32",
        "--data.dataset",
        str(dataset),
        "--data.build_config",
        "null",
        "--data.samples_per_epoch",
        "64",
        "--data.batch_size",
        "32",
        "--trainer.max_epochs",
        "1",
        "--trainer.logger.init_args.save_dir",
        str(root / "runs"),
        "--trainer.logger.init_args.name",
        model,
        "--trainer.enable_progress_bar",
        "false",
        *extra,
    ]
    cli = run_lightning(args)
    return Path(cli.trainer.log_dir), cli


@pytest.fixture(scope="module")
def fitted(dataset):
    path, root = dataset
    return {m: fit(path, m, root)[0] for m in MODELS}


@pytest.mark.parametrize("model", MODELS)
def test_fit_then_test_reproduces_the_predictive(dataset, fitted, model):
    path, root = dataset
    ckpt = fitted[model] / "checkpoints" / "final.ckpt"
    assert ckpt.is_file()
    cli = run_lightning(
        [
            "test",
            "--config",
            str(ROOT / "configs" / "quickstart.yaml"),
            "--model",
            str(ROOT / "configs" / "model" / f"{model}.yaml"),
            "--model.init_args.backbone.channels",
            "[8, 16, 32]",
            "--model.init_args.backbone.hidden",
            "32",
            "--data.dataset",
            str(path),
            "--data.build_config",
            "null",
            "--trainer.logger",
            "false",
            "--trainer.callbacks",
            "[]",
            "--trainer.enable_progress_bar",
            "false",
            "--ckpt_path",
            str(ckpt),
        ]
    )
    logged = float(cli.trainer.callback_metrics["test/acc"])
    loaded = load_classifier(ckpt)
    x, y = cli.datamodule.test_set.patterns, cli.datamodule.test_set.labels
    pred = loaded.predict_proba(x)
    assert torch.allclose(pred.probs.sum(-1), torch.ones(len(y)), atol=1e-5)
    if model in ("deterministic", "laplace"):  # deterministic predictive: exact equality
        assert float((pred.prediction == y).float().mean()) == pytest.approx(logged)


def test_tensorboard_has_calibration_and_entropy_figures(fitted):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(fitted["mc_dropout"]))
    acc.Reload()
    images = acc.Tags()["images"]
    assert "val/reliability" in images and "val/entropy" in images
    assert "val/ece" in acc.Tags()["scalars"]


def test_report_and_predict(dataset, fitted, tmp_path, capsys):
    path, _ = dataset
    ckpts = [str(fitted[m] / "checkpoints" / "final.ckpt") for m in ("mc_dropout", "vi", "laplace")]
    ensemble = tmp_path / "ensemble.ckpt"  # an ensemble file is reported beside its members
    save_checkpoint(ensemble_checkpoint([read_checkpoint(c) for c in ckpts]), ensemble)
    rc = main(
        [
            "report",
            "--checkpoint",
            *ckpts,
            str(ensemble),
            "--dataset",
            str(path),
            "--split",
            "val",
            "--output",
            str(tmp_path / "rep"),
            "--shap_patterns",
            "8",
        ]
    )
    assert rc == 0
    numbers = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert set(numbers["methods"]) == {"mc_dropout", "variational_inference", "laplace", "ensemble"}
    assert numbers["methods"].pop("ensemble")["set_coverage"] is None  # no sets of its own yet
    # bxrd test needs one model: the ensemble file is refused with one message, exit 2
    capsys.readouterr()
    args = ["test", "--config", str(ROOT / "configs" / "quickstart.yaml")]
    args += ["--data.dataset", str(path), "--data.build_config", "null"]
    args += ["--trainer.logger", "false", "--ckpt_path", str(ensemble)]
    assert main(args) == 2
    assert "is an ensemble of several models" in capsys.readouterr().err
    for row in numbers["methods"].values():
        assert 0 <= row["ece"] <= 1 and row["nll"] > 0
        # bxrd fit fitted conformal sets on this (validation) split
        assert 0 < row["set_coverage"] <= 1 and 1 <= row["mean_set_size"] <= len(numbers["classes"])
    # Laplace's probit mean does not depend on the MC seed: in-sample, the promise is exact
    assert numbers["methods"]["laplace"]["set_coverage"] >= 0.9
    page = (tmp_path / "rep" / "index.html").read_text()
    for fig in numbers["figures"]:
        assert (tmp_path / "rep" / fig).is_file() and fig in page

    example = ROOT / "checkpoints" / "example_CsPbI3.txt"
    capsys.readouterr()
    rc = main(["predict", str(example), "--checkpoint", ckpts[0], "--json"])
    answer = json.loads(capsys.readouterr().out)
    assert rc == 0
    for key in (
        "file",
        "task",
        "label",
        "probabilities",
        "std",
        "entropy",
        "mutual_information",
        "decision",
        "method",
    ):
        assert key in answer
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert answer["method"] == "mc_dropout" and answer["mutual_information"] is not None
    copy = tmp_path / "copy_of_example.txt"  # the same pattern under another name
    copy.write_text(example.read_text())
    rc = main(["predict", str(example), str(copy), "--checkpoint", ckpts[2], "--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc == 0 and len(rows) == 2 and rows[0]["probabilities"] == rows[1]["probabilities"]


def test_predict_reports_bad_files_and_checkpoints(tmp_path, capsys):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00garbage")
    assert (
        main(
            ["predict", str(ROOT / "checkpoints" / "example_CsPbI3.txt"), "--checkpoint", str(bad)]
        )
        == 2
    )
    assert "bad.ckpt" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["predict", str(empty)]) == 2
    assert "no pattern files" in capsys.readouterr().err
    (empty / "nan.xy").write_text("10 1\n11 nan\n" + "".join(f"{12 + i} 1\n" for i in range(20)))
    assert main(["predict", str(empty), "--wavelength", "CuKa"]) == 2
    assert "nan.xy" in capsys.readouterr().err


def test_test_run_logs_attribution_and_calibration_figures(dataset, fitted, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    path, _ = dataset
    cli = run_lightning(
        [
            "test",
            "--config",
            str(ROOT / "configs" / "quickstart.yaml"),
            "--model.init_args.backbone.channels",
            "[8, 16, 32]",
            "--model.init_args.backbone.hidden",
            "32",
            "--data.dataset",
            str(path),
            "--data.build_config",
            "null",
            "--trainer.logger.init_args.save_dir",
            str(tmp_path),
            "--trainer.enable_progress_bar",
            "false",
            "--ckpt_path",
            str(fitted["mc_dropout"] / "checkpoints" / "final.ckpt"),
        ]
    )
    acc = EventAccumulator(cli.trainer.log_dir)
    acc.Reload()
    images = acc.Tags()["images"]
    assert "test/reliability" in images and "test/entropy" in images
    assert any(tag.startswith("attribution/") for tag in images)


def test_fit_resumes_from_the_last_checkpoint_of_the_experiment(dataset, fitted):
    path, root = dataset
    last = fitted["deterministic"] / "checkpoints" / "last.ckpt"
    assert last.is_file()
    folder, cli = fit(
        path, "deterministic", root, "--trainer.max_epochs", "2", "--ckpt_path", "last"
    )
    assert Path(cli.trainer.ckpt_path) == last  # resumed, not started afresh
    assert cli.trainer.current_epoch == 2 and folder != fitted["deterministic"]
    assert (folder / "checkpoints" / "last.ckpt").is_file()


def test_fit_with_a_missing_dataset_names_the_yaml_and_builds_nothing(tmp_path, capsys):
    missing = tmp_path / "typo" / "dataset.h5"
    config = tmp_path / "fit.yaml"
    config.write_text(
        "model:\n  class_path: bxrd.uq.mc_dropout.MCDropoutClassifier\n"
        f"data:\n  dataset: {missing}\ntrainer:\n  logger: false\n  max_epochs: 1\n"
    )
    assert main(["fit", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and f"{missing} does not exist" in err and "bxrd data build" in err
    assert not missing.parent.exists()
