"""``bxrd report --checkpoint CKPT... --dataset H5 --output DIR``."""

from __future__ import annotations

from jsonargparse import ArgumentParser

from bxrd.report.uncertainty import build_report


def report_main(argv: list[str]) -> int:
    """Parse options, write the report, print where it is."""
    p = ArgumentParser(prog="bxrd report", description="Uncertainty report (HTML, PNG, JSON).")
    p.add_argument(
        "--checkpoint",
        type=str,
        nargs="+",
        required=True,
        help="one or more checkpoints (e.g. MC dropout, VI, Laplace) of one task",
    )
    p.add_argument("--dataset", type=str, required=True, help="dataset HDF5 (bxrd data build)")
    p.add_argument("--output", type=str, default="runs/report", help="report folder")
    p.add_argument("--split", type=str, default="test", help="test or val")
    p.add_argument("--shap_patterns", type=int, default=48, help="patterns used for SHAP")
    args = p.parse_args(argv)
    page = build_report(args.checkpoint, args.dataset, args.output, args.split, args.shap_patterns)
    print(f"wrote {page} (figures and report.json beside it)")
    return 0
