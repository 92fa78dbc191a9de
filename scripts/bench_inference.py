"""Benchmark: prediction latency of every B-VGGNet variant on CPU.

Default-size model (VGG1DConfig defaults) on the default grid (10–80° 2θ, step 0.02°: 3,501
points), 7 classes. Per variant: one pattern and a batch of 64, after warm-up, median of
``--repeats``. Weights are untrained (latency does not depend on them); the Laplace posterior is
fitted on 256 random patterns. Last line:
``mcd_s=<s> vi_s=<s> la_s=<s> total_s=<s>`` (one pattern each; total = the three summed).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

from bxrd.uq.deterministic import DeterministicClassifier
from bxrd.uq.ensemble import DeepEnsemble
from bxrd.uq.laplace import LaplaceClassifier
from bxrd.uq.mc_dropout import MCDropoutClassifier
from bxrd.uq.vi import VIClassifier
from bxrd.xrd.grid import TwoThetaGrid


def latency(model: object, x: torch.Tensor, repeats: int) -> float:
    model.predict_proba(x)  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model.predict_proba(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    n_classes, length = 7, TwoThetaGrid().n_points
    one, batch = torch.rand(1, length), torch.rand(64, length)
    s = args.samples
    mcd = MCDropoutClassifier(n_classes, length, num_samples=s)
    vi = VIClassifier(n_classes, length, num_samples=s)
    la = LaplaceClassifier(n_classes, length, num_samples=s)
    data = TensorDataset(torch.rand(256, length), torch.randint(0, n_classes, (256,)))
    t = time.perf_counter()
    la.fit_posterior(DataLoader(data, batch_size=64))
    fit_s = time.perf_counter() - t
    la_mc = LaplaceClassifier(n_classes, length, num_samples=s, link_approx="mc")
    la_mc.la = la.la
    ens = DeepEnsemble([DeterministicClassifier(n_classes, length) for _ in range(5)])
    params = sum(p.numel() for p in mcd.parameters())
    print(
        f"model: {params / 1e6:.2f} M parameters, input {length} points, "
        f"{torch.get_num_threads()} threads"
    )
    print(f"laplace last-layer kron fit + marglik on 256 patterns: {fit_s:.2f} s")
    results = {}
    for name, model in [
        ("mcd", mcd),
        ("vi", vi),
        ("la_probit", la),
        ("la_mc", la_mc),
        ("ensemble5", ens),
    ]:
        single, many = latency(model, one, args.repeats), latency(model, batch, args.repeats)
        results[name] = single
        print(
            f"{name:<10s} one pattern {single * 1e3:8.1f} ms   batch of 64 {many * 1e3:8.1f} ms "
            f"({many / 64 * 1e3:.1f} ms/pattern)"
        )
    total = results["mcd"] + results["vi"] + results["la_probit"]
    print(
        f"mcd_s={results['mcd']:.3f} vi_s={results['vi']:.3f} "
        f"la_s={results['la_probit']:.3f} total_s={total:.3f}"
    )


if __name__ == "__main__":
    main()
