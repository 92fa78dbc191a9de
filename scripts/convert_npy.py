"""Convert pickled ``.npy`` patterns (RRUFF-style dicts) once into pickle-free ``.npz`` files.

bxrd refuses pickled ``.npy`` files by default, because unpickling can run code. After this
conversion the patterns are read with pickling off:

    python scripts/convert_npy.py ../shared/data/patterns/rruff_minerals --out data/rruff_npz
    bxrd predict data/rruff_npz --json

The conversion itself unpickles with a restricted unpickler (numpy arrays and plain containers
only), so it runs no code from the files. Each ``X.npy`` becomes ``OUT/X.npz`` (folders keep
their layout); files that are not pickled numpy patterns are reported and skipped. Last line:
``converted=<n> skipped=<n>``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bxrd.errors import PatternFileError
from bxrd.fileio import expand_files
from bxrd.xrd.formats.npy import convert_to_npz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help=".npy files or folders (searched recursively)")
    parser.add_argument("--out", help="output folder (default: next to each source file)")
    args = parser.parse_args(argv)
    converted = skipped = 0
    for source in map(Path, args.sources):
        root = source if source.is_dir() else source.parent
        for path in expand_files(source, (".npy",)):
            target = (Path(args.out) / path.relative_to(root) if args.out else path).with_suffix(
                ".npz"
            )
            try:
                convert_to_npz(path, target)
                converted += 1
            except PatternFileError as exc:
                print(f"skipped: {exc}", file=sys.stderr)
                skipped += 1
    print(f"converted={converted} skipped={skipped}")
    return 0 if converted or not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
