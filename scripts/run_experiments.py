"""Thin wrapper: ``bxrd experiments`` (:mod:`bxrd.evaluation.command`).

Usage: python scripts/run_experiments.py --config configs/experiments/benchmark.yaml
"""

import sys

from bxrd.evaluation.command import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["--config", "configs/experiments/benchmark.yaml"]))
