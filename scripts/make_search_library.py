"""Build the search-match library that ``bxrd predict`` lists the closest known structures from.

One clean simulated pattern per known structure, on a model's 2θ axis. The shipped library
(``bxrd/checkpoints/library.npz``) was made with::

    python scripts/make_search_library.py --checkpoint checkpoints/default.ckpt \
        --output bxrd/checkpoints/library.npz \
        --reported ../shared/data/structures/mp_abx3 \
        ../shared/data/structures/hybrid_perovskites \
        ../shared/data/structures/package_literature ../shared/data/structures/cod_catio3

``--reported`` folders (one per option) keep only entries whose manifest says ``synthesized = 1``
(experimentally reported compounds); positional sources are taken whole.

``--dataset`` makes instead the library of the perovskites a model learned from: the clean
stored pattern of every structure of the dataset's ``--splits`` that the build marked a
perovskite (provenance ``perovskite``), real and virtual. ``bxrd predict`` withholds a named
class when none of them is like the pattern (``--perovskites``). The shipped one (the
shipped models are final refits: every split) was made with::

    python scripts/make_search_library.py --checkpoint checkpoints/default.ckpt \
        --dataset data/shipped/dataset.h5 --splits train val test refit \
        --output bxrd/checkpoints/perovskites.npz
"""

import argparse
import time

from bxrd.data.search_match import SearchLibrary, perovskite_library
from bxrd.data.store import load_pattern_set
from bxrd.errors import BxrdInputError
from bxrd.inference.loading import load_predictor


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sources", nargs="*", help="structure files or folders, taken whole")
    p.add_argument(
        "--reported", action="append", default=[], help="a folder: synthesized = 1 only (repeat)"
    )
    p.add_argument("--checkpoint", required=True, help="model whose 2θ axis the library uses")
    p.add_argument("--dataset", help="the perovskites of this dataset (.h5) instead of sources")
    p.add_argument("--splits", nargs="+", default=["train"], help="with --dataset")
    p.add_argument("--output", required=True)
    args = p.parse_args()
    if args.dataset and (args.sources or args.reported):
        p.error("--dataset makes the library of a dataset's perovskites: give no sources")
    axis = load_predictor(args.checkpoint).axis
    t0 = time.perf_counter()
    if args.dataset:
        library = perovskite_library(load_pattern_set(args.dataset, verify=False), args.splits)
        if library.axis != axis:
            raise BxrdInputError(f"{args.dataset}: made on {library.axis}, the model's on {axis}")
        library.save(args.output)
        print(f"{len(library)} perovskites, {time.perf_counter() - t0:.1f} s -> {args.output}")
        return
    parts = [(args.reported, True), (args.sources, None)]
    built = [
        SearchLibrary.from_structures(src, axis.grid, axis.wavelength, flag)
        for src, flag in parts
        if src
    ]
    for _, failures in built:
        for message in failures:
            print(f"skipped {message}")
    library = SearchLibrary.concat([lib for lib, _ in built])
    library.save(args.output)
    print(f"{len(library)} structures, {time.perf_counter() - t0:.1f} s -> {args.output}")


if __name__ == "__main__":
    main()
