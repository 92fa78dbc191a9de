"""Do the films' line widths show a tetragonal split? FWHM of the pseudo-cubic (100) and (200).

A tetragonal cell with c / a ≠ 1 splits (h00) into (h00) + (00h), Δ2θ ≈ 2 tan θ · |c/a − 1|,
so (200) widens against (100) beyond what size broadening gives (FWHM ∝ 1 / cos θ: ratio
≈ 1.02 at 14° / 28° 2θ) — strain broadening (∝ tan θ) alone would give ≈ 2.05. Per film: the
pseudo-cubic edge a_p (:mod:`bxrd.explain.pseudo_cubic`, on the pattern as the model sees it),
then on the scan as measured (own wavelength and step) the FWHM at each line's expected 2θ
(half maximum above a straight local background, linear interpolation); per folder the range
and median of the ratio::

    python scripts/film_line_widths.py ../shared/data/patterns/thinfilm_perovskites/*/

Films without a pseudo-cubic cell, or whose lines have no clear half-maximum crossing within
±0.6°, are listed without a ratio. Widths at steps of 0.04–0.05° rest on 2–4 points a line.
"""

import argparse
from pathlib import Path

import numpy as np

from bxrd.errors import PatternFileError
from bxrd.explain.pseudo_cubic import pseudo_cubic
from bxrd.inference.loading import load_predictor
from bxrd.inference.pipeline import default_checkpoint
from bxrd.inference.reading import prepare
from bxrd.xrd.wavelength import resolve_wavelength, two_theta_from_d

WINDOW_DEG = 0.6


def fwhm(two_theta: np.ndarray, y: np.ndarray, centre: float) -> float | None:
    """FWHM (degrees 2θ) of the strongest point within ±WINDOW_DEG of ``centre``, or None."""
    s = np.abs(two_theta - centre) < WINDOW_DEG
    x, z = two_theta[s], y[s]
    if len(x) < 5:
        return None
    z = z - np.linspace(z[:3].mean(), z[-3:].mean(), len(z))
    k, half = int(z.argmax()), z.max() / 2
    if half <= 0:
        return None
    left = np.flatnonzero(z[:k] <= half)
    right = k + np.flatnonzero(z[k:] <= half)
    if not len(left) or not len(right):
        return None
    i, j = left[-1], right[0]
    lo = x[i] + (half - z[i]) / (z[i + 1] - z[i]) * (x[i + 1] - x[i])
    hi = x[j - 1] + (half - z[j - 1]) / (z[j] - z[j - 1]) * (x[j] - x[j - 1])
    return float(hi - lo)


def main() -> None:
    """Print each film's (200)/(100) width ratio and each folder's range."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folders", nargs="+")
    args = p.parse_args()
    axis = load_predictor(default_checkpoint()).axis
    cu = resolve_wavelength("CuKa")
    for folder in map(Path, args.folders):
        ratios = []
        for path in sorted(folder.glob("*.xy")):
            try:
                scan = prepare(path, axis, cu)[0]
            except PatternFileError as exc:
                print(f"  {path.name}: {exc}")
                continue
            cell = pseudo_cubic(scan.gridded.intensity, axis.two_theta, axis.wavelength)
            m = scan.measured
            if cell is None:
                print(f"  {path.name}: no ratio (no pseudo-cubic cell)")
                continue
            centres = [float(two_theta_from_d(cell.a / n, m.wavelength)) for n in (1, 2)]
            w100, w200 = (fwhm(m.two_theta, m.intensity, c) for c in centres)
            if w100 is None or w200 is None:
                print(f"  {path.name}: no ratio (no clear line width)")
                continue
            ratios.append(w200 / w100)
            print(
                f"  {path.name}: a_p {cell.a:.3f} Å, FWHM (100) {w100:.3f}°, (200) {w200:.3f}°, "
                f"ratio {ratios[-1]:.2f}"
            )
        if ratios:
            r = np.array(ratios)
            summary = f"ratio {r.min():.2f}–{r.max():.2f}, median {np.median(r):.2f}"
            print(f"{folder.name}: {len(r)} films, {summary}")


if __name__ == "__main__":
    main()
