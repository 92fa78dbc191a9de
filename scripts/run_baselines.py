"""Thin wrapper: the classical baselines and search-match beside B-VGGNet, on equal data.

Runs the ``rows`` section of ``bxrd experiments``: each classical model is fitted on exactly
the patterns the network saw in training (its recorded stream, same count), search-match
searches the clean simulations of every training structure, and all are scored on the same
real test structures with 95 % intervals::

    python scripts/run_baselines.py --config configs/experiments/benchmark.yaml
"""

import sys

from bxrd.evaluation.command import main

if __name__ == "__main__":
    args = sys.argv[1:] or ["--config", "configs/experiments/benchmark.yaml"]
    sys.exit(main([*args, "--sections", "rows"]))
