"""``bxrd predict FILE... [--checkpoint CKPT] [--json]``: options and printing."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict

from jsonargparse import ArgumentParser

from bxrd.inference.pipeline import run_predict


def predict_parser() -> ArgumentParser:
    """Options of ``bxrd predict``."""
    p = ArgumentParser(
        prog="bxrd predict",
        description="Space group (or the checkpoint's task) of measured patterns, "
        "with uncertainty and the 2θ regions behind the answer.",
    )
    p.add_argument("files", nargs="+", help="pattern files or folders (.xy .xye .csv .txt .npy)")
    p.add_argument(
        "--checkpoint",
        type=str | None,
        default=None,
        help="model checkpoint (default: $BXRD_CHECKPOINT or checkpoints/default.ckpt)",
    )
    p.add_argument(
        "--wavelength",
        type=str | None,
        default=None,
        help="wavelength of the measurement: CuKa, MoKa, Co, ... or Å; needed when "
        "the file does not state it",
    )
    p.add_argument(
        "--threshold",
        type=float | None,
        default=None,
        help="abstain below this top probability (default: the model's)",
    )
    p.add_argument("--top_k", type=int, default=3, help="classes listed per pattern")
    p.add_argument("--no_background", action="store_true", help="skip background subtraction")
    p.add_argument("--no_explain", action="store_true", help="skip the attribution regions")
    p.add_argument("--json", action="store_true", help="print JSON (one object, or a list)")
    return p


def predict_main(argv: list[str]) -> int:
    """Run ``bxrd predict``; exit code 0, or 2 when no file could be answered."""
    args = predict_parser().parse_args(argv)
    t0 = time.perf_counter()
    answers, failed = run_predict(
        args.files,
        args.checkpoint,
        args.wavelength,
        args.threshold,
        args.top_k,
        not args.no_background,
        not args.no_explain,
    )
    for msg in failed:
        print(f"bxrd: skipped {msg}", file=sys.stderr)
    if args.json:
        rows = [asdict(a) for a in answers]
        single = len(rows) == 1 and len(args.files) == 1 and not failed
        print(json.dumps(rows[0] if single else rows, indent=1))
    else:
        for a in answers:
            print(a.text())
        print(f"({len(answers)} pattern(s) in {time.perf_counter() - t0:.2f} s)")
    return 0 if answers else 2
