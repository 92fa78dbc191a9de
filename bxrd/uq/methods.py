"""The registry of uncertainty methods: one name per method, used everywhere a method is named.

Answers print :class:`UQMethod` values, checkpoint loading reads from them which class a
checkpoint holds and whether it loads with torch alone, tests iterate over them. Each
classifier class states its member in the ``method`` class variable.
"""

from __future__ import annotations

import importlib
from enum import Enum


class UQMethod(str, Enum):
    """How a model turns a pattern into a predictive distribution.

    The value is the name printed in answers and JSON; ``class_path`` the LightningModule
    that trains it; ``torch_only`` whether its predictive needs the network alone (so
    ``bxrd predict`` loads it without Lightning).
    """

    class_path: str
    torch_only: bool

    def __new__(cls, value: str, class_path: str, torch_only: bool) -> UQMethod:
        """Build a member from (value, class path, torch-only flag)."""
        member = str.__new__(cls, value)
        member._value_ = value
        member.class_path = class_path
        member.torch_only = torch_only
        return member

    MC_DROPOUT = ("mc_dropout", "bxrd.uq.mc_dropout.MCDropoutClassifier", True)
    """Monte Carlo dropout (Gal & Ghahramani 2016): dropout kept on, T stochastic passes."""

    VI = ("variational_inference", "bxrd.uq.vi.VIClassifier", False)
    """Variational inference with Pyro: Bayesian head layers, a factorised Gaussian guide."""

    LAPLACE = ("laplace", "bxrd.uq.laplace.LaplaceClassifier", False)
    """Post-hoc last-layer Laplace posterior (laplace-torch), GLM predictive."""

    DETERMINISTIC = (
        "deterministic+temperature",
        "bxrd.uq.deterministic.DeterministicClassifier",
        False,
    )
    """Softmax network with post-hoc temperature scaling: one sample, no epistemic part."""

    ENSEMBLE = ("ensemble", "bxrd.uq.ensemble.DeepEnsemble", False)
    """Deep ensemble: the members' predictive samples pooled with equal weights."""

    def __str__(self) -> str:
        return self.value

    @property
    def short_name(self) -> str:
        """Lower-case member name (``mc_dropout``, ``vi``, ...), as in ``configs/model/``."""
        return self.name.lower()

    def classifier(self) -> type:
        """Import and return the class named by :attr:`class_path`."""
        module, _, name = self.class_path.rpartition(".")
        return getattr(importlib.import_module(module), name)

    @classmethod
    def of_class_path(cls, class_path: str) -> UQMethod | None:
        """Return the method whose classifier is ``class_path`` (None: not a registered class)."""
        return next((m for m in cls if m.class_path == class_path), None)
