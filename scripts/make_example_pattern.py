"""Write the bundled example pattern: CsPbI3 (cubic, Pm-3m), simulated by bxrd itself.

Cubic CsPbI3 is a real-side structure held out as test in the default model's data, and no
TER structure made from it reaches training, so the example is a structure the shipped
model never trained on. The pattern is rendered at 35 nm
crystallite size with a decaying background and counting noise, and written in RRUFF text
style (``##WAVELENGTH=`` header) so ``bxrd predict`` needs no wavelength option::

    python scripts/make_example_pattern.py  # -> checkpoints/example_CsPbI3.txt
"""

from pathlib import Path

import numpy as np
import torch

from bxrd.crystal.builtin import builtin_templates
from bxrd.xrd.augment import render_clean
from bxrd.xrd.grid import TwoThetaGrid
from bxrd.xrd.render import Renderer
from bxrd.xrd.simulate import simulate_sticks
from bxrd.xrd.stick_batch import StickBatch

OUT = Path(__file__).resolve().parents[1] / "checkpoints" / "example_CsPbI3.txt"


def main() -> None:
    structure = builtin_templates()["CsPbI3_Pm-3m"].structure
    sticks = simulate_sticks(structure, "CuKa", (5.0, 90.0))
    grid = TwoThetaGrid(8.0, 85.0, 0.02)
    renderer = Renderer(grid, "CuKa")
    y = render_clean(renderer, StickBatch.from_patterns([sticks]), 35.0)[0].numpy()
    rng = np.random.default_rng(0)
    x = grid.values
    counts = 2000 * y + 150 * np.exp(-(x - 8) / 25) + 20
    counts = rng.poisson(counts).astype(float)
    header = [
        "##NAMES=CsPbI3 (Pm-3m), simulated by bxrd scripts/make_example_pattern.py",
        f"##WAVELENGTH={renderer.wavelength}",
        "##NOTE=35 nm crystallites, background and Poisson noise",
    ]
    body = [f"{a:.2f}, {b:.0f}" for a, b in zip(x, counts, strict=True)]
    OUT.write_text("\n".join(header + body + ["##END="]) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
