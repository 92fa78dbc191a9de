"""``bxrd predict``: measured files → gridded patterns → predictive → readable answer or JSON."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from bxrd.errors import BxrdInputError
from bxrd.explain.attributions import Explanation, explain_pattern, integrated_gradients
from bxrd.uq.checkpoint import load_predictor
from bxrd.uq.predict_api import Classifier
from bxrd.xrd.pattern_io import GriddedPattern, load_patterns

#: Method name of each classifier class, as printed and in JSON.
METHODS = {
    "DeterministicClassifier": "deterministic+temperature",
    "MCDropoutClassifier": "mc_dropout",
    "DropoutPredictor": "mc_dropout",
    "VIClassifier": "variational_inference",
    "LaplaceClassifier": "laplace",
}


def default_checkpoint() -> Path:
    """``$BXRD_CHECKPOINT``, else the shipped ``checkpoints/default.ckpt`` of this checkout."""
    env = os.environ.get("BXRD_CHECKPOINT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "checkpoints" / "default.ckpt"


@dataclass
class Answer:
    """The prediction for one file (JSON keys are the attribute names)."""

    file: str
    task: str
    method: str
    label: str
    probabilities: dict[str, float]
    std: dict[str, float]
    entropy: float
    mutual_information: float | None
    abstain: bool
    threshold: float
    top_k: list[tuple[str, float, float]]
    regions: list[dict] = field(default_factory=list)
    measured_range: tuple[float, float] = (0.0, 0.0)
    coverage: float = 1.0
    reference: dict = field(default_factory=dict)
    feature_distance: float | None = None
    far_from_training: bool | None = None

    def text(self) -> str:
        """Format the answer as a few readable lines."""
        verdict = (
            f"ABSTAIN (top probability below {self.threshold:.2f})"
            if self.abstain
            else f"{self.label}"
        )
        lines = [f"{self.file}", f"  {self.task}: {verdict}   [{self.method}]"]
        for name, p, s in self.top_k:
            lines.append(f"    {name:<24s} p = {p:.3f} ± {s:.3f}")
        mi = (
            ""
            if self.mutual_information is None
            else f", mutual information {self.mutual_information:.3f}"
        )
        lines.append(f"  entropy {self.entropy:.3f} nats{mi}")
        lines.append(
            f"  used 2θ {self.measured_range[0]:.2f}–{self.measured_range[1]:.2f}° "
            f"({self.coverage:.0%} of the model grid)"
        )
        if self.far_from_training is not None:
            where = (
                "FAR FROM TRAINING: unlike every pattern the model learned from (noise, "
                "another kind of phase, or texture / substrate peaks); check the answer "
                "against the peaks"
                if self.far_from_training
                else "within the range of the training data"
            )
            lines.append(f"  feature distance {self.feature_distance:.0f}: {where}")
        if self.regions:
            lines.append("  decided by: " + "; ".join(r["text"] for r in self.regions))
        if self.reference:
            lines.append(
                f"  hkl from reference {self.reference['structure']} of the predicted class, "
                f"cell scaled ×{self.reference['cell_scale']:.3f} to fit this pattern"
            )
        return "\n".join(lines)


def predict_files(
    model: Classifier,
    patterns: list[GriddedPattern],
    threshold: float | None = None,
    k: int = 3,
    explain: bool = True,
    seed: int = 0,
) -> list[Answer]:
    """Predictive answers for gridded patterns (one per pattern).

    Sampling methods draw with ``seed`` (the caller's random state is left untouched), so
    the same file gets the same answer every time.
    """
    x = torch.from_numpy(np.stack([p.intensity for p in patterns]))
    pred = model.predict_proba(x, threshold=threshold, k=k, seed=seed)
    density = model.feature_density
    distance, far = density.assess(model.net, x) if density is not None else (None, None)
    names = model.class_names
    explained: list[Explanation | None] = [None] * len(patterns)
    if explain and model.grid is not None:
        with torch.enable_grad():
            attr = integrated_gradients(model, x.clone(), pred.prediction)
        explained = [
            explain_pattern(
                model,
                p.intensity,
                a.numpy(),
                names[int(c)],
                model.grid.values,
                candidates=tuple(names[int(j)] for j in top),
            )
            for p, a, c, top in zip(patterns, attr, pred.prediction, pred.topk_indices, strict=True)
        ]
    method = METHODS.get(type(model).__name__, type(model).__name__)
    out = []
    for i, (p, e) in enumerate(zip(patterns, explained, strict=True)):
        probs, std = pred.probs[i].tolist(), pred.std[i].tolist()
        top = [
            (names[int(j)], float(pred.probs[i, j]), float(pred.std[i, j]))
            for j in pred.topk_indices[i]
        ]
        mi = pred.mutual_information
        out.append(
            Answer(
                file=p.source,
                task=model.hparams.get("task", "space_group"),
                method=method,
                label=names[int(pred.prediction[i])],
                probabilities={n: round(v, 6) for n, v in zip(names, probs, strict=True)},
                std={n: round(v, 6) for n, v in zip(names, std, strict=True)},
                entropy=float(pred.entropy[i]),
                mutual_information=None if mi is None else float(mi[i]),
                abstain=bool(pred.abstain[i]),
                threshold=model.abstain_threshold if threshold is None else threshold,
                top_k=top,
                regions=[r.as_dict() for r in e.regions] if e else [],
                measured_range=p.measured_range,
                coverage=p.coverage,
                reference=e.reference_record() if e else {},
                feature_distance=None if distance is None else float(distance[i]),
                far_from_training=None if far is None else bool(far[i]),
            )
        )
    return out


def read_inputs(
    sources: list[str], model: Classifier, wavelength: str | float | None, background: bool
) -> tuple[list[GriddedPattern], list[str]]:
    """Read measured files onto the model's grid; bad files give messages, not crashes."""
    if model.grid is None:
        raise BxrdInputError("this checkpoint has no 2θ grid; it cannot read measured files")
    done, failed = load_patterns(
        sources, model.grid, model.hparams["wavelength"], wavelength, background
    )
    if not done and not failed:
        raise BxrdInputError(f"no pattern files in {', '.join(sources)}")
    return done, failed


def run_predict(
    files: list[str],
    checkpoint: str | None = None,
    wavelength: str | None = None,
    threshold: float | None = None,
    top_k: int = 3,
    background: bool = True,
    explain: bool = True,
) -> tuple[list[Answer], list[str]]:
    """Load the checkpoint (default: the shipped model) and answer for every file."""
    model = load_predictor(checkpoint or default_checkpoint())
    patterns, failed = read_inputs(files, model, wavelength, background)
    answers = predict_files(model, patterns, threshold, top_k, explain) if patterns else []
    return answers, failed
