"""Screenshot an ``index.html`` in headless Chromium and check what a reader sees first.

    python scripts/screenshot_page.py runs/page/index.html docs/predict_page.png

Opens the page from disk (``file://``, no server) in ``chromium --headless``, saves a PNG of
the top of the page, and checks that it is not blank: the summary table (rows of text near the
top) and the first pattern figure (a tall block of non-white pixels below it) are visible.
Prints the image size and the fraction of non-white pixels; exits 1 if a check fails, 2 if
Chromium is missing (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image


def chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 1400) -> None:
    """Render ``page`` at ``width`` × ``height`` CSS pixels into the PNG ``out``."""
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium not found (Debian: apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def check(png: Path) -> dict[str, float]:
    """Measure the screenshot: size, non-white fraction, text rows near the top, figure height.

    A row of the image is "inked" when more than 0.5 % of its pixels differ from white by more
    than 40 grey levels. The summary table shows as inked rows in the top third; a figure as
    the longest run of consecutive inked rows (text lines are ~10–20 px high, a plot hundreds).
    """
    img = np.asarray(Image.open(png).convert("L"), dtype=float)
    inked = (255 - img) > 40
    rows = inked.mean(axis=1) > 0.005
    longest = run = 0
    for r in rows:
        run = run + 1 if r else 0
        longest = max(longest, run)
    return {
        "width": img.shape[1],
        "height": img.shape[0],
        "non_white": float(inked.mean()),
        "inked_rows_top_third": float(rows[: img.shape[0] // 3].mean()),
        "longest_inked_run_px": float(longest),
    }


def main(argv: list[str] | None = None) -> int:
    """Take the screenshot, print the measurements, return 0 if the page looks right."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("page", type=Path)
    p.add_argument("out", type=Path, nargs="?")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=1400)
    args = p.parse_args(argv)
    if chromium() is None:
        print("chromium not found (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    out = args.out or args.page.with_suffix(".png")
    screenshot(args.page, out, args.width, args.height)
    m = check(out)
    print(" ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in m.items()))
    ok = (
        m["non_white"] > 0.02
        and m["inked_rows_top_third"] > 0.2
        and m["longest_inked_run_px"] > 250
    )
    if not ok:
        print(f"{out}: the summary table or the first figure is not visible", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
