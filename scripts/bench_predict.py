"""Benchmark: ``bxrd predict`` on many files (memory, throughput) and the cold start of one.

Writes ``--n`` generated patterns (Poisson-noisy, rescaled copies of the bundled example, Cu Kα
stated) into a temporary folder and runs ``python -m bxrd.cli predict FOLDER --output
answers.jsonl`` in fresh processes, with ``--explain none``, ``fast`` and ``full``; peak RSS is
the child's own (``os.wait4``). Throughput excludes start-up: (wall(n) − wall(1)) / (n − 1);
the CPU time per pattern (user + system, same difference) is printed too, as wall times on a
shared machine follow its load. The load average is printed with the results.
The issue's aims on 2 CPU cores: peak RSS ≤ 1.5 GB with explanations, ≥ 20 patterns/s with
and ≥ 300 without, cold start of one file ≤ 4 s.

Then a table of where the time per pattern goes: each stage of the pipeline run in this
process, in turn, on ``--stage_n`` of the patterns (CPU ms = user + system of all threads,
the fastest of 3 runs; with torch's default threads and with one). Last line:
``rss_explain_gb=<GB> pps_explain=<1/s> pps_fast=<1/s> pps_none=<1/s> cold_s=<s>``
(``rss_explain_gb`` and ``pps_explain``: ``--explain full``; only the ``--levels`` timed:
``--levels none`` takes well under a minute, ``full`` several).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "bxrd" / "checkpoints" / "example_CsPbI3.txt"


def write_patterns(folder: Path, n: int) -> None:
    rows = [ln.split(",") for ln in EXAMPLE.read_text().splitlines() if not ln.startswith("#")]
    xy = np.array(rows, dtype=float)
    rng = np.random.default_rng(0)
    for i in range(n):
        y = rng.poisson(xy[:, 1] * rng.uniform(0.5, 3.0))
        body = "\n".join(f"{a:.2f}, {b}" for a, b in zip(xy[:, 0], y, strict=True))
        (folder / f"p{i:05d}.txt").write_text(f"##WAVELENGTH=1.54184\n{body}\n")


def run(args: list[str]) -> tuple[float, float, float]:
    """Wall time (s), peak RSS (GB) and CPU time (s) of ``python -m bxrd.cli predict ARGS``."""
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "bxrd.cli", "predict", *args, "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"predict failed: {' '.join(cmd)}")
    return wall, usage.ru_maxrss / 1024**2, usage.ru_utime + usage.ru_stime


def stage_table(folder: Path, n: int, explain_fast: bool = True) -> None:
    """Print CPU and wall ms per pattern of each pipeline stage on ``n`` files of ``folder``.

    ``explain_fast``: also time ``--explain fast`` (~0.1 s a pattern).
    """
    import json

    import torch

    from bxrd.inference.loading import load_predictor
    from bxrd.inference.pipeline import (
        FORWARD_BATCH,
        IG_STEPS,
        PredictOptions,
        _answers,
        _predict,
        default_checkpoint,
        plan,
        search_library,
    )
    from bxrd.inference.prefetch import FILES_PER_TASK, torch_threads
    from bxrd.inference.reading import FileReader, Prepared
    from bxrd.xrd.pattern_io import read_patterns, to_grids

    model = load_predictor(default_checkpoint())
    axis = model.axis
    files = sorted(folder.iterdir())[:n]
    rows: list[tuple[str, float, float]] = []

    def timed(name: str, run, repeats: int = 3):  # noqa: ANN001, ANN202
        out = run()  # warm-up (first calls allocate)
        best = (float("inf"), float("inf"))
        for _ in range(repeats):  # the fastest of a few: other jobs slow single runs down
            c0, t0 = time.process_time(), time.perf_counter()
            out = run()
            best = min(best, (time.process_time() - c0, time.perf_counter() - t0))
        rows.append((name, *best))
        return out

    tasks = range(0, n, FILES_PER_TASK)  # the reader's batches
    scans = timed("read file (parse, checks)", lambda: [read_patterns(f)[0] for f in files])
    with torch_threads(1):  # as in the reader
        grids = timed(
            "to model grid (background; per reader task, 1 thread)",
            lambda: [
                g
                for i in tasks
                for g in to_grids(scans[i : i + FILES_PER_TASK], axis.grid, axis.wavelength)
            ],
        )
    prepared = [Prepared(m, g, "file") for m, g in zip(scans, grids, strict=True)]
    x = torch.from_numpy(np.stack([g.intensity for g in grids]))
    options = PredictOptions(explain="none", keep_arrays=False)
    seeds = [options.seed] * len(grids)
    fast_backbone = getattr(model, "inference_backbone", lambda: None)()
    for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
        torch.set_num_threads(threads)
        with torch.no_grad():
            if hasattr(model.net, "penultimate"):  # one network (an ensemble has several)
                timed(
                    f"backbone, plain network, {threads} thread(s)",
                    lambda: [model.net.penultimate(c) for c in x.split(FORWARD_BATCH)],
                )
            if fast_backbone is not None:
                timed(
                    f"backbone, inference (predict's), {threads} thread(s)",
                    lambda: [fast_backbone(c) for c in x.split(FORWARD_BATCH)],
                )
    torch.set_num_threads(1)  # predict runs its predictive passes on one thread
    timed("predictive + density (1 thread)", lambda: _predict(model, x, seeds, options))
    timed(
        "+ answer objects, per reader chunk (1 thread)",
        lambda: [
            a for i in range(0, n, 64) for a in _answers(model, prepared[i : i + 64], options, 1)
        ],
    )
    library = search_library("shipped", axis)
    perovskites = search_library("shipped", axis, "perovskites.npz")
    with _one_blas_thread():  # as in the reader process
        if library is not None:
            timed(
                "search-match (per reader task, 1 thread)",
                lambda: [library.search(x[i : i + FILES_PER_TASK].numpy(), 3) for i in tasks],
            )
        if perovskites is not None:
            timed(
                "closest training perovskite (per reader task, 1 thread)",
                lambda: [perovskites.search(x[i : i + FILES_PER_TASK].numpy(), 1) for i in tasks],
            )
    if library is not None or perovskites is not None:
        reader = FileReader(axis, None, False, True, False, library, 3, perovskites)
        with _one_blas_thread(), torch_threads(1):
            timed(
                "reader total (read, grid, search; per task, 1 thread)",
                lambda: [reader(files[i : i + FILES_PER_TASK]) for i in tasks],
            )
    answers = _answers(model, prepared, options, 1)
    timed("answer → JSON line", lambda: [json.dumps(a.to_json()) for a in answers])
    if explain_fast:
        fast = PredictOptions(explain="fast", keep_arrays=False)
        _, per_ig = plan(fast, axis.n_points)
        timed(
            f"explain fast ({IG_STEPS['fast']} IG steps, cell fit) + predictive",
            lambda: _answers(model, prepared, fast, per_ig),
        )
    print(f"stage table on {n} patterns (CPU ms = user + system, all threads):")
    for name, cpu, wall in rows:
        print(f"  {name:<48s} {1000 * cpu / n:7.2f} CPU ms  {1000 * wall / n:7.2f} wall ms")


def _one_blas_thread():  # noqa: ANN202
    """Limit numpy's BLAS to one thread in the block (as in the reader), when possible."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="generated patterns")
    p.add_argument("--repeats", type=int, default=3, help="cold starts of one file")
    p.add_argument("--memory_mb", type=float, default=512.0)
    p.add_argument("--stage_n", type=int, default=128, help="patterns of the stage table (0: none)")
    p.add_argument(
        "--levels",
        nargs="+",
        default=["none", "fast", "full"],
        choices=["none", "fast", "full"],
        help="explanation levels timed (full takes minutes for 1,000 files)",
    )
    args = p.parse_args()
    cold = statistics.median(run([str(EXAMPLE)])[0] for _ in range(args.repeats))
    print(f"cold start of one file: median {cold:.2f} s over {args.repeats}")
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "patterns"
        folder.mkdir()
        write_patterns(folder, args.n)
        for level in args.levels:
            common = ["--explain", level, "--memory_mb", str(args.memory_mb)]
            one, _, cpu_one = run([str(folder / "p00000.txt"), *common])
            wall, rss, cpu = run([str(folder), *common, "--output", str(Path(tmp) / "a.jsonl")])
            pps = (args.n - 1) / max(wall - one, 1e-9)
            cpu_ms = 1000 * (cpu - cpu_one) / (args.n - 1)
            result[level] = (pps, rss)
            print(
                f"explain {level}: {args.n} files {wall:.1f} s, {pps:.1f} patterns/s, "
                f"{cpu_ms:.1f} CPU ms per pattern, peak RSS {rss:.2f} GB"
            )
        if args.stage_n:  # last: a process that holds the model forks children with its RSS
            stage_table(folder, min(args.stage_n, args.n), explain_fast="fast" in args.levels)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    summary = []
    if "full" in result:
        rss, pps = result["full"][1], result["full"][0]
        summary += [f"rss_explain_gb={rss:.2f}", f"pps_explain={pps:.1f}"]
    summary += [f"pps_{lv}={result[lv][0]:.1f}" for lv in ("fast", "none") if lv in result]
    print(" ".join([*summary, f"cold_s={cold:.2f}"]))


if __name__ == "__main__":
    main()
