"""Benchmark: pymatgen simulation per pattern vs augment+render from cached sticks.

Prints the simulation time per pattern for a 5-atom (SrTiO3 Pm-3m) and a 20-atom
(CaTiO3 Pnma) cell, and the augment+render throughput from the cached sticks of the 20-atom
cell (patterns/s, all cores, batches of 1024, default grid 10–80° step 0.02°). The last line
reads ``speedup=<ratio> throughput=<patterns/s>`` where ratio = throughput × (20-atom
simulation time per pattern), measured in the same run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.xrd.augment import Augmenter
from bxrd.xrd.grid import TwoThetaGrid
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    t5 = sim_time("SrTiO3_Pm-3m", args.repeats)
    t20 = sim_time("CaTiO3_Pnma", args.repeats)
    print(
        f"pymatgen simulation: 5-atom {t5 * 1e3:.1f} ms/pattern, 20-atom {t20 * 1e3:.1f} ms/pattern"
    )

    sticks = simulate_sticks(builtin_templates()["CaTiO3_Pnma"].structure)
    batch = StickBatch.from_patterns([sticks]).select(torch.zeros(args.batch, dtype=torch.long))
    augmenter = Augmenter(Renderer(TwoThetaGrid(), "CuKa", min_size_nm=10.0))
    gen = torch.Generator().manual_seed(0)
    augmenter(batch, gen)  # warm-up
    t = time.perf_counter()
    for _ in range(args.batches):
        patterns, _ = augmenter(batch, gen)
    elapsed = time.perf_counter() - t
    throughput = args.batch * args.batches / elapsed
    print(
        f"augment+render: {len(sticks)} sticks, {patterns.shape[1]} points, "
        f"{torch.get_num_threads()} threads, {throughput:.0f} patterns/s"
    )
    print(f"speedup={throughput * t20:.1f} throughput={throughput:.0f}")


if __name__ == "__main__":
    main()
