"""``bxrd fit|validate|test|lightning-predict``: the commands over :mod:`bxrd.training`."""

from __future__ import annotations

from bxrd.training.lightning_cli import run_lightning


def fit_main(argv: list[str]) -> int:
    """``bxrd fit``."""
    run_lightning(["fit", *argv])
    return 0


def validate_main(argv: list[str]) -> int:
    """``bxrd validate``."""
    run_lightning(["validate", *argv])
    return 0


def test_main(argv: list[str]) -> int:
    """``bxrd test``."""
    run_lightning(["test", *argv])
    return 0


def predict_main(argv: list[str]) -> int:
    """``bxrd lightning-predict``: LightningCLI's ``predict`` subcommand."""
    run_lightning(["predict", *argv])
    return 0
