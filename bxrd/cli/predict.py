"""``bxrd predict FILE...``: options, streaming output, progress and exit codes.

Exit codes: 0 every file answered (abstentions are answers), 1 some files skipped, 2 none
answered or a usage error.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from bxrd.errors import BxrdInputError
from bxrd.inference.loading import load_predictor
from bxrd.inference.output import (
    AnswerLog,
    file_key,
    read_json_array,
    row_key,
    source_file,
    write_json_array,
)
from bxrd.inference.pipeline import (
    FIT_GRID_STEP,
    IG_STEPS,
    ExplainLevel,
    PredictOptions,
    default_checkpoint,
    expand_inputs,
    iter_answers,
)
from bxrd.models.dropout_sampling import MC_SEED

EXPLAIN_HELP = (
    "attribution regions behind each answer. none: prediction only (the cheapest); fast: "
    f"Integrated Gradients with {IG_STEPS['fast']} steps ({IG_STEPS['fast']} forward and "
    "backward passes of the network per pattern) and the reference cells refined on a "
    f"{FIT_GRID_STEP['fast']:.0%} grid (a distorted cell may settle on another local optimum "
    f"than with full); full (default): {IG_STEPS['full']} steps and a "
    f"{FIT_GRID_STEP['full']:.1%} grid. "
    "Measured with scripts/bench_predict.py on 2 idle CPU cores: CPU time per pattern none "
    f"4.8 ms, fast 75 ms, full 442 ms (its {IG_STEPS['full']} backward passes are most of it); "
    "run the script for your machine's patterns per second. fast and full also check the "
    "peaks the predicted class leaves against a library of secondary phases and substrates "
    "(PbI2, CsI, SnO2, ...: secondary_phases, unexplained_peaks; a few ms per pattern); none "
    "skips that check (no fitted main phase to subtract)"
)


def predict_parser() -> ArgumentParser:
    """Options of ``bxrd predict``."""
    p = ArgumentParser(
        prog="bxrd predict",
        description="Space group (or the checkpoint's task) of measured patterns, with "
        "uncertainty and the 2θ regions behind the answer. Exit code 0: every file answered; "
        "1: some skipped; 2: none answered, or a usage error.",
    )
    p.add_argument(
        "files",
        nargs="+",
        help="pattern files or folders: .xy .xye .csv .txt (RRUFF) .dat .xrdml .brml .raw "
        "(Bruker v3/v4) .ras .rasx .uxd .gsa/.gss/.fxye/.fxy .cif (powder CIF) .npy/.npz; a "
        "file given twice (or also inside a given folder) is answered once",
    )
    p.add_argument(
        "--checkpoint",
        type=str | None,
        default=None,
        help="model checkpoint file, or a shipped one by name: default, laplace, ensemble "
        "(default: $BXRD_CHECKPOINT or the shipped default.ckpt)",
    )
    p.add_argument(
        "--wavelength",
        type=str | None,
        default=None,
        help="wavelength of the measurement (CuKa, MoKa, Co, ... or Å) for files that state "
        "none; a file that states another one is an error unless --force_wavelength",
    )
    p.add_argument(
        "--force_wavelength",
        action="store_true",
        help="use --wavelength even where the file states another (answers say 'forced')",
    )
    p.add_argument(
        "--threshold",
        type=float | None,
        default=None,
        help="abstain below this top probability (default: the model's)",
    )
    p.add_argument(
        "--coverage",
        type=float | None,
        default=None,
        help="coverage of the conformal prediction sets, e.g. 0.95 (default: the model's, "
        "0.9); promised for powders like the model's validation patterns, not for films",
    )
    p.add_argument(
        "--sets_by_class",
        action="store_true",
        help="class-conditional (Mondrian) conformal sets: the coverage holds for each true "
        "class, not only over the validation class mix; a class with fewer than 9 held-out "
        "patterns (at 0.9) is in every set",
    )
    p.add_argument("--top_k", type=int, default=3, help="classes listed per pattern")
    p.add_argument("--no_background", action="store_true", help="skip background subtraction")
    p.add_argument("--explain", type=ExplainLevel, default="full", help=EXPLAIN_HELP)
    p.add_argument("--no_explain", action="store_true", help="same as --explain none")
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON Lines on stdout: one object per file as it is answered, skipped files "
        "included with their error (with --output they go to that file instead)",
    )
    p.add_argument(
        "--output",
        type=str | None,
        default=None,
        help="write answers to this file: FILE.jsonl is appended line by line; any other "
        "name gets one JSON array, written atomically at the end",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="with --output: skip files already answered there by an interrupted run (the "
        "same file given by another path too); files it skipped are tried again, and so is "
        "a multi-scan file an interrupt cut short; their old rows are replaced once new ones "
        "are written, the rest kept",
    )
    p.add_argument(
        "--memory_mb",
        type=float,
        default=512.0,
        help="working-memory budget in MB; sets how many files are read, predicted and "
        "explained at once",
    )
    p.add_argument(
        "--chunk_size", type=int | None, default=None, help="files per chunk (overrides the budget)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=MC_SEED,
        help="seed of the MC samples (the same masks for every pattern; the prediction sets "
        "were fitted with the default)",
    )
    p.add_argument("--html", type=str | None, default=None, help="also write an HTML page here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--library",
        type=str | None,
        default="shipped",
        help="search-match library (.npz from scripts/make_search_library.py) whose closest "
        "structures are listed beside each answer; default: the shipped library of known "
        "perovskites (392 experimentally reported structures); 'none' to skip",
    )
    p.add_argument("--neighbours", type=int, default=3, help="closest known structures listed")
    p.add_argument(
        "--perovskites",
        type=str | None,
        default="shipped",
        help="library (.npz, scripts/make_search_library.py --dataset) of the clean patterns "
        "of the perovskites the model learned from: a named class is withheld (abstain; its "
        "set then also holds other) when none of them is like the pattern; default: the "
        "shipped models' (perovskites.npz), used for any checkpoint on their axis, so give a "
        "model trained on other data its own; 'none' to skip the check",
    )
    p.add_argument(
        "--min_perovskite_similarity",
        type=float,
        default=PredictOptions.min_perovskite_similarity,
        help="the cosine similarity to the closest of those below which a named class is "
        "withheld (0.5: of six honest runs, no right answer lost on the stored patterns of the "
        "real test structures, 0-3 per run re-rendered as measurements)",
    )
    p.add_argument(
        "--allow_pickle",
        "--allow-pickle",
        action="store_true",
        help="read pickled .npy dicts (the RRUFF set). RISK: a pickle can run code; bxrd "
        "unpickles only numpy arrays and plain containers, but converting such files once "
        "with scripts/convert_npy.py (to .npz) and reading those is safer",
    )
    return p


def _options(args: Any, keep_arrays: bool) -> PredictOptions:  # noqa: ANN401
    return PredictOptions(
        wavelength=args.wavelength,
        force_wavelength=args.force_wavelength,
        threshold=args.threshold,
        coverage=args.coverage,
        sets_by_class=args.sets_by_class,
        top_k=args.top_k,
        background=not args.no_background,
        explain="none" if args.no_explain else args.explain,
        memory_mb=args.memory_mb,
        chunk_size=args.chunk_size,
        seed=args.seed,
        keep_arrays=keep_arrays,
        allow_pickle=args.allow_pickle,
        library=None if args.library in (None, "none") else args.library,
        neighbours=args.neighbours,
        perovskites=None if args.perovskites in (None, "none") else args.perovskites,
        min_perovskite_similarity=args.min_perovskite_similarity,
    )


def _open_log(output: str | None, resume: bool) -> tuple[AnswerLog | None, bool]:
    """Open the answer log (None without --output); True: an array is written at the end."""
    if output is None:
        if resume:
            raise BxrdInputError("--resume needs --output FILE (where the earlier run wrote)")
        return None, False
    if Path(output).is_dir():
        raise BxrdInputError(f"--output {output}: a folder; give a file name")
    if output.endswith(".jsonl"):
        return AnswerLog(output, resume), False
    partial = Path(f"{output}.partial")
    interrupted = partial.exists()  # even empty: a rerun began answering, the array is older
    log = AnswerLog(partial, resume)
    if resume and not interrupted and Path(output).is_file():  # resume a finished run's array
        log.seed(read_json_array(output))
    return log, True


def _exit_code(decisions: list[str]) -> int:
    answered = sum(d != "skipped" for d in decisions)
    if answered == 0:
        return 2
    return 1 if answered < len(decisions) else 0


def predict_main(argv: list[str]) -> int:
    """Run ``bxrd predict``; see the module docstring for exit codes."""
    args = predict_parser().parse_args(argv)
    t0 = time.perf_counter()
    options = _options(args, keep_arrays=args.html is not None)
    files = expand_inputs(args.files)
    if args.html and args.resume:
        raise BxrdInputError(
            "--html with --resume: the page would show only this run's answers; resume "
            "without --html, then write the page of the files you want to look at"
        )
    if args.seed != MC_SEED:
        print(
            f"bxrd: note: the prediction sets were fitted with the MC masks of seed {MC_SEED}; "
            f"with --seed {args.seed} their coverage is approximate (on the shipped model's "
            "monitoring patterns, seeds 1-7 kept 0.87-0.91 for 0.90)",
            file=sys.stderr,
        )
    model = load_predictor(args.checkpoint or default_checkpoint())
    log, as_array = _open_log(args.output, args.resume)  # after the model: a run began
    page = None
    if args.html:
        from bxrd.report.html import HtmlReport  # matplotlib only when a page is asked for

        page = HtmlReport(args.html, model.axis, file_wavelength=args.wavelength)
    keys = [file_key(f) for f in files]
    done = log.done() if log else set()
    todo = [f for f, k in zip(files, keys, strict=True) if k not in done]
    from tqdm import tqdm

    bar = tqdm(
        total=len(files),
        initial=len(files) - len(todo),
        unit="file",
        file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(),
    )
    decisions = {k: log.decisions[k] for k in keys if k in done} if log else {}
    skipped = 0

    def emit(group: list[Any]) -> None:  # the answers of one file, its scans together
        nonlocal skipped
        rows = [a.to_json() for a in group]
        if log is not None:
            log.write(rows)
        for answer, row in zip(group, rows, strict=True):
            if log is None and args.json:
                print(json.dumps(row, ensure_ascii=False), flush=True)
            elif log is None and answer.decision != "skipped":
                print(answer.text(), flush=True)
            if answer.decision == "skipped":
                skipped += 1
                print(f"bxrd: skipped {answer.error}", file=sys.stderr)
            if page is not None:
                page.add_answer(answer)
        decisions[file_key(group[0].file)] = group[-1].decision
        bar.update(1)
        bar.set_postfix(skipped=skipped, refresh=False)

    group: list[Any] = []
    logged: list[dict[str, Any]] = []
    try:
        for answer in iter_answers(model, todo, options):
            if group and source_file(answer.file) != source_file(group[0].file):
                emit(group)
                group = []
            group.append(answer)
        if group:
            emit(group)
    except KeyboardInterrupt:
        if log is not None:
            print(
                f"bxrd: {log.path} keeps the answers so far; add --resume to go on", file=sys.stderr
            )
        raise
    finally:
        bar.close()
        if log is not None:
            logged = log.close()
        if page is not None:
            page.close()
    if as_array:
        order = {k: i for i, k in enumerate(keys)}
        logged.sort(key=lambda r: order.get(row_key(r), len(order)))  # stable: a file's scans
        write_json_array(args.output, logged)  # type: ignore[arg-type]
        log.path.unlink()  # type: ignore[union-attr]
    if not args.json and args.output is None:
        n = len(todo) - skipped
        print(f"({n} pattern(s) in {time.perf_counter() - t0:.2f} s)")
    return _exit_code(list(decisions.values()))
