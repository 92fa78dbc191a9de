"""Memory and time of the predict page for many patterns: figures are written as they are made.

    python scripts/bench_predict_page.py [--n 200] [--out runs/bench_page]

Answers the bundled example once with the shipped model, then adds it ``n`` times to one
:class:`~bxrd.report.html.HtmlReport` (a stand-in for a folder of ``n`` files: rendering
and embedding dominate once the model has answered). Prints the peak resident memory after
10 patterns and after ``n`` (flat when memory is bounded), seconds per pattern, and the
page's size.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import replace
from pathlib import Path

from bxrd.inference.loading import load_predictor
from bxrd.inference.pipeline import predict_files
from bxrd.report.html import HtmlReport

ROOT = Path(__file__).resolve().parents[1]


def peak_mb() -> float:
    """Peak resident memory of this process so far, MB (Linux: ru_maxrss in kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Run the benchmark and print its numbers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--out", default="runs/bench_page")
    args = p.parse_args()
    model = load_predictor(ROOT / "checkpoints" / "default.ckpt")
    (answer,) = predict_files([ROOT / "checkpoints" / "example_CsPbI3.txt"], model=model)
    report = HtmlReport(args.out, model.axis)
    t0 = time.perf_counter()
    for i in range(args.n):
        report.add_answer(replace(answer, file=f"copy_{i}.txt"))
        if i == 9:
            print(f"after 10 patterns: peak memory {peak_mb():.0f} MB")
    seconds = time.perf_counter() - t0
    page = report.close()
    print(
        f"after {args.n} patterns: peak memory {peak_mb():.0f} MB; "
        f"{seconds / args.n:.3f} s per pattern (figure + section); "
        f"page {page.stat().st_size / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
