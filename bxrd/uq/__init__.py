"""Bayesian classifiers as LightningModules, predictive summaries and calibration."""
