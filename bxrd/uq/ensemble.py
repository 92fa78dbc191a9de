"""Deep ensembles: K trained classifiers (any variant, different seeds), predictive pooled.

An ensemble is a full :class:`~bxrd.uq.predictive_interface.Classifier`, so ``bxrd predict``,
the explanations and the evaluation scripts take it as they take one model:

* predictive: the members' samples stacked (a mixture with equal weights: members that draw
  different numbers of samples have theirs repeated to a common count; its mutual
  information includes the members' disagreement), each member drawing pattern i's samples
  from the same per-pattern seed;
* ``net``: the log of the mean softmax of the members' explained networks
  (:class:`MeanProbabilityNet`; dropout off, a VI member at its posterior median), so the
  attributions explain the ensemble's own mean probability;
* far from training (:class:`EnsembleDensity`): the (lower) median over members of each
  member's feature score divided by its own threshold, far above 1: more than half of the
  members flag the pattern;
* conformal sets: the ensemble's own, fitted on its pooled predictive over patterns held out
  from every member (``scripts/fit_posthoc.py --parts conformal``).

An ensemble file (:func:`ensemble_checkpoint`, ``scripts/make_ensemble.py``) holds the
members' whole checkpoints under ``members``; ``bxrd.inference.loading.load_predictor`` reads
it. Torch only: the inference path imports this module without Lightning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

import bxrd
from bxrd.uq.checkpoint_format import CHECKPOINT_FORMAT, check_stamp
from bxrd.uq.conformal import ConformalSets
from bxrd.uq.feature_density import FeatureDensity
from bxrd.uq.methods import UQMethod
from bxrd.uq.predictive_interface import Classifier, PredictiveMixin
from bxrd.xrd.axis import Axis
from bxrd.xrd.roughness import noise_dominated

#: Dotted class path in an ensemble file's stamp.
ENSEMBLE_CLASS = f"{__name__}.DeepEnsemble"
#: Why a command that needs one model refuses an ensemble file.
NOT_ONE_MODEL = (
    "is an ensemble of several models: bxrd predict, bxrd report and the evaluation scripts "
    "take it; give this command one of its members"
)


class MeanProbabilityNet(nn.Module):
    """Log of the mean softmax of ``nets``, shape (B, C): its softmax is the mean probability."""

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """log((1/K) Σ_k softmax(net_k(x))) for patterns ``x`` (B, L)."""
        logp = torch.stack([torch.log_softmax(net(x), dim=-1) for net in self.nets])
        return torch.logsumexp(logp, dim=0) - math.log(len(self.nets))


@dataclass
class EnsembleDensity:
    """Far from training for an ensemble: members' relative feature scores, their median.

    Member k's relative score is s_k / t_k (its squared Mahalanobis distance over its own
    validation threshold); the ensemble's score is their lower median (for even K the
    smaller middle value) and the threshold 1, so a pattern is far when more than half of
    the members call it far (or it is noise-dominated).
    """

    densities: list[FeatureDensity]
    nets: list[nn.Module]
    threshold: float = 1.0

    def _combine(self, scores: list[torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        rel = torch.stack([s / d.threshold for s, d in zip(scores, self.densities, strict=True)])
        score = rel.median(dim=0).values
        return score, (score > self.threshold) | noise_dominated(x).to(score.device)

    def assess(self, net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Scores (B,) and far flags (B,) of patterns ``x`` (B, L), each member on its net.

        ``net`` is the ensemble's explained network (the interface of
        :meth:`FeatureDensity.assess`), which has no penultimate layer; the features come from
        :attr:`nets`, the members' own explained networks.
        """
        pairs = zip(self.densities, self.nets, strict=True)
        return self._combine([d.assess(n, x)[0] for d, n in pairs], x)

    def assess_features(
        self, features: Sequence[torch.Tensor], x: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Return the same from each member's penultimate activations (B, D_k), in order."""
        pairs = zip(self.densities, features, strict=True)
        return self._combine([d.score(f) for d, f in pairs], x)


class DeepEnsemble(PredictiveMixin, nn.Module):
    """Pool the predictive samples of ``members`` (a mixture with equal weights).

    Each member contributes its own samples (1 for a deterministic network, S for a Bayesian
    one), so the mixture's mutual information includes the disagreement between members.
    The members must share their class list and 2θ axis; the answer's metadata (axis,
    reference reflections, abstention threshold) are the first member's.
    """

    method: ClassVar[UQMethod] = UQMethod.ENSEMBLE

    def __init__(
        self, members: Sequence[Classifier], conformal: ConformalSets | None = None
    ) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for i, m in enumerate(members[1:], start=1):
            if list(m.class_names) != list(first.class_names):
                raise ValueError(f"member {i}'s classes differ from member 0's")
            if _axis_dict(m.axis) != _axis_dict(first.axis):
                raise ValueError(f"member {i}'s 2θ axis differs from member 0's")
        self.members = nn.ModuleList(members)  # type: ignore[arg-type]
        self.net = MeanProbabilityNet([m.explained_net for m in members])
        self.hparams: dict[str, Any] = {**dict(first.hparams), "ensemble_members": len(members)}
        self.class_names: list[str] = list(first.class_names)
        self.axis: Axis | None = first.axis
        self.abstain_threshold = first.abstain_threshold
        self.reference_reflections = first.reference_reflections
        densities = [m.feature_density for m in members]
        self.feature_density = (
            None
            if any(d is None for d in densities)
            else EnsembleDensity(densities, [m.explained_net for m in members])
        )
        self.conformal = conformal

    def predict_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Members' samples pooled with equal weights (see :func:`pool`) and their mean (B, C)."""
        return pool([m.predict_distribution(x) for m in self.members])

    def predict_samples(self, x: torch.Tensor) -> torch.Tensor:
        """Members' samples pooled with equal weights, shape (S, B, C)."""
        return self.predict_distribution(x)[0]

    def predict_seeded_with_features(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor] | None]:
        """Members' seeded samples pooled (S, B, C), their mean (B, C), their features.

        The features are each member's penultimate activations (B, D_k), in member order,
        for :class:`EnsembleDensity` (a member whose samples gave none runs its backbone
        once more, in eval mode); None when the ensemble has no density.
        """
        parts = [m.predict_seeded_with_features(x, seeds) for m in self.members]
        samples, probs = pool([(s, p) for s, p, _ in parts])
        if self.feature_density is None:
            return samples, probs, None
        features = [
            m.explained_net.penultimate(x) if f is None else f
            for m, (_, _, f) in zip(self.members, parts, strict=True)
        ]
        return samples, probs, features

    def predict_distribution_seeded(
        self, x: torch.Tensor, seeds: Sequence[int]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`predict_distribution`, pattern i's samples drawn from ``seeds[i]``."""
        parts = [m.predict_seeded_with_features(x, seeds) for m in self.members]
        return pool([(s, p) for s, p, _ in parts])


def pool(parts: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Pool members' (samples (S_k, B, C), mean (B, C)) into one equal-weight mixture.

    Members' samples are repeated to the least common multiple of the S_k before stacking,
    so every member weighs 1/K in the spread and the mutual information as in the mean
    (a deterministic member's one sample beside 30 dropout samples would otherwise count
    1/31). Returns samples (K · lcm, B, C) and the mean of the members' means (B, C).
    """
    common = math.lcm(*(s.shape[0] for s, _ in parts))
    samples = torch.cat([s.repeat(common // s.shape[0], 1, 1) for s, _ in parts])
    return samples, torch.stack([mean for _, mean in parts]).mean(dim=0)


def _axis_dict(axis: Axis | None) -> dict | None:
    return None if axis is None else axis.to_dict()


def ensemble_checkpoint(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return an ensemble file's dict: a stamp and the members' whole (stamped) checkpoints.

    Whether the members fit together (classes, axis, method) is checked when the file is
    loaded (:class:`DeepEnsemble`).

    Raises:
        ValueError: fewer than two members, or a member that is itself an ensemble.
    """
    if len(members) < 2:
        raise ValueError("an ensemble file needs at least two members")
    for i, checkpoint in enumerate(members):
        if check_stamp(checkpoint)["class"] == ENSEMBLE_CLASS:
            raise ValueError(f"member {i} is itself an ensemble")
    stamp = {"format": CHECKPOINT_FORMAT, "version": bxrd.__version__, "class": ENSEMBLE_CLASS}
    return {"bxrd": stamp, "members": list(members)}
