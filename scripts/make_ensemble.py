"""Bundle trained checkpoints (same classes, same 2θ axis) into one deep-ensemble file.

``bxrd predict --checkpoint ENSEMBLE`` and every evaluation script then take the ensemble as
they take one model (:mod:`bxrd.uq.ensemble`). The members are copied whole, with their own
feature densities; the ensemble's conformal sets are fitted afterwards on its own pooled
predictive, over patterns held out from every member (members of a final refit must share
``data.seed``, and with it the monitoring share)::

    python scripts/make_ensemble.py --members A.ckpt B.ckpt C.ckpt --out ensemble.ckpt
    python scripts/fit_posthoc.py --checkpoint ensemble.ckpt --data configs/data/shipped.yaml \
        --parts conformal
"""

import argparse
from pathlib import Path

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import ensemble_of, read_checkpoint
from bxrd.uq.checkpoint_format import save_checkpoint
from bxrd.uq.ensemble import ensemble_checkpoint


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--members", nargs="+", required=True, metavar="CKPT")
    p.add_argument("--out", required=True, metavar="FILE")
    args = p.parse_args()
    out = Path(args.out)
    if any(out.resolve() == Path(m).resolve() for m in args.members):
        raise SystemExit(f"make_ensemble: --out {out} is one of the members")
    try:
        bundle = ensemble_checkpoint([read_checkpoint(m) for m in args.members])
        model = ensemble_of(bundle, out)  # the checks bxrd predict makes, before writing
    except (BxrdInputError, ValueError) as exc:
        raise SystemExit(f"make_ensemble: {exc}") from None
    save_checkpoint(bundle, out)
    print(f"{out}: {len(args.members)} members, {len(model.class_names)} classes")


if __name__ == "__main__":
    main()
