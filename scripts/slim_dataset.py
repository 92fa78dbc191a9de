"""Copy a dataset file for a size-limited transfer, keeping only the stored patterns a fit reads.

A fit renders its training patterns from the stored sticks, and with ``data.render_eval``
its validation patterns too, so it reads no stored pattern; without ``render_eval`` it reads
the validation split's. The copy keeps every other array and the file's attributes (its
content hash included) and fills the stored patterns of the other rows with NaN, which
compresses to nothing: the shipped recipe's 58 MB file becomes 8 MB, the transfer file
(keeping ``val``) 12 MB. Fit on the copy with ``--data.verify false`` (its patterns no longer
match the stored hash); a NaN pattern read by mistake shows as a NaN loss, not a silent
error. Score the checkpoints on the original file::

    python scripts/slim_dataset.py data/shipped/dataset.h5 data/device/shipped.h5
    python scripts/slim_dataset.py data/transfer/dataset.h5 data/device/transfer.h5 --keep val
"""

import argparse
from pathlib import Path

import h5py
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("--keep", nargs="*", default=[], help="splits whose patterns stay")
    args = parser.parse_args()
    Path(args.target).parent.mkdir(parents=True, exist_ok=True)
    partial = Path(f"{args.target}.partial")
    with h5py.File(args.source) as f, h5py.File(partial, "w") as g:
        for key, value in f.attrs.items():
            g.attrs[key] = value
        for name in f:
            if name != "patterns":
                f.copy(name, g)
        stored = f["patterns"]
        split = f["provenance/split"][:].astype(str)
        rows = np.flatnonzero(np.isin(split, args.keep))
        out = g.create_dataset(
            "patterns",
            shape=stored.shape,
            dtype=stored.dtype,
            chunks=stored.chunks,
            compression="gzip",
            fillvalue=np.nan,
        )
        if len(rows):
            out[rows] = stored[rows]
    partial.replace(args.target)
    size = Path(args.target).stat().st_size / 1e6
    print(f"{args.target}: {len(rows)} of {len(split)} stored patterns kept, {size:.1f} MB")


if __name__ == "__main__":
    main()
