"""Two CPU processes under ``strategy=ddp`` (gloo): distinct data per rank, metrics over all
ranks equal to one process's, one ``final.ckpt`` with the post-hoc fit of the full data."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bxrd.crystal.ter import TERConfig
from bxrd.data.build import BuildConfig, build_dataset
from bxrd.data.datamodule import XRDDataModule
from bxrd.data.splits import SplitConfig
from bxrd.uq.calibration import classification_metrics
from bxrd.uq.deterministic import DeterministicClassifier

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_ddp_ranks_draw_different_data_and_score_like_one_process(tmp_path):
    dataset = build_dataset(
        BuildConfig(
            output=str(tmp_path / "data"),
            templates=["builtin"],
            ter=TERConfig(max_per_template=2),
            split=SplitConfig(vss_val_fraction=0.25),
            n_augmented=1,
            n_jobs=1,
        ),
        progress=False,
    )
    trainer = tmp_path / "ddp.yaml"
    trainer.write_text(
        f"""max_epochs: 2
accelerator: cpu
devices: 2
strategy: ddp
log_every_n_steps: 1
enable_progress_bar: false
logger:
  class_path: pytorch_lightning.loggers.TensorBoardLogger
  init_args: {{save_dir: {tmp_path / "runs"}, name: ddp}}
callbacks:
  - class_path: bxrd.callbacks.calibration.CalibrationFigures
  - class_path: tests.ddp_probe.BatchProbe
    init_args: {{out: {tmp_path / "probe"}}}
"""
    )
    cmd = [
        sys.executable, "-m", "bxrd.cli", "fit",
        "--config", "configs/quickstart.yaml",
        "--model", "configs/model/deterministic.yaml",
        "--model.init_args.backbone.channels", "[8, 16, 32]",
        "--model.init_args.backbone.hidden", "32",
        "--data.dataset", str(dataset),
        "--data.samples_per_epoch", "64",
        "--data.batch_size", "16",
        "--trainer", str(trainer),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    ranks = [json.loads((tmp_path / "probe" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert all(r["world"] == 2 for r in ranks)
    assert len(ranks[0]["digests"]) == len(ranks[1]["digests"]) == 4  # 64 / 2 ranks / 16, x2
    assert not set(ranks[0]["digests"]) & set(ranks[1]["digests"])
    assert all(len(set(r["digests"])) == 4 for r in ranks)  # Lightning set the epoch
    assert ranks[0]["metrics"] == ranks[1]["metrics"]  # synced over all ranks

    finals = list((tmp_path / "runs").rglob("final.ckpt"))
    assert len(finals) == 1
    (last,) = (tmp_path / "runs").rglob("last.ckpt")
    model = DeterministicClassifier.load_from_checkpoint(last, map_location="cpu").eval()
    dm = XRDDataModule(str(dataset), batch_size=16)
    dm.setup("validate")
    metrics = classification_metrics(dm.n_classes, prefix="val/")
    with torch.no_grad():
        for batch in dm.val_dataloader():
            metrics.update(model.eval_probs(batch["pattern"]), batch["label"])
    single = {k: float(v) for k, v in metrics.compute().items()}
    for key in ("val/acc", "val/ece", "val/nll"):
        assert ranks[0]["metrics"][key] == pytest.approx(single[key], abs=1e-5)

    # the post-hoc temperature of final.ckpt is the one fitted on the whole validation set,
    # with the network final.ckpt holds (batch-norm statistics recomputed after training)
    fitted = DeterministicClassifier.load_from_checkpoint(finals[0], map_location="cpu").eval()
    expected = fitted.fit_temperature(dm.val_dataloader())
    final = torch.load(finals[0], map_location="cpu", weights_only=False)
    # (agrees to 3e-4: the DDP fit and this refit differ in the last float32 digits)
    assert float(final["state_dict"]["temperature"]) == pytest.approx(expected, rel=1e-3)
    assert expected != pytest.approx(1.0)
