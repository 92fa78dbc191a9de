"""Inference: checkpoint loading, the torch-only dropout predictor, the predict pipeline."""
