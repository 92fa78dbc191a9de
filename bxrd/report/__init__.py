"""Uncertainty reports and the human-readable answer of ``bxrd predict``."""
