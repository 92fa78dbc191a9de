"""The answer figure marks the conformal set: its classes' names in bold, the coverage named."""

from pathlib import Path

from bxrd.inference.loading import load_predictor
from bxrd.inference.pipeline import PredictOptions, predict_files
from bxrd.report.answer_figure import answer_figure

ROOT = Path(__file__).resolve().parents[2]


def test_the_set_classes_are_bold_and_the_others_not():
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    example = ROOT / "checkpoints" / "example_CsPbI3.txt"
    (answer,) = predict_files([example], model=model, options=PredictOptions(explain="none"))
    record = answer.to_json()
    record["prediction_set"] = {"coverage": 0.95, "classes": ["Pm-3m (221)", "other"]}
    m = answer.model_input
    fig = answer_figure(record, m.two_theta, m.intensity, None, m.wavelength)
    probs = fig.axes[-1]
    weights = {t.get_text(): t.get_fontweight() for t in probs.get_yticklabels()}
    assert weights["Pm-3m (221)"] == weights["other"] == "bold"
    assert {w for n, w in weights.items() if n not in ("Pm-3m (221)", "other")} == {"normal"}
    assert "95% set (conformal)" in probs.get_xlabel()
