"""Reading cost of vendor pattern files, and what refusing hostile files costs.

Prints the time to read every scan of a folder (default: the shared XRDML scans), then the
time and peak Python memory to refuse a billion-laughs ``.xrdml`` and a 64 MiB zip bomb
``.rasx`` (member limit lowered to 8 MiB). Last line:
``files=<n> scans=<n> read_s=<s> laughs_ms=<ms> bomb_ms=<ms> bomb_peak_mib=<MiB>``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

from bxrd.errors import PatternFileError
from bxrd.xrd.formats import ReadLimits
from bxrd.xrd.pattern_io import pattern_files, read_patterns

SHARED = Path(__file__).resolve().parents[1].parent / "shared/data/patterns/xrdml_dara"
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "lol">'
    + "".join(
        f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + "]><xrdMeasurements><xrdMeasurement><scan><dataPoints><counts>&a9;</counts>"
    "</dataPoints></scan></xrdMeasurement></xrdMeasurements>"
)


def refuse(path: Path, limits: ReadLimits) -> tuple[float, float]:
    """Milliseconds and peak MiB to refuse ``path``."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        read_patterns(path, limits=limits)
        raise SystemExit(f"{path} was not refused")
    except PatternFileError:
        pass
    ms = 1000 * (time.perf_counter() - t0)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return ms, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(SHARED))
    args = parser.parse_args()
    files = pattern_files(args.folder)
    t0 = time.perf_counter()
    scans = sum(len(read_patterns(f)) for f in files)
    read_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        laughs = Path(tmp) / "laughs.xrdml"
        laughs.write_text(LAUGHS)
        laughs_ms, _ = refuse(laughs, ReadLimits())
        bomb = Path(tmp) / "bomb.rasx"
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("Data0/Profile0.txt", "w") as fh:
                for _ in range(64):
                    fh.write(b"0" * 2**20)
        bomb_ms, bomb_peak = refuse(bomb, ReadLimits(max_member_bytes=8 * 2**20))
    print(
        f"files={len(files)} scans={scans} read_s={read_s:.2f} laughs_ms={laughs_ms:.1f} "
        f"bomb_ms={bomb_ms:.1f} bomb_peak_mib={bomb_peak:.1f}"
    )


if __name__ == "__main__":
    main()
