"""``bxrd predict`` as a library: files → chunks → predictive → explanation → answers, streamed.

Files are read, predicted and explained a chunk at a time, so memory does not grow with the
number of files: :func:`iter_answers` yields one :class:`~bxrd.inference.answer.Answer` per
file, in input order, skipped files included (``decision="skipped"`` with the error). The
chunk size follows a memory budget (:func:`plan`), or is given. MC samples of a pattern are
drawn from one seed, the same for every pattern
(:data:`~bxrd.models.dropout_sampling.MC_SEED` unless given), so a file's answer is a
function of its pattern alone and does not depend on which other files share its call or
its chunk (up to the float rounding of a batched
convolution, about 1e-8 in a probability).

Throughput (``scripts/bench_predict.py`` prints where the time goes): the network runs once
per pattern (its penultimate features serve both the MC-dropout samples and the feature
density), :data:`FORWARD_BATCH` patterns at a time, through the MC-dropout predictor's
inference backbone (:mod:`bxrd.models.inference_backbone`); the search library is loaded
once per process; without explanations, a reader process reads, grids (the backgrounds of a
task in one batch) and search-matches the next files while the model runs
(:mod:`bxrd.inference.prefetch`). Measured on 2 shared cores (load ~3.3), 1,000 text
patterns: ~1.5 ms of CPU per pattern in each process.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from bxrd.data.search_match import SearchLibrary
from bxrd.errors import BxrdInputError, PatternFileError
from bxrd.explain.attributions import explain_pattern, integrated_gradients
from bxrd.explain.pseudo_cubic import pseudo_cubic, tilt_note
from bxrd.inference.answer import Answer, PatternView, perovskite_match, prediction_set
from bxrd.inference.loading import load_predictor, shipped
from bxrd.inference.prefetch import can_fork, prepared, torch_threads
from bxrd.inference.reading import FileReader, Prepared
from bxrd.inference.secondary_phases import add_secondary_phases
from bxrd.models.dropout_sampling import MC_SEED
from bxrd.uq.conformal import check_coverage
from bxrd.uq.predictive_interface import Classifier
from bxrd.uq.predictive_summary import Predictive, concat
from bxrd.xrd.axis import Axis
from bxrd.xrd.pattern_io import pattern_files
from bxrd.xrd.wavelength import resolve_wavelength

ExplainLevel = Literal["none", "fast", "full"]
#: Integrated-Gradients steps per explanation level (each step is one backward pass)
IG_STEPS: dict[str, int] = {"none": 0, "fast": 8, "full": 64}
#: joint-grid step of the reference-cell refinement per explanation level (relative, on
#: 1/d²): ``fast`` searches a 3-parameter cell on 25³ instead of 49³ points (~5× faster), and
#: may then settle on another local optimum of a distorted cell
FIT_GRID_STEP: dict[str, float] = {"none": 0.005, "fast": 0.01, "full": 0.005}
#: bytes held per pattern point by one row of a backward pass through the B-VGGNet
#: (activations and their gradients; measured: 256 rows of 3,501 points ≈ 1 GB)
BACKWARD_BYTES_PER_POINT = 1200
#: path rows per backward pass of one network (an ensemble's K networks: IG_ROWS // K each)
IG_ROWS = 128
#: bytes per pattern point of one row of a forward pass without gradients
FORWARD_BYTES_PER_POINT = 200
#: most files per chunk (read, predicted and explained together)
MAX_CHUNK = 256
#: files per chunk with a reader process (small: the reader works while the model runs)
READER_CHUNK = 64
#: fewest files for which a reader process reads ahead (``PredictOptions.reader``)
READER_MIN_FILES = 2 * READER_CHUNK
#: patterns per forward pass of the network. Its activations (~2.4 MB per pattern of 3,501
#: points, the largest one 0.22 MB) are allocated and freed layer by layer: at 16 patterns
#: glibc reuses the freed memory; at 32 or 64 it hands it back to the kernel after each pass
#: and the next pass page-faults it in again (~700 faults per pattern, measured: 1.7 ms of
#: system CPU per pattern at 64, none at 16, the same user time)
FORWARD_BATCH = 16


def default_checkpoint() -> Path:
    """``$BXRD_CHECKPOINT``, else the shipped model (package data ``bxrd/checkpoints/``)."""
    env = os.environ.get("BXRD_CHECKPOINT")
    if env:
        return Path(env)
    return shipped("default.ckpt")


@dataclass
class PredictOptions:
    """How files are answered.

    Attributes:
        wavelength: wavelength of the measurement (name such as ``CuKa`` or Å) for files
            that state none.
        force_wavelength: let ``wavelength`` override the one a file states.
        threshold: abstain below this top probability (None: the model's).
        coverage: coverage of the conformal prediction sets (None: the model's, 0.9).
        sets_by_class: class-conditional (Mondrian) sets: the coverage holds for each true
            class, and a class with too few held-out patterns is in every set.
        top_k: classes listed per answer.
        background: subtract the background before gridding.
        explain: ``none``, ``fast`` (8 Integrated-Gradients steps, 1 % cell-refinement
            grid) or ``full`` (64 steps, 0.5 % grid).
        memory_mb: working-memory budget (MB) above the loaded model; sets the chunk size.
        chunk_size: files per chunk (overrides the budget's choice).
        seed: seed of every pattern's MC samples (the same masks for each pattern).
        keep_arrays: keep the measured and gridded patterns and attributions in answers
            (for reports and notebooks; off for streaming output).
        allow_pickle: read pickled ``.npy`` dicts (e.g. the RRUFF set); trusted files only.
        library: search-match library (``.npz`` of
            :class:`~bxrd.data.search_match.SearchLibrary`, or one) whose closest structures are
            listed beside each answer; ``"shipped"``: the package's known-structure library
            (used when it is on the model's axis), None: no search-match.
        neighbours: closest library structures listed per answer.
        perovskites: library of the clean patterns of the perovskites the model learned from
            (a file, a :class:`~bxrd.data.search_match.SearchLibrary`, or ``"shipped"``: the
            package's ``perovskites.npz``, used when it is on the model's axis; None: no
            check). A named class is withheld (the answer abstains) when the
            scan's best cosine similarity to them is below ``min_perovskite_similarity``,
            and its conformal set then also holds ``other``. The shipped library is used for
            any checkpoint on the shipped axis; a model trained on other data should be given
            its own (``scripts/make_search_library.py --dataset``).
        min_perovskite_similarity: see ``perovskites``, in [0, 1]. 0.5: of six honest runs
            (three MC-dropout, three Laplace seeds), no right named answer fell below 0.6 on
            the stored validation patterns, nor below 0.5 on the stored test patterns; of
            the test structures re-rendered with the measurement model, 0–3 per run did
            (scripts/perovskite_match.py; docs/RESULTS.md "A named class needs a perovskite
            like the pattern").
        reader: without explanations and for more than :data:`READER_MIN_FILES` files (on
            Linux), read and grid files in a second process while the model runs on the
            ones before (torch then leaves it one core).
    """

    wavelength: str | float | None = None
    force_wavelength: bool = False
    threshold: float | None = None
    coverage: float | None = None
    sets_by_class: bool = False
    top_k: int = 3
    background: bool = True
    explain: ExplainLevel = "full"
    memory_mb: float = 512.0
    chunk_size: int | None = None
    seed: int = MC_SEED
    keep_arrays: bool = True
    allow_pickle: bool = False
    library: str | SearchLibrary | None = "shipped"
    neighbours: int = 3
    perovskites: str | SearchLibrary | None = "shipped"
    min_perovskite_similarity: float = 0.5
    reader: bool = True

    def __post_init__(self) -> None:
        if self.explain not in IG_STEPS:
            raise BxrdInputError(f"explain must be one of {list(IG_STEPS)}, got {self.explain!r}")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise BxrdInputError(f"chunk size must be at least 1, got {self.chunk_size}")
        if not 0 <= self.seed < 2**63:
            raise BxrdInputError(f"seed must be in [0, 2^63), got {self.seed}")
        if self.top_k < 1:
            raise BxrdInputError(f"top_k must be at least 1, got {self.top_k}")
        if self.neighbours < 0:
            raise BxrdInputError(f"neighbours must be 0 or more, got {self.neighbours}")
        if self.threshold is not None and not 0.0 <= self.threshold <= 1.0:
            raise BxrdInputError(f"threshold is a probability in [0, 1], got {self.threshold}")
        if self.memory_mb <= 0:
            raise BxrdInputError(f"memory budget must be positive, got {self.memory_mb} MB")
        if not 0.0 <= self.min_perovskite_similarity <= 1.0:
            raise BxrdInputError(
                "min_perovskite_similarity is a cosine similarity in [0, 1], got "
                f"{self.min_perovskite_similarity}"
            )
        if self.coverage is not None:
            try:
                check_coverage(self.coverage)
            except ValueError as exc:
                raise BxrdInputError(str(exc)) from None


def networks_of(model: Classifier) -> int:
    """Networks an explanation backpropagates through: an ensemble's members, else 1."""
    return int(model.hparams.get("ensemble_members", 1))


def plan(options: PredictOptions, n_points: int, networks: int = 1) -> tuple[int, int]:
    """Files per chunk and patterns per Integrated-Gradients call, from the memory budget.

    An explanation of ``p`` patterns builds ``p × steps`` path rows and keeps their gradients;
    they go back through each of the model's ``networks`` (an ensemble's members)
    ``IG_ROWS // networks`` rows at a time, so a backward pass holds about the activations of
    one network's; ``p`` is divided by ``networks`` too (measured on 47 films with
    ``--explain fast`` and ``ensemble.ckpt``: 1.36 GB peak, 1.51 GB without). A chunk's forward
    pass holds one row per file; with explanations a chunk is at most :data:`FORWARD_BATCH`
    files, so answers come out every few seconds and an interrupt loses at most those.
    """
    budget = options.memory_mb * 1e6
    steps = IG_STEPS[options.explain]
    row = n_points * BACKWARD_BYTES_PER_POINT * max(steps, 1) * networks
    per_ig = max(1, int(budget / row))
    chunk = max(1, min(MAX_CHUNK, int(budget / (n_points * FORWARD_BYTES_PER_POINT))))
    if steps:  # explained answers take 0.1–0.5 s each: stream them a forward batch at a time
        chunk = min(chunk, FORWARD_BATCH)
    return (options.chunk_size or chunk), per_ig


def _per_class(names: list[str], values: list[float]) -> dict[str, float]:
    return {n: round(v, 6) for n, v in zip(names, values, strict=True)}


def _predict(
    model: Classifier, x: torch.Tensor, seeds: list[int], options: PredictOptions
) -> tuple[Predictive, torch.Tensor | None, torch.Tensor | None]:
    """Predictive, feature distances and far flags of patterns ``x`` (B, L).

    The network sees :data:`FORWARD_BATCH` patterns at a time, each once: the MC samples
    and the feature density share its pass.
    """
    parts = [
        model.predict_and_assess(xs, seeds[i : i + len(xs)], options.threshold, options.top_k)
        for i, xs in zip(range(0, len(x), FORWARD_BATCH), x.split(FORWARD_BATCH), strict=True)
    ]
    pred = concat([p for p, _, _ in parts])
    if parts[0][1] is None:
        return pred, None, None
    return pred, torch.cat([d for _, d, _ in parts]), torch.cat([f for _, _, f in parts])


def _answers(
    model: Classifier, prepared: list[Prepared], options: PredictOptions, per_ig: int
) -> list[Answer]:
    """Answers for one chunk of prepared files (same order)."""
    x = torch.from_numpy(np.stack([p.gridded.intensity for p in prepared]))
    seeds = [options.seed] * len(prepared)
    # one torch thread whatever the caller's: the network's passes of FORWARD_BATCH patterns
    # are too short to share, and waiting for a second thread costs ~7x the pass itself on
    # a busy 2-core machine (measured: 30 instead of 4 ms per pattern)
    with torch_threads(1):
        pred, distance, far = _predict(model, x, seeds, options)
    names = model.class_names
    axis = model.axis
    steps = IG_STEPS[options.explain]
    attr = None
    if steps and axis is not None:
        rows = max(1, IG_ROWS // networks_of(model))
        with torch.enable_grad():
            attr = torch.cat(
                [
                    integrated_gradients(model, xs.clone(), ts, steps, rows)
                    for xs, ts in zip(x.split(per_ig), pred.prediction.split(per_ig), strict=True)
                ]
            )
    threshold = model.abstain_threshold if options.threshold is None else options.threshold
    # per-pattern numbers as Python lists at once (indexing tensors costs ~1 µs a number)
    probs, std, top_i = pred.probs.tolist(), pred.std.tolist(), pred.topk_indices.tolist()
    conformal = getattr(model, "conformal", None)
    members = coverage = None
    always_in = 0
    if conformal is not None:
        coverage = conformal.coverage if options.coverage is None else options.coverage
        q = conformal.thresholds(len(names), coverage, options.sets_by_class)
        members = conformal.sets(pred.probs, thresholds=q).tolist()
        if options.sets_by_class:
            always_in = int(q.isinf().sum())
    entropy, abstains = pred.entropy.tolist(), pred.abstain.tolist()
    mi = None if pred.mutual_information is None else pred.mutual_information.tolist()
    distances = None if distance is None else distance.tolist()
    # noise-dominated as measured (own step, own range): gridding smooths a coarser scan and
    # zeros outside the measured range dilute the model input's roughness
    fars = (
        None
        if far is None
        else [f or p.noise_dominated for f, p in zip(far.tolist(), prepared, strict=True)]
    )
    out = []
    floor = options.min_perovskite_similarity
    for i, p in enumerate(prepared):
        top = names[top_i[i][0]]
        match = perovskite_match(p.perovskite_similarity, floor, top)
        withheld = bool(match and match["withheld"])
        abstain = abstains[i] or p.one_family is not None or withheld
        e = (
            explain_pattern(
                model,
                p.gridded.intensity,
                attr[i].numpy(),
                top,
                axis.two_theta,
                candidates=tuple(names[j] for j in top_i[i]),
                grid_step=FIT_GRID_STEP[options.explain],
            )
            if attr is not None
            else None
        )
        m = p.measured
        # the cell and its tilt lines (~2 ms) are an explanation: --explain none skips them
        cell = (
            pseudo_cubic(p.gridded.intensity, axis.two_theta, axis.wavelength)
            if attr is not None
            else None
        )
        reading = cell.as_dict() if cell else None
        out.append(
            Answer(
                file=p.gridded.source,
                decision="abstain" if abstain else "predict",
                label=None if abstain else top,
                top_label=top,
                task=model.hparams.get("task", "space_group"),
                method=model.method.value,
                probabilities=_per_class(names, probs[i]),
                std=_per_class(names, std[i]),
                entropy=entropy[i],
                mutual_information=None if mi is None else mi[i],
                threshold=threshold,
                top_k=[(names[j], probs[i][j], std[i][j]) for j in top_i[i]],
                regions=[r.as_dict() for r in e.regions] if e else [],
                measured_range=p.gridded.measured_range,
                coverage=p.gridded.coverage,
                wavelength=m.wavelength,
                wavelength_source=p.source,
                reference=e.reference_record() if e else {},
                feature_distance=None if distances is None else distances[i],
                far_from_training=None if fars is None else fars[i],
                seed=seeds[i],
                measured=(
                    PatternView(m.two_theta, m.intensity, m.wavelength)  # type: ignore[arg-type]
                    if options.keep_arrays
                    else None
                ),
                model_input=(
                    PatternView(axis.two_theta, p.gridded.intensity, axis.wavelength)
                    if options.keep_arrays and axis is not None
                    else None
                ),
                attribution=attr[i].numpy() if options.keep_arrays and attr is not None else None,
                neighbours=p.neighbours,
                one_family=p.one_family,
                perovskite_match=match,
                pseudo_cubic=reading,
                tilt_note=tilt_note(reading, top),
                prediction_set=(
                    None
                    if members is None
                    else prediction_set(
                        names,
                        probs[i],
                        members[i],
                        coverage,
                        options.sets_by_class,
                        always_in,
                        one_family=p.one_family is not None,
                        withheld=withheld,
                    )
                ),
            )
        )
    return out


def iter_answers(
    model: Classifier,
    files: Sequence[str | Path],
    options: PredictOptions | None = None,
) -> Iterator[Answer]:
    """Answer ``files`` (paths, not folders) chunk by chunk, in order, skipped ones included.

    Files are read ahead by a reader process when ``options.reader`` allows it (see
    :class:`PredictOptions`); answers, their order and the memory bound are the same.

    Raises:
        BxrdInputError: the model has no 2θ axis, the wavelength option is unknown, or
            per-class sets are asked of a model without the held-out classes they need.
    """
    options = options or PredictOptions()
    if model.axis is None:
        raise BxrdInputError("this checkpoint has no 2θ axis; it cannot read measured files")
    if options.sets_by_class:
        conformal = getattr(model, "conformal", None)
        if conformal is None or conformal.labels is None:
            why = "no conformal sets" if conformal is None else "marginal conformal sets only"
            raise BxrdInputError(
                f"per-class sets: this checkpoint has {why}; fit them with "
                "scripts/fit_posthoc.py --parts conformal"
            )
    option = None if options.wavelength is None else resolve_wavelength(options.wavelength)
    chunk, per_ig = plan(options, model.axis.n_points, networks_of(model))
    read = FileReader(
        model.axis,
        option,
        options.force_wavelength,
        options.background,
        options.allow_pickle,
        search_library(options.library, model.axis),
        options.neighbours,
        search_library(options.perovskites, model.axis, "perovskites.npz"),
        keep_measured=options.keep_arrays,
    )
    reader = options.reader and options.explain == "none" and len(files) > READER_MIN_FILES
    reader = reader and can_fork()
    if reader and options.chunk_size is None:
        chunk = min(chunk, READER_CHUNK)
    stream = prepared(files, read, 2 * chunk, reader)
    threads = torch.get_num_threads() - 1 if reader else torch.get_num_threads()
    with contextlib.closing(stream):
        for start in range(0, len(files), chunk):
            slot: list[Answer | Prepared] = []
            for path, result in zip(files[start : start + chunk], stream, strict=False):
                if isinstance(result, PatternFileError):
                    slot.append(Answer.skipped(str(path), str(result)))
                else:
                    slot.extend(result)
            ready = [s for s in slot if isinstance(s, Prepared)]
            with torch_threads(threads):  # the reader has a core; the caller's setting stays
                answered_list = _answers(model, ready, options, per_ig) if ready else []
            add_secondary_phases(
                answered_list,
                [p.gridded.intensity for p in ready],
                model.axis,
                explained=options.explain != "none",
            )
            answered = iter(answered_list)
            for s in slot:
                yield s if isinstance(s, Answer) else next(answered)


def search_library(
    name: str | Path | SearchLibrary | None, axis: Axis, shipped_file: str = "library.npz"
) -> SearchLibrary | None:
    """Load a library of :class:`PredictOptions` (``library``, ``perovskites``; None: none).

    ``"shipped"`` is the package's ``shipped_file``, used only when it was made on the
    model's axis (the shipped model's); a library of another axis would compare patterns
    point by point at different angles and answer wrongly without a word.

    Raises:
        BxrdInputError: a given library is unreadable, empty or not on the model's axis.
    """
    if name is None:
        return None
    if isinstance(name, SearchLibrary):
        path, library = Path("the given library"), name
    else:
        path = shipped(shipped_file) if name == "shipped" else Path(name)
        if name == "shipped" and not path.is_file():
            return None
        library = _load_library(path)
    if not len(library):
        raise BxrdInputError(f"{path}: the library holds no pattern")
    same = library.axis == axis if library.axis is not None else None
    if same is None:
        same = library.patterns.shape[1] == axis.n_points
    if not same:
        if name == "shipped":
            return None
        raise BxrdInputError(
            f"{path}: library made on {library.axis or f'{library.patterns.shape[1]} points'}, "
            f"the model's axis is {axis}; make one for this model with "
            "scripts/make_search_library.py"
        )
    return library


def _load_library(path: Path) -> SearchLibrary:
    """:meth:`SearchLibrary.load`, once per process for a file that has not changed."""
    try:
        stat = path.stat()
    except OSError:
        return SearchLibrary.load(path)  # its message names the file
    return _cached_library(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _cached_library(path: str, mtime_ns: int, size: int) -> SearchLibrary:
    """Load the library at ``path`` (its modification time and size key the cache)."""
    return SearchLibrary.load(path)


def expand_inputs(sources: Iterable[str | Path]) -> list[Path]:
    """Pattern files of ``sources`` (files kept as given, folders searched recursively).

    Raises:
        BxrdInputError: nothing to read.
    """
    sources = list(sources)
    files = pattern_files(sources)
    if not files:
        raise BxrdInputError(f"no pattern files in {', '.join(map(str, sources))}")
    return files


def predict_files(
    sources: Iterable[str | Path],
    checkpoint: str | Path | None = None,
    options: PredictOptions | None = None,
    model: Classifier | None = None,
    skip: Iterable[str] = (),
) -> list[Answer]:
    """Answers for files and folders (the Python API of ``bxrd predict``).

    Args:
        sources: pattern files or folders.
        checkpoint: model checkpoint (default: :func:`default_checkpoint`); ignored when
            ``model`` is given.
        options: see :class:`PredictOptions`.
        model: an already loaded model.
        skip: files already answered (as written in an earlier answer's ``file``): resume.
    """
    model = model or load_predictor(checkpoint or default_checkpoint())
    done = set(skip)
    files = [f for f in expand_inputs(sources) if str(f) not in done]
    return list(iter_answers(model, files, options))
