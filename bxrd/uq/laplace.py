"""Laplace-approximation B-VGGNet with laplace-torch: post-hoc posterior on the MAP network.

Training is the deterministic MAP fit. :meth:`LaplaceClassifier.fit_posterior` is the explicit
post-hoc step: a last-layer (default) Laplace with a ``kron`` or ``full`` GGN Hessian, prior
precision tuned on the marginal likelihood, then one temperature on the predictive fitted on
the validation data (:mod:`bxrd.uq.temperature`: it sharpens or softens, never changes the
answer; the probit predictive of this recipe is under-confident on real structures, ECE 0.13,
docs/RESULTS.md). Predictions use the GLM predictive with the probit approximation (mean) or
Monte Carlo (``link_approx="mc"``); the per-class std and mutual information always come from
GLM predictive samples, each tempered as the mean is. The fitted posterior is stored in the
Lightning checkpoint under ``"laplace"`` and rebuilt on first use after loading (laplace-torch
keeps its own copy of the network, so the posterior must be fitted after training ends).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Literal

import torch
from laplace import Laplace
from laplace.baselaplace import BaseLaplace

from bxrd.errors import BxrdInputError
from bxrd.uq.base import BaseClassifier
from bxrd.uq.batches import XYLoader
from bxrd.uq.dataset_size import training_size
from bxrd.uq.methods import UQMethod
from bxrd.uq.temperature import fit_temperature_on, tempered


def _moved(obj: Any, device: torch.device) -> Any:
    """Return ``obj`` with every tensor inside it on ``device``.

    Walks dicts, lists, tuples and plain objects (laplace-torch's Kronecker factors).
    """
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _moved(v, device) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(_moved(v, device) for v in obj)
    if hasattr(obj, "__dict__") and not isinstance(obj, type):
        new = copy.copy(obj)
        new.__dict__.update({k: _moved(v, device) for k, v in vars(obj).items()})
        return new
    return obj


class LaplaceClassifier(BaseClassifier):
    """B-VGGNet with a post-hoc Laplace posterior.

    Args:
        subset_of_weights: ``"last_layer"`` (default; a full-network Hessian does not fit
            2 CPU cores for this model) or ``"all"``.
        hessian_structure: ``"kron"``, ``"full"`` or ``"diag"``.
        link_approx: ``"probit"`` or ``"mc"`` for the mean predictive.
        num_samples: GLM predictive samples (for std, mutual information, and ``mc``).
        num_data: dataset size N the likelihood Hessian stands for; default: the number of
            distinct training structures (:func:`~bxrd.uq.dataset_size.training_size`).
            The Hessian is summed over the patterns the posterior is fitted on and tempered
            by (patterns / N), so the epoch length does not set the posterior width.
        **kwargs: see :class:`~bxrd.uq.base.BaseClassifier`.
    """

    method: ClassVar[UQMethod] = UQMethod.LAPLACE

    def __init__(
        self,
        *args,  # noqa: ANN002
        subset_of_weights: Literal["last_layer", "all"] = "last_layer",
        hessian_structure: Literal["kron", "full", "diag"] = "kron",
        link_approx: Literal["probit", "mc"] = "probit",
        num_samples: int = 30,
        num_data: int | None = None,
        **kwargs,  # noqa: ANN003
    ) -> None:
        super().__init__(*args, **kwargs)
        self.num_data = num_data
        for name, value, allowed in (
            ("subset_of_weights", subset_of_weights, ("last_layer", "all")),
            ("hessian_structure", hessian_structure, ("kron", "full", "diag")),
            ("link_approx", link_approx, ("probit", "mc")),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.num_samples, self.link_approx = num_samples, link_approx
        self.la: BaseLaplace | None = None
        self._saved_posterior: dict[str, Any] | None = None

    def configure_models(self) -> None:
        """Network plus the predictive's temperature buffer (1 until fitted; checkpointed)."""
        super().configure_models()
        self.register_buffer("predictive_temperature", torch.ones(()))

    def _new_laplace(self, temperature: float = 1.0) -> BaseLaplace:
        extra = (
            {"last_layer_name": "head.out"}
            if self.hparams.subset_of_weights == "last_layer"
            else {}
        )
        la = Laplace(
            self.net,
            "classification",
            subset_of_weights=self.hparams.subset_of_weights,
            hessian_structure=self.hparams.hessian_structure,
            temperature=temperature,
            **extra,
        )
        if extra:  # a last-layer posterior keeps its own copy of the network, in the mode the
            la.model.eval()  # network had: in train mode its dropout would stay on for good
        return la

    def fit_posterior(self, train_loader: Iterable, optimize_prior: bool = True) -> BaseLaplace:
        """Fit the Laplace posterior on ``train_loader`` (dict or (x, y) batches)."""
        self.eval()
        dataset = getattr(train_loader, "dataset", None)
        seen = len(dataset) if dataset is not None else None  # type: ignore[arg-type]
        n = self.num_data or (training_size(dataset) if dataset is not None else None)
        la = self._new_laplace(seen / n if seen and n else 1.0)
        la.fit(XYLoader(train_loader))
        if optimize_prior:
            la.optimize_prior_precision(method="marglik", pred_type="glm", link_approx="probit")
        self.la = la
        return la

    def post_fit(self, train_loader: Iterable, val_loader: Iterable | None) -> str | None:
        """Fit the posterior on the training data, then the predictive's T on the validation data.

        The prior precision is tuned on the marginal likelihood.
        """
        la = self.fit_posterior(train_loader)
        note = f"Laplace posterior fitted, prior precision {float(la.prior_precision.mean()):.3g}"
        if val_loader is None or self.link_approx != "probit":
            self.predictive_temperature.fill_(1.0)  # none fitted for this posterior
            return note
        return f"{note}; predictive temperature T = {self.fit_temperature(val_loader):.3f}"

    def fit_temperature(self, loader: Iterable, max_iter: int = 200) -> float:
        """Fit the predictive's T on ``loader`` (validation data, never test data); returns T.

        Probit predictive only: with ``link_approx="mc"`` the mean is one of tempered samples,
        which a temperature fitted on the mean would not calibrate, and could reorder.
        """
        if self.link_approx != "probit":
            raise BxrdInputError("a predictive temperature needs link_approx='probit'")
        self.eval()
        self.predictive_temperature.fill_(1.0)
        la = self._require_posterior()

        def log_p(x: torch.Tensor) -> torch.Tensor:
            return la(x, pred_type="glm", link_approx="probit").clamp_min(1e-12).log()

        t = fit_temperature_on(log_p, loader, self.device, max_iter)
        self.predictive_temperature.fill_(t)
        return t

    def _apply(self, fn: Callable, recurse: bool = True) -> LaplaceClassifier:
        """Park a fitted posterior on the CPU whenever the module moves (``.to``, ``.cpu``).

        laplace-torch's posterior is no ``nn.Module``: it would stay where it was fitted (a
        GPU fit's post-hoc step) while the network moves. It is rebuilt on the network's
        device at first use, and a checkpoint saves the parked, CPU copy.
        """
        if self.la is not None:
            self._saved_posterior = _moved(self.la.state_dict(), torch.device("cpu"))
            self.la = None
        return super()._apply(fn, recurse)

    def _require_posterior(self) -> BaseLaplace:
        if self.la is None and self._saved_posterior is not None:
            # built only now: laplace-torch copies the network, which must hold loaded weights
            self.la = self._new_laplace(float(self._saved_posterior.get("temperature", 1.0)))
            device = next(self.net.parameters()).device
            self.la.load_state_dict(_moved(self._saved_posterior, device))
            self._saved_posterior = None
        if self.la is None:
            raise BxrdInputError(
                "the Laplace posterior is not fitted: call fit_posterior(train_loader) after "
                "training (the `bxrd fit` command does this), or load a checkpoint that has one"
            )
        return self.la

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """GLM predictive samples, tempered, shape (S, B, C)."""
        samples = self._require_posterior().predictive_samples(
            x, pred_type="glm", n_samples=self.num_samples
        )
        return tempered(samples, self.predictive_temperature)

    def predict_mean(self, x: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
        """Probit-approximated GLM predictive, tempered (``mc``: the tempered samples' mean)."""
        if self.link_approx == "mc":
            return samples.mean(dim=0)
        mean = self._require_posterior()(x, pred_type="glm", link_approx="probit")
        return tempered(mean, self.predictive_temperature)

    def eval_probs(self, x: torch.Tensor) -> torch.Tensor:
        """Score the posterior predictive once fitted, the MAP softmax while training."""
        if self.la is None and self._saved_posterior is None:
            return torch.softmax(self.net(x), dim=-1)
        return super().eval_probs(x)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Also save the fitted posterior."""
        super().on_save_checkpoint(checkpoint)
        checkpoint["laplace"] = (
            self.la.state_dict() if self.la is not None else self._saved_posterior
        )

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Keep the saved posterior; it is rebuilt on first use, after the weights are loaded.

        A checkpoint written before the predictive temperature existed gets T = 1 (its
        predictions unchanged).
        """
        checkpoint["state_dict"].setdefault("predictive_temperature", torch.ones(()))
        super().on_load_checkpoint(checkpoint)
        self.la, self._saved_posterior = None, checkpoint.get("laplace")
