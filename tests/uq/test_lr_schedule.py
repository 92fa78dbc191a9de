"""The cosine learning-rate schedule falls from ``lr`` to 0 over the fit's optimizer steps."""

import math

import pytest
import pytorch_lightning as pl

from bxrd.uq.mc_dropout import MCDropoutClassifier

from .conftest import SMALL
from .toy import LENGTH, loaders


def _fit(schedule: str, **trainer_kw):
    pl.seed_everything(0, verbose=False)
    model = MCDropoutClassifier(3, LENGTH, backbone=SMALL, lr=0.01, lr_schedule=schedule)
    seen: list[float] = []

    class Record(pl.Callback):
        def on_train_batch_start(self, trainer, module, batch, i):
            seen.append(trainer.optimizers[0].param_groups[0]["lr"])

    trainer = pl.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        callbacks=[Record()],
        **trainer_kw,
    )
    train, _ = loaders(0)
    trainer.fit(model, train)
    return seen, len(train) * trainer.max_epochs


def test_cosine_follows_half_a_cosine_over_every_step():
    seen, steps = _fit("cosine", max_epochs=2)
    assert len(seen) == steps
    for k in (0, steps // 2, steps - 1):
        assert seen[k] == pytest.approx(0.005 * (1 + math.cos(math.pi * k / steps)))


def test_constant_keeps_lr_and_cosine_refuses_an_open_ended_fit():
    seen, _ = _fit("constant", max_epochs=1)
    assert set(seen) == {0.01}
    with pytest.raises(ValueError, match="max_epochs or trainer.max_steps"):
        _fit("cosine", max_epochs=-1, max_time="00:00:00:05")
