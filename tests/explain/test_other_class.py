"""The catch-all class `other` has no structure of its own: no hkl, no explained peak."""

import numpy as np

from bxrd.explain.attributions import explain_pattern
from bxrd.explain.reflections import unexplained_peaks
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.reading import prepare

EXAMPLE = shipped("example_CsPbI3.txt")


def test_other_names_no_hkl_while_a_structure_class_does():
    model = load_predictor(shipped("default.ckpt"))
    # give `other` a reference (older checkpoints carried one): it must be left unused
    refs = model.reference_reflections
    model.reference_reflections = {**refs, "other": refs["Pm-3m (221)"]}
    y = prepare(EXAMPLE, model.axis)[0].gridded.intensity
    attribution = np.abs(np.gradient(y))  # any non-negative map: regions follow it
    args = (model, y, attribution)
    cubic = explain_pattern(*args, "Pm-3m (221)", model.axis.two_theta, candidates=("other",))
    other = explain_pattern(*args, "other", model.axis.two_theta, candidates=("other",))
    assert cubic.reference_record()["reflections"] and any(r.reflections for r in cubic.regions)
    assert other.reference_record() == {} and not any(r.reflections for r in other.regions)
    # with nothing fitted, every peak of the pattern is unexplained
    every_peak = unexplained_peaks(y, model.axis.two_theta, [[]])
    assert len(every_peak) > len(cubic.unexplained) and other.unexplained == every_peak
