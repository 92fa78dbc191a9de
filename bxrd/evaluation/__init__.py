"""The experiment suite: models trained by ``bxrd fit`` from YAML, scored with intervals."""
