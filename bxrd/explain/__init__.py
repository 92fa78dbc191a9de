"""Attributions per 2θ (Captum, SHAP), aggregated per class and tied to reflections."""
