"""Benchmark: pymatgen simulation per pattern vs augment+render from cached sticks.

Prints the simulation time per pattern for a 5-atom (SrTiO3 Pm-3m) and a 20-atom
(CaTiO3 Pnma) cell, and the augment+render throughput from the cached sticks of the 20-atom
cell (patterns/s, ``--processes`` processes of ``--threads`` torch threads each, as
DataLoader workers render in training; batches of 1024, default grid 10–80° step 0.02°),
with every realism option on (Kα1/Kα2 + Kβ, Caglioti profile with asymmetry, microstrain,
displacement, March–Dollase, secondary phases from ``--phase-dir``, background, counts,
background subtraction, short scan ranges on half of the patterns; ``--plain`` for the plain
simulation), with glibc keeping freed memory for reuse as ``bxrd`` runs (:mod:`bxrd.heap`;
``--glibc-default`` leaves glibc's thresholds as they are). The machine's load
average is printed: throughput on a shared machine is a lower bound; the CPU time per pattern
(all threads, the fastest batch) depends less on other jobs. The last line reads
``speedup=<ratio> throughput=<patterns/s>`` where ratio = throughput × (20-atom simulation time
per pattern), measured in the same run.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
import warnings

import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.heap import retain_freed_memory
from bxrd.xrd.augment import AugmentConfig, Augmenter
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.realism import RealismConfig
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.stick_batch import StickBatch


def sim_time(template_id: str, repeats: int) -> float:
    structure = builtin_templates()[template_id].structure
    simulate_sticks(structure)  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        simulate_sticks(structure)
    return (time.perf_counter() - t) / repeats


def render_batches(
    augmenter: Augmenter, batch: StickBatch, batches: int, threads: int, seed: int
) -> tuple[float, list[float], int]:
    """Render ``batches`` batches on ``threads`` threads: (wall s, CPU s per batch, points)."""
    torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(seed)
    augmenter(batch, gen)  # warm-up
    t = time.perf_counter()
    cpu = []
    for _ in range(batches):
        c = time.process_time()
        patterns, _ = augmenter(batch, gen)
        cpu.append(time.process_time() - c)
    return time.perf_counter() - t, cpu, patterns.shape[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--processes", type=int, default=2, help="rendering processes")
    parser.add_argument("--plain", action="store_true", help="realism off")
    parser.add_argument("--glibc-default", action="store_true", help="no bxrd.heap setting")
    parser.add_argument("--phase-dir", default="../shared/data/structures/binaries_mp")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(args.threads)
    retained = not args.glibc_default and retain_freed_memory()  # before the workers fork
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    t5 = sim_time("SrTiO3_Pm-3m", args.repeats)
    t20 = sim_time("CaTiO3_Pnma", args.repeats)
    print(
        f"pymatgen simulation: 5-atom {t5 * 1e3:.1f} ms/pattern, 20-atom {t20 * 1e3:.1f} ms/pattern"
    )

    sticks = simulate_sticks(builtin_templates()["CaTiO3_Pnma"].structure)
    batch = StickBatch.from_patterns([sticks]).select(torch.zeros(args.batch, dtype=torch.long))
    realism = (
        None if args.plain else RealismConfig(kbeta=True, scan_range=True, phase_dir=args.phase_dir)
    )
    augmenter = Augmenter(
        Renderer(TwoThetaGrid(), "CuKa", min_size_nm=10.0), AugmentConfig(realism=realism)
    )
    jobs = [(augmenter, batch, args.batches, args.threads, seed) for seed in range(args.processes)]
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        results = pool.starmap(render_batches, jobs)
    elapsed = max(r[0] for r in results)  # every process renders at once
    cpu = [c for r in results for c in r[1]]
    throughput = args.processes * args.batch * args.batches / elapsed
    print(
        f"augment+render: {len(sticks)} sticks, {results[0][2]} points, "
        f"{args.processes} processes x {args.threads} threads, "
        f"realism {'off' if args.plain else 'all on'}, freed memory "
        f"{'retained' if retained else 'returned (glibc default)'}, "
        f"{throughput:.0f} patterns/s, CPU time {1e6 * min(cpu) / args.batch:.0f} µs/pattern "
        f"(fastest batch; median {1e6 * sorted(cpu)[len(cpu) // 2] / args.batch:.0f})"
    )
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"speedup={throughput * t20:.1f} throughput={throughput:.0f}")


if __name__ == "__main__":
    main()
