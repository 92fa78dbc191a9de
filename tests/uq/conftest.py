import pytest
import pytorch_lightning as pl

from bxrd.models.vgg1d import VGG1DConfig
from bxrd.uq.methods import UQMethod

from .toy import LENGTH, loaders

SMALL = VGG1DConfig(channels=(8, 16, 32), head_length=8, hidden=64, dropout=0.3)
#: every trainable method of the registry, with its toy settings
SETTINGS = {
    UQMethod.DETERMINISTIC: {},
    UQMethod.MC_DROPOUT: {"num_samples": 20},
    UQMethod.VI: {"num_samples": 20, "lr": 3e-3},
    UQMethod.LAPLACE: {"num_samples": 20},
}
VARIANTS = {m.short_name: (m.classifier(), SETTINGS[m]) for m in UQMethod if m in SETTINGS}


def quiet_trainer(epochs, **kwargs):
    """A CPU trainer without logger, checkpoints, progress bar or summary."""
    return pl.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        **kwargs,
    )


def train(name, seed=0, epochs=12):
    pl.seed_everything(seed, verbose=False)
    cls, kwargs = VARIANTS[name]
    model = cls(3, LENGTH, backbone=SMALL, class_names=["a", "b", "c"], **kwargs)
    train_loader, val_loader = loaders(seed)
    trainer = quiet_trainer(epochs)
    trainer.fit(model, train_loader, val_loader)
    if name == "laplace":
        model.fit_posterior(train_loader)
    return model, trainer, val_loader


@pytest.fixture(scope="session")
def trained():
    cache = {}

    def get(name, seed=0):
        if (name, seed) not in cache:
            cache[(name, seed)] = train(name, seed)
        return cache[(name, seed)]

    return get
