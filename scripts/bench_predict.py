"""Benchmark: cold-start wall time of ``bxrd predict`` on the bundled example.

Runs the console command in fresh processes (imports, checkpoint loading, reading, gridding,
prediction, explanation and exit included), ``--repeats`` times per checkpoint, and prints
the median. The issue's target for the shipped model is under 5 s on 2 CPU cores. Last line:
``default_s=<median s> laplace_s=<median s>``.
"""

import argparse
import shutil
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "checkpoints" / "example_CsPbI3.txt"


def cold_start(checkpoint: Path, repeats: int) -> float:
    """Median wall time (s) of ``bxrd predict EXAMPLE --checkpoint checkpoint``."""
    command = [shutil.which("bxrd") or "bxrd", "predict", str(EXAMPLE), "--checkpoint"]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([*command, str(checkpoint)], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    result = {}
    for name in ("default", "laplace"):
        result[name] = cold_start(ROOT / "checkpoints" / f"{name}.ckpt", args.repeats)
        print(f"{name}.ckpt: median {result[name]:.2f} s over {args.repeats} cold runs")
    print(" ".join(f"{k}_s={v:.2f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
